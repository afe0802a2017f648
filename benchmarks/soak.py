"""Soak with faults: steady WhatsApp traffic on PostgreSQL while things break, then the books.

    python benchmarks/soak.py [--duration 600] [--rate 50] [--people 500] [--keep] [--smoke]

On loopback only, bounded in time. It starts a throw-away PostgreSQL cluster of its own (initdb
and pg_ctl from /usr/lib/postgresql/*/bin, in a temporary folder, on a free port; as the
`postgres` user when run as root), the local Twilio API server (tests/whatsapp/fake_twilio.py),
`sos-bot web --workers 2` and two `sos-bot worker`. It sends `--rate` signed webhooks a second
from `--people` young people for `--duration` seconds and, meanwhile:

- at 20% of the time, the Twilio API answers 500 and 429 (Retry-After: 1) to every send for
  `--outage` seconds (20 s; smoke: 3 s);
- at 40%, one worker is killed with SIGKILL and started again;
- at 60%, PostgreSQL stops (fast shutdown: every connection is cut) and starts again after
  `--pg-down` seconds (5 s; smoke: 1 s).

A webhook refused while the database is away is sent again with the same MessageSid, as a
provider does. When the traffic ends it waits for the outbox to drain, then checks:

- every webhook is stored once (lost: never stored; duplicates: stored twice);
- every reply the bot queued was sent exactly once, as the Twilio server saw it (a send that no
  row records, or two rows sharing one, is a duplicate), or is marked failed with a reason;
- no reply is left queued or sending (stuck);
- the reply delay: webhook sent → the Twilio server accepted its first reply (p50/p95/p99);
- resident memory (VmRSS, with child processes) of each command at start, once warm, at end.

Then one round on SQLite with `sos-bot run` (web + worker in one process), with the same checks,
for its memory after the traffic (target: under 150 MB). It prints the tables and exits non-zero
if anything was lost, duplicated or left stuck. --smoke: the same code paths, faults included,
with a handful of messages in about 20 s (run by the tests).
"""

from __future__ import annotations

import argparse
import glob
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_whatsapp import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    PATH,
    Processes,
    free_port,
    pct,
    signed_requests,
    sos_env,
    wait_for_http,
)
from benchmarks.summary import record  # noqa: E402
from tests.whatsapp.fake_twilio import FakeTwilio  # noqa: E402

TARGET_SQLITE_RSS_MB = 150.0  # web + worker on SQLite, after the traffic
TARGET_GROWTH = 0.25  # memory at the end / once warm, at most 25% more (flat)
TARGET_DELAY_P95_MS = 1000.0  # outside the fault windows it is far less; reported, not promised
RETRY_WEBHOOK_SECONDS = 0.5
GIVE_UP_WEBHOOK_SECONDS = 120.0


