"""Processes killed (kill -9): the worker while sending, `sos-bot run` after answering Twilio but
before reading the messages. After a restart every message is read once and every reply leaves
exactly once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import arrivals
from tests.conftest import ALWAYS_OPEN
from tests.whatsapp.conftest import Live, message_form, messages, sign, twilio_env, wait_until
from tests.whatsapp.fake_twilio import http_post

LEASE = "8"  # seconds a dead worker's row stays held (3 × the Twilio timeout at least)


class Workers:
    """`sos-bot worker` processes, as an operator runs them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.running)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.running.append(process)
        return process

    def check(self) -> bool:
        """Fail with the worker's own words if one stopped by itself (else False)."""
        for i, process in enumerate(self.running):
            if process.poll() not in (None, -signal.SIGKILL):
                log = (self.logs / f"worker-{i}.log").read_text(errors="replace")
                raise AssertionError(f"worker {i} exited with {process.returncode}:\n{log}")
        return False

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(30)


@pytest.fixture
def workers(live: Live, tmp_path: Path) -> Iterator[Workers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOS_")}
    env.update(
        {
            k: str(v)
            for k, v in twilio_env(
                live.twilio.base_url,
                public_url=live.url,
                SOS_WORKER_LEASE_SECONDS=LEASE,
                SOS_TWILIO_TIMEOUT_SECONDS="2",
            ).items()
        }
    )
    env.update(
        SOS_DATABASE_URL=live.rt.settings.database.url,
        SOS_SERVICE_HOURS=ALWAYS_OPEN,
        SOS_SERVER_SECRET_KEY=live.rt.settings.server.secret_key,
        SOS_WORKER_POLL_SECONDS="0.1",
        SOS_EMAIL_SMTP_TIMEOUT_SECONDS="2",
    )
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop_all()


def _write(live: Live, text: str) -> None:
    url = live.url + "/twilio/whatsapp"
    form = message_form(text)
    assert http_post(url, form, {"X-Twilio-Signature": sign(url, form)}) == 200


def _all_sent(live: Live) -> bool:
    out = messages(live.rt, "out")
    return bool(out) and all(m.status == "sent" for m in out)


@pytest.mark.parametrize(
    "twilio_took_it",
    [False, True],
    ids=["killed-before-twilio-took-it", "killed-after-twilio-took-it"],
)
def test_a_killed_worker_s_messages_leave_once_after_restart(
    live: Live, workers: Workers, twilio_took_it: bool
) -> None:
    live.twilio.hang(accept=twilio_took_it)
    first = workers.start()
    _write(live, "ciao")
    wait_until(
        lambda: workers.check() or live.twilio.hanging.is_set(),
        60,
        "the worker's request to Twilio",
    )
    first.send_signal(signal.SIGKILL)  # between receive and the end of the send
    first.wait(30)
    live.twilio.release()
    held = [m for m in messages(live.rt, "out") if m.status == "sending"]
    assert len(held) == 1 and held[0].external_id is None

    workers.start()
    wait_until(lambda: workers.check() or _all_sent(live), 90, "every reply sent after the restart")

    out = messages(live.rt, "out")
    created = Counter(m["body"] for m in live.twilio.messages)
    assert created == Counter(m.body for m in out)  # each reply reached Twilio exactly once
    assert {m.external_id for m in out} == {m["sid"] for m in live.twilio.messages}
    posts = len(live.twilio.creates())
    assert posts == len(out) + (0 if twilio_took_it else 1)  # no second POST when it was taken


def test_sos_bot_run_killed_after_answering_twilio_loses_nothing(
    live: Live, workers: Workers, tmp_path: Path
) -> None:
    """Answer first: a message Twilio heard 200 for is kept, even if the process dies before it
    was read; the next worker reads each one once and replies once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = dict(
        workers.env,
        SOS_SERVER_HOST="127.0.0.1",
        SOS_SERVER_PORT=str(port),
        SOS_SERVER_PUBLIC_URL=url,
    )
    live.twilio.hang()  # the process's worker gets stuck sending the first reply
    with open(tmp_path / "run.log", "wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until(lambda: _healthy(url, run, tmp_path), 90, "sos-bot run up")
        texts = [f"messaggio {n}" for n in range(6)]
        _write_to(url, texts[0], "+393330000001")
        wait_until(live.twilio.hanging.is_set, 60, "the first reply stuck at Twilio")
        for n, text in enumerate(texts[1:]):  # Twilio hears 200 for each...
            _write_to(url, text, f"+39333000001{n}")
        assert arrivals.count(live.rt) == 5  # ...kept, not read yet
        run.send_signal(signal.SIGKILL)  # the process dies between the 200s and reading them
        run.wait(30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(30)
    live.twilio.release()
    workers.start()
    wait_until(
        lambda: workers.check() or (arrivals.count(live.rt) == 0 and _all_sent(live)),
        90,
        "every message read and answered after the restart",
    )
    inbound = messages(live.rt, "in")
    assert sorted(m.body for m in inbound) == sorted(texts)  # each stored once
    out = messages(live.rt, "out")
    assert Counter(m["body"] for m in live.twilio.messages) == Counter(m.body for m in out)
    to = Counter(m["to"] for m in live.twilio.messages)
    assert set(to) == {"whatsapp:+393330000001"} | {f"whatsapp:+39333000001{n}" for n in range(5)}


def _write_to(url: str, text: str, sender: str) -> None:
    form = message_form(text, sender=f"whatsapp:{sender}")
    target = url + "/twilio/whatsapp"
    assert http_post(target, form, {"X-Twilio-Signature": sign(target, form)}) == 200


def _healthy(url: str, process: subprocess.Popen[bytes], logs: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError((logs / "run.log").read_text(errors="replace"))
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
