"""E-mail arrival → the bot's reply handed to the SMTP server, with IMAP IDLE.

Real servers on loopback (pymap for IMAP, aiosmtpd for SMTP), a SQLite database, the worker and
the mailbox listener as `sos-bot worker` runs them. Each mail comes from a new young person and
is delivered after the previous reply has left and a random pause, so every figure is the
latency of one mail arriving at any point of the listener's cycle. Baselines measured in the
same run: the bare SMTP send (the floor of the outgoing leg) and the same path with polling
instead of IDLE.

    python benchmarks/bench_email.py [--mails 40] [--poll-mails 10] [--poll-seconds 2] [--smoke]

--smoke runs the same paths with a handful of mails, to check that the benchmark still works.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.summary import record
from bot import config, db
from bot.channels import registry
from bot.channels.email.listener import MailboxListener
from bot.channels.email.outbound import SmtpSender
from bot.models import Contact, Conversation, Message
from bot.runtime import Runtime
from bot.worker import Worker
from tests.email.conftest import LINE, PASSWORD, compose
from tests.email.mail_servers import ImapServer, Received, SmtpServer
from tests.waiting import wait_until

TARGET_P95 = 3.0  # seconds, with IDLE


def settings_for(
    folder: Path, name: str, imap: ImapServer, smtp: SmtpServer, **extra: Any
) -> config.Settings:
    env = {
        "SOS_DATABASE_URL": f"sqlite:///{folder / name}.sqlite",
        "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00",
        "SOS_SERVER_SECRET_KEY": "bench-secret-" + "x" * 32,
        "SOS_EMAIL_ADDRESS": LINE,
        "SOS_EMAIL_PASSWORD": PASSWORD,
        "SOS_EMAIL_IMAP_HOST": "127.0.0.1",
        "SOS_EMAIL_IMAP_PORT": str(imap.port),
        "SOS_EMAIL_IMAP_TLS": "none",
        "SOS_EMAIL_SMTP_HOST": "127.0.0.1",
        "SOS_EMAIL_SMTP_PORT": str(smtp.port),
        "SOS_EMAIL_SMTP_TLS": "none",
        "SOS_EMAIL_MAX_AUTO_REPLIES_PER_DAY": "1000",
    }
    env.update({k: str(v) for k, v in extra.items()})
    settings = config.load(None, env=env)
    db.upgrade(settings.database.url)
    return settings


def arrival_to_reply(
    settings: config.Settings,
    imap: ImapServer,
    smtp: SmtpServer,
    mails: int,
    tag: str,
    max_pause: float,
) -> list[float]:
    """Seconds from delivery into the inbox to the reply accepted by the SMTP server."""
    rt = Runtime.create(settings)
    registry.configure_senders(rt)
    worker, listener = Worker(rt), MailboxListener(rt)
    worker_thread = worker.start()
    listener.start()
    try:
        wait_until(listener.connected.is_set, 60, what="the mailbox listener")
        latencies = []
        pause = random.Random(mails)
        for i in range(mails):
            address = f"{tag}{i}@giovani.example.org"
            raw = compose(
                "Ciao, non so con chi parlare di quello che mi succede a scuola.",
                sender=address,
                subject="Ciao",
            )
            time.sleep(pause.uniform(0.05, max_pause))  # arrive at any point of the cycle
            started = time.monotonic()
            imap.deliver(raw)
            reply: Received = wait_until(
                partial(reply_to, smtp, address), 120, what="the reply", interval=0.005
            )
            latencies.append(reply.at - started)
        return latencies
    finally:
        listener.stop()
        worker.stop()
        worker_thread.join(30)
        rt.db.dispose()


def reply_to(smtp: SmtpServer, address: str) -> Received | None:
    return next((r for r in smtp.received if address in r.rcpt_tos), None)


def bare_smtp(settings: config.Settings, sends: int) -> list[float]:
    """Seconds for SmtpSender.send alone (connect, send, quit) on the same SMTP server."""
    sender = SmtpSender(settings.email)
    contact = Contact(id="p", channel="email", address="floor@giovani.example.org", pseudonym="P")
    conversation = Conversation(
        id="c", contact_id="p", channel="email", channel_data={"subject": "Ciao"}
    )
    times = []
    for _ in range(sends):
        row = Message(
            conversation_id="c",
            channel="email",
            direction="out",
            author="bot",
            body="Ciao! Qui è S.O.S. Amico Giovani.",
        )
        started = time.monotonic()
        sender.send(row, contact, conversation)
        times.append(time.monotonic() - started)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def row(label: str, values: list[float]) -> str:
    return (
        f"| {label:<44} | {len(values):>3} | {statistics.median(values) * 1000:>8.0f} | "
        f"{p95(values) * 1000:>8.0f} | {max(values) * 1000:>8.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=40, help="mails with IDLE (max 500)")
    parser.add_argument("--poll-mails", type=int, default=10, help="mails with polling")
    parser.add_argument("--poll-seconds", type=int, default=2, help="polling interval")
    parser.add_argument(
        "--smoke", action="store_true", help="a handful of mails, to check the benchmark still runs"
    )
    args = parser.parse_args()
    mails, poll_mails = min(max(args.mails, 5), 500), min(max(args.poll_mails, 3), 100)
    max_pause = 0.5
    if args.smoke:
        mails, poll_mails, args.poll_seconds, max_pause = 3, 2, 1, 0.1
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        smtp = SmtpServer().start()
        idle_imap = ImapServer(LINE, PASSWORD).start()
        poll_imap = ImapServer(LINE, PASSWORD, idle=False).start()
        try:
            idle_settings = settings_for(folder, "idle", idle_imap, smtp)
            floor = bare_smtp(idle_settings, mails)
            idle = arrival_to_reply(idle_settings, idle_imap, smtp, mails, "idle", max_pause)
            poll_settings = settings_for(
                folder, "poll", poll_imap, smtp, SOS_EMAIL_POLL_SECONDS=args.poll_seconds
            )
            polled = arrival_to_reply(
                poll_settings, poll_imap, smtp, poll_mails, "poll", float(args.poll_seconds)
            )
        finally:
            poll_imap.close()
            idle_imap.close()
            smtp.stop()

    print("E-mail: arrival in the inbox → reply accepted by the SMTP server (milliseconds)")
    print(f"| {'path':<44} | {'n':>3} | {'p50':>8} | {'p95':>8} | {'max':>8} |")
    print(f"|{'-' * 46}|{'-' * 5}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    print(row("baseline: bare SMTP send (SmtpSender.send)", floor))
    print(row(f"baseline: polling every {args.poll_seconds} s, no IDLE", polled))
    print(row("IMAP IDLE → inbox → outbox → SMTP", idle))
    met = p95(idle) < TARGET_P95
    print(f"target: p95 with IDLE under {TARGET_P95:.0f} s — {'met' if met else 'NOT met'}")
    record(
        __file__,
        f"e-mail arrival → SMTP, p95 with IDLE ({len(idle)} mails)",
        f"{p95(idle):.2f} s",
        f"< {TARGET_P95:.0f} s",
        met,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