# -- the throw-away PostgreSQL cluster ------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster of our own in a temporary folder: started, restarted, removed."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb")
        self.bin = Path(found[-1]).parent
        self.version = self.bin.parent.name
        self.dir = Path(tempfile.mkdtemp(prefix="soak-pg-"))
        self.as_postgres = os.geteuid() == 0  # initdb refuses root
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/soak"

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bin / tool), *args]
        if self.as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stderr.strip()[-500:]}")

    def create(self) -> None:
        data = str(self.dir / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "soak")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        data, log = str(self.dir / "data"), str(self.dir / "postgresql.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, down: float) -> None:
        """Stop (every connection cut), stay down `down` seconds, start again."""
        self.stop()
        time.sleep(down)
        self.start()

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_line(log: Path, line: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until a process writes `line` to its log (it is ready)."""
    deadline = time.monotonic() + timeout
    while line not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{log.stem} did not write {line!r}")
        time.sleep(0.1)


# -- memory ---------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB (0 once it is gone)."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        children[int(fields[1])].append(int(text.split(" ", 1)[0]))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


@dataclass
class Memory:
    """RSS of each command (a process tree) sampled over the run."""

    processes: dict[str, subprocess.Popen[bytes]]
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sample(self, at: float) -> None:
        with self.lock:
            for name, process in self.processes.items():
                if process.poll() is None:
                    self.samples.setdefault(name, []).append((at, rss_mb(process.pid)))

    def replace(self, name: str, new_name: str, process: subprocess.Popen[bytes]) -> None:
        with self.lock:
            self.processes.pop(name)
            self.processes[new_name] = process

    def every(self, seconds: float, stop: threading.Event, t0: float) -> threading.Thread:
        def run() -> None:
            while not stop.wait(seconds):
                self.sample(time.monotonic() - t0)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def at(self, name: str, moment: float) -> float:
        """The first sample taken at or after `moment` (else the last one)."""
        found = self.samples.get(name, [])
        return next((mb for t, mb in found if t >= moment), found[-1][1] if found else 0.0)


# -- traffic --------------------------------------------------------------------------------


@dataclass
class Sent:
    first_at: float = 0.0  # monotonic: the first try
    tries: int = 0
    stored: bool = False  # answered 200


def send_paced(
    port: int, jobs: list[tuple[bytes, str]], rate: float, threads: int
) -> dict[str, Sent]:
    """Send the webhooks at `rate` a second; a refused one is sent again (same MessageSid)."""
    sids = [urllib.parse.parse_qs(body.decode())["MessageSid"][0] for body, _ in jobs]
    sent = {sid: Sent() for sid in sids}
    lock = threading.Lock()
    next_job = [0]
    t0 = time.monotonic()

    def post(conn: http.client.HTTPConnection, body: bytes, signature: str) -> bool:
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        conn.request("POST", PATH, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = next_job[0]
                next_job[0] += 1
            if i >= len(jobs):
                break
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))  # the pace, not a wait
            body, signature = jobs[i]
            state = sent[sids[i]]
            state.first_at = time.monotonic()
            while time.monotonic() - state.first_at < GIVE_UP_WEBHOOK_SECONDS:
                state.tries += 1
                try:
                    if post(conn, body, signature):
                        state.stored = True
                        break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                time.sleep(RETRY_WEBHOOK_SECONDS)
        conn.close()

    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sent


def webhooks(
    port: int, count: int, first: int, people: int, prefix: str
) -> list[tuple[bytes, str]]:
    return signed_requests(port, count, first, people, prefix=prefix)


# -- the books ------------------------------------------------------------------------------


def drain(url: str, timeout: float) -> int:
    """Wait until every accepted message was read (no arrival left) and no outbound row is
    queued or being sent; how many still are after `timeout`."""
    from sqlalchemy import text

    from bot import db

    engine = db.make_engine(url)
    query = text(
        "SELECT (SELECT count(*) FROM arrival) + (SELECT count(*) FROM message "
        "WHERE direction = 'out' AND status IN ('queued', 'sending'))"
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with engine.connect() as conn:
                    pending = int(conn.execute(query).scalar() or 0)
            except Exception:  # the database restarting: look again
                pending = -1
            if pending == 0 or time.monotonic() > deadline:
                return max(pending, 0)
            time.sleep(0.25)
    finally:
        engine.dispose()


def books(url: str, sent: dict[str, Sent], twilio: FakeTwilio, calm_until: float) -> dict[str, Any]:
    """Compare what was sent, what the database holds and what the Twilio server received."""
    from sqlalchemy import select
    from sqlmodel import col

    from bot import db
    from bot.models import Message

    engine = db.make_engine(url)  # typed columns: times come back as aware datetimes
    with engine.connect() as conn:
        inbound = conn.execute(
            select(
                col(Message.external_id), col(Message.conversation_id), col(Message.created_at)
            ).where(col(Message.direction) == "in")
        ).all()
        outbound = conn.execute(
            select(
                col(Message.id),
                col(Message.conversation_id),
                col(Message.created_at),
                col(Message.status),
                col(Message.external_id),
                col(Message.error_message),
                col(Message.attempts),
            ).where(col(Message.direction) == "out")
        ).all()
    engine.dispose()
    stored: dict[str, int] = defaultdict(int)
    for message in inbound:
        stored[message.external_id or ""] += 1
    ours = list(sent)
    accepted = {m["sid"]: m["_at"] for m in list(twilio.messages)}
    recorded: dict[str, int] = defaultdict(int)
    for reply in outbound:
        if reply.external_id:
            recorded[reply.external_id] += 1
    sent_ok = [r for r in outbound if r.external_id and r.external_id in accepted]
    failed = [r for r in outbound if r.status in ("failed", "undelivered")]
    stuck = [r for r in outbound if r.status in ("queued", "sending")]
    # a reply is queued in the transaction that stores its message, with the same timestamp
    replies: dict[str, list[Any]] = defaultdict(list)
    for reply in outbound:
        replies[reply.conversation_id].append(reply)
    delays, calm = [], []
    for message in inbound:
        if message.external_id not in sent:
            continue
        window = (message.created_at, message.created_at + timedelta(milliseconds=1))
        mine = sorted(
            (r for r in replies[message.conversation_id] if window[0] <= r.created_at < window[1]),
            key=lambda r: r.created_at,
        )
        if mine and mine[0].external_id in accepted:
            first_at = sent[message.external_id].first_at
            delays.append(accepted[mine[0].external_id] - first_at)
            if first_at < calm_until:
                calm.append(delays[-1])
    return {
        "sent": len(ours),
        "received": sum(1 for sid in ours if stored.get(sid)),
        "lost_in": sum(1 for sid in ours if not stored.get(sid)),
        "dup_in": sum(n - 1 for n in stored.values() if n > 1),
        "retries": sum(s.tries - 1 for s in sent.values()),
        "queued": len(outbound),
        "sent_once": len(sent_ok),
        "failed": len(failed),
        "failed_no_reason": sum(1 for r in failed if not r.error_message),
        # a message Twilio took that no row records, or one recorded by two rows: sent twice
        "dup_out": sum(1 for sid in accepted if sid not in recorded)
        + sum(n - 1 for n in recorded.values() if n > 1),
        "stuck": len(stuck),
        "lost_out": sum(1 for r in outbound if r.external_id and r.external_id not in accepted)
        + sum(
            1 for r in outbound if r.status in ("sent", "delivered", "read") and not r.external_id
        ),
        "delays": sorted(delays),
        "calm": sorted(calm),  # webhooks sent before the first fault
        "attempts": {r.external_id: r.attempts for r in outbound if r.external_id},
    }


def bad(result: dict[str, Any]) -> int:
    return int(
        result["lost_in"]
        + result["dup_in"]
        + result["dup_out"]
        + result["stuck"]
        + result["lost_out"]
        + result["failed_no_reason"]
    )


# -- one round ------------------------------------------------------------------------------


@dataclass
class Plan:
    duration: float
    rate: float
    people: int
    threads: int
    outage: float  # seconds of 500/429 from Twilio (0: none)
    kill_worker: bool
    pg_down: float | None  # seconds PostgreSQL stays down (None: no restart)
    drain_seconds: float
    sample_seconds: float
    settings: dict[str, str]


def soak_round(
    name: str,
    url: str,
    commands: dict[str, list[str]],
    plan: Plan,
    twilio: FakeTwilio,
    work: Path,
    cluster: Cluster | None,
    prefix: str,
) -> dict[str, Any]:
    procs = Processes(work)
    sos_bot = [sys.executable, "-m", "bot.cli"]
    port = free_port()
    env = {**sos_env(url, port, twilio.base_url), **plan.settings}
    events: list[str] = []
    held: list[str] = []  # the send held open when the worker was killed
    twilio.messages.clear()
    twilio.requests.clear()
    upgrade = subprocess.run(
        [*sos_bot, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if upgrade.returncode != 0:
        raise SystemExit(f"sos-bot db upgrade failed:\n{upgrade.stderr[-2000:]}")
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for label, argv in commands.items():
            running[label] = procs.start(f"{name}-{label}", [*sos_bot, *argv], env)
            log = work / f"{name}-{label}.log"
            if "web" in label or "run" in label:
                wait_for_http(f"http://127.0.0.1:{port}/healthz", running[label], log)
            else:
                wait_for_line(log, "worker started", running[label], 120)
        memory = Memory(dict(running))
        jobs = webhooks(port, int(plan.duration * plan.rate), 0, plan.people, prefix)
        stop_sampling = threading.Event()
        t0 = time.monotonic()
        memory.sample(0.0)
        memory.every(plan.sample_seconds, stop_sampling, t0)
        result: dict[str, Any] = {}
        load = threading.Thread(
            target=lambda: result.update(sent=send_paced(port, jobs, plan.rate, plan.threads)),
            daemon=True,
        )
        load.start()

        def at(fraction: float, what: str, action: Callable[[], None]) -> None:
            time.sleep(max(0.0, t0 + fraction * plan.duration - time.monotonic()))
            started = time.monotonic() - t0
            action()
            events.append(f"{started:6.1f} s  {what}")

        if plan.outage:
            at(
                0.2,
                f"Twilio API answers 500/429 for {plan.outage:.0f} s",
                lambda: twilio.outage(plan.outage),
            )
        if plan.kill_worker:
            victim = next(label for label in running if "worker" in label)

            def kill_and_restart() -> None:
                # Twilio takes the next send and holds its answer: a worker is caught mid-send
                twilio.hang(accept=True)
                if twilio.hanging.wait(30):
                    held.append(twilio.messages[-1]["sid"])
                process = running[victim]
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
                twilio.release()
                again = procs.start(f"{name}-{victim}-again", [*sos_bot, *commands[victim]], env)
                memory.replace(victim, f"{victim} (restarted)", again)

            at(
                0.4,
                f"a send held open by Twilio; kill -9 {victim}, started again",
                kill_and_restart,
            )
        if plan.pg_down is not None and cluster is not None:
            down = plan.pg_down
            at(
                0.6,
                f"PostgreSQL stopped (fast), {down:.0f} s down, started",
                lambda: cluster.restart(down),
            )
        load.join()
        ended = time.monotonic() - t0
        stuck = drain(url, plan.drain_seconds)
        drained = time.monotonic() - t0 - ended
        memory.sample(time.monotonic() - t0)
        stop_sampling.set()
        for label, process in memory.processes.items():
            if process.poll() is not None:
                events.append(f"{label} stopped by itself (exit {process.returncode})")
    finally:
        procs.stop_all()
    faults = plan.outage or plan.kill_worker or plan.pg_down is not None
    calm_until = t0 + 0.2 * plan.duration if faults else float("inf")
    found = books(url, result["sent"], twilio, calm_until)
    if held:
        tries = found["attempts"].get(held[0], 0)
        events.append(
            "the held send belonged to the killed worker: taken again after its lease, "
            "found at Twilio, not sent twice"
            if tries > 1
            else "the held send belonged to the other worker (sent once, no retry)"
        )
    found["stuck_after_drain"] = stuck
    found["drain"] = drained
    found["events"] = events
    found["memory"] = memory
    found["warm_at"] = ended * 0.25
    return found


# -- the report -----------------------------------------------------------------------------


def ms(values: list[float], p: float) -> str:
    return f"{pct(values, p) * 1000:.0f}" if values else "-"


def ms2(values: list[float]) -> str:
    return f"{ms(values, 50)} / {ms(values, 95)}"


def report(title: str, r: dict[str, Any]) -> None:
    print(f"\n{title}")
    for line in r["events"]:
        print(f"  {line}")
    print(f"\n{'measure':<52}{'figure':>12}")
    print("-" * 64)
    rows = [
        ("webhooks sent", r["sent"]),
        ("webhooks sent again after a refusal (same MessageSid)", r["retries"]),
        ("inbound messages stored (received)", r["received"]),
        ("inbound duplicates", r["dup_in"]),
        ("inbound lost", r["lost_in"]),
        ("replies queued", r["queued"]),
        ("replies sent once, as the Twilio server saw them", r["sent_once"]),
        ("replies failed, with a reason", r["failed"] - r["failed_no_reason"]),
        ("reply duplicates at the Twilio server", r["dup_out"]),
        (
            "replies lost (failed without a reason, or not at Twilio)",
            r["lost_out"] + r["failed_no_reason"],
        ),
        ("replies stuck (queued/sending after the drain)", r["stuck"]),
        ("drain after the traffic, s", f"{r['drain']:.1f}"),
        ("reply delay p50, ms (webhook → Twilio got the reply)", ms(r["delays"], 50)),
        ("reply delay p95, ms", ms(r["delays"], 95)),
        ("reply delay p99, ms", ms(r["delays"], 99)),
        ("reply delay max, ms", ms(r["delays"], 100)),
        ("reply delay p50 / p95 before the first fault, ms", ms2(r["calm"])),
    ]
    for label, value in rows:
        print(f"{label:<52}{value!s:>12}")
    memory: Memory = r["memory"]
    print(
        f"\n{'memory (VmRSS with children), MB':<36}{'start':>8}{'warm':>8}{'end':>8}{'growth':>8}"
    )
    print("-" * 68)
    for label, samples in memory.samples.items():
        start, warm, end = samples[0][1], memory.at(label, r["warm_at"]), samples[-1][1]
        growth = f"{(end / warm - 1) * 100:+.0f}%" if warm else "-"
        print(f"{label:<36}{start:>8.0f}{warm:>8.0f}{end:>8.0f}{growth:>8}")


def growth(r: dict[str, Any]) -> float:
    """The largest growth, end over warm, of a command that ran the whole soak."""
    memory: Memory = r["memory"]
    worst = 0.0
    for label, samples in memory.samples.items():
        if "restarted" in label:
            continue
        warm, end = memory.at(label, r["warm_at"]), samples[-1][1]
        if warm:
            worst = max(worst, end / warm - 1)
    return worst


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of traffic")
    parser.add_argument("--rate", type=float, default=50.0, help="webhooks a second")
    parser.add_argument("--people", type=int, default=500, help="young people writing")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds of Twilio 500/429")
    parser.add_argument("--pg-down", type=float, default=5.0, help="seconds PostgreSQL is down")
    parser.add_argument("--sqlite-seconds", type=float, default=60.0, help="the SQLite round")
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    parser.add_argument("--smoke", action="store_true", help="the same, tiny and short")
    args = parser.parse_args()
    settings: dict[str, str] = {}
    drain_seconds, sample_seconds, threads = 600.0, 10.0, 32
    if args.smoke:
        args.duration, args.rate, args.people = 16.0, 5.0, 20
        args.outage, args.pg_down, args.sqlite_seconds = 3.0, 1.0, 4.0
        drain_seconds, sample_seconds, threads = 180.0, 1.0, 8
        # short leases and backoff so that the faults heal within seconds
        settings = {
            "SOS_TWILIO_TIMEOUT_SECONDS": "2",
            "SOS_WORKER_LEASE_SECONDS": "6",
            "SOS_EMAIL_SMTP_TIMEOUT_SECONDS": "3",
            "SOS_WORKER_BACKOFF_BASE_SECONDS": "0.5",
            "SOS_WORKER_BACKOFF_MAX_SECONDS": "4",
            "SOS_DATABASE_PUSH_SAFETY_SECONDS": "1",
        }
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    failures = 0
    pg: dict[str, Any] | None = None
    cluster: Cluster | None = None
    try:
        try:
            cluster = Cluster()
            cluster.create()
        except (FileNotFoundError, RuntimeError) as exc:
            print(f"no PostgreSQL round: {exc}")
            cluster = None
        if cluster is not None:
            plan = Plan(
                args.duration,
                args.rate,
                args.people,
                threads,
                args.outage,
                True,
                args.pg_down,
                drain_seconds,
                sample_seconds,
                settings,
            )
            commands = {
                "web": ["web", "--workers", "2"],
                "worker-1": ["worker"],
                "worker-2": ["worker"],
            }
            pg = soak_round("pg", cluster.url, commands, plan, twilio, work, cluster, "+39340")
        sqlite_plan = Plan(
            args.sqlite_seconds,
            min(args.rate, 10.0),
            min(args.people, 50),
            8,
            0.0,
            False,
            None,
            drain_seconds,
            min(sample_seconds, 2.0),
            settings,
        )
        lite = soak_round(
            "sqlite",
            f"sqlite:///{work}/sos.sqlite",
            {"run": ["run"]},
            sqlite_plan,
            twilio,
            work,
            None,
            "+39341",
        )
    finally:
        twilio.stop()
        if cluster is not None:
            cluster.remove()
    cpus = os.cpu_count()
    if pg is not None:
        assert cluster is not None
        report(
            f"Soak on PostgreSQL {cluster.version}: {args.duration:.0f} s at {args.rate:.0f} "
            f"webhooks/s from {args.people} young people; sos-bot web --workers 2 + 2 × sos-bot "
            f"worker; {cpus} CPUs; faults at (s from the start):",
            pg,
        )
        failures += bad(pg)
        record(
            __file__,
            "soak on PostgreSQL with faults: lost / duplicated / stuck",
            f"{pg['lost_in'] + pg['lost_out'] + pg['failed_no_reason']} / "
            f"{pg['dup_in'] + pg['dup_out']} / {pg['stuck']}",
            "0 / 0 / 0",
            bad(pg) == 0,
        )
        record(
            __file__,
            "soak on PostgreSQL: reply delay p95, all / before the first fault",
            f"{ms(pg['delays'], 95)} / {ms(pg['calm'], 95)} ms",
            "-",
            None,
        )
        worst = growth(pg)
        record(
            __file__,
            "soak on PostgreSQL: memory growth, end vs warm (worst process)",
            f"{worst * 100:+.0f}%",
            f"<= +{TARGET_GROWTH * 100:.0f}%",
            worst <= TARGET_GROWTH,
        )
    report(
        f"SQLite round: sos-bot run (web + worker in one process), {args.sqlite_seconds:.0f} s "
        f"at {sqlite_plan.rate:.0f} webhooks/s from {sqlite_plan.people} young people, no faults",
        lite,
    )
    failures += bad(lite)
    lite_rss = lite["memory"].samples["run"][-1][1]
    record(
        __file__,
        "sos-bot run on SQLite: RSS after the traffic",
        f"{lite_rss:.0f} MB",
        f"< {TARGET_SQLITE_RSS_MB:.0f} MB",
        lite_rss < TARGET_SQLITE_RSS_MB and bad(lite) == 0,
    )
    met = "met" if lite_rss < TARGET_SQLITE_RSS_MB else "NOT met"
    print(
        f"\nsos-bot run (web + worker in one process) on SQLite, RSS after the traffic: "
        f"{lite_rss:.0f} MB (target: under {TARGET_SQLITE_RSS_MB:.0f} MB: {met})"
    )
    print(f"\n{'everything accounted for' if not failures else f'{failures} problems: see above'}")
    if args.keep:
        print(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
