"""Dashboard benchmark, on loopback only:  python benchmarks/bench_dashboard.py [--database-url URL]

    python benchmarks/bench_dashboard.py [--database-url URL] [--smoke]

1. Queue page (the fragment the page's script fetches on every change) with 10, 100 and 500
   people waiting, each with a few messages, for a logged-in listener. Baseline in the same run:
   GET /healthz (one database round trip through the same app). Target: < 100 ms at 100 waiting.
2. Claim: 8 listeners press "Prendi in carico" on the same conversation at the same moment,
   50 times. Exactly one must win each time; time per claim transaction, against an uncontended
   claim (baseline).
3. Live latency: a change is committed through another engine (as by another process) → each of
   30 open dashboards' Server-Sent Events streams (real HTTP, werkzeug threaded server) receives
   it. PostgreSQL (LISTEN/NOTIFY): target p95 < 200 ms. SQLite (polling): baseline the poll
   interval, target p95 < poll interval + 250 ms.

SQLite in a temporary folder by default; --database-url runs it on PostgreSQL (its tables are
emptied first: use a scratch database). --smoke runs every part with a handful of people,
rounds and changes, to check that the benchmark still runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from benchmarks.summary import record, render
from bot import activity, config, conversations, db
from bot.app import create_app
from bot.channel import Inbound
from bot.conversations import Priority, escalate
from bot.db import write_session
from bot.inbox import receive
from bot.models import Conversation, Operator, utcnow
from bot.runtime import Runtime
from operators import accounts

PASSWORD = "benchmark-password"
ROWS: list[tuple[str, ...]] = []
TARGET_QUEUE_MS = 100.0  # median of the queue fragment with SIZE.promised people waiting
TARGET_PUSH_S = 0.2  # PostgreSQL: a change reaches every open dashboard, p95


@dataclass(frozen=True)
class Size:
    """How much each part does: the real run, or a smoke run that only checks it works."""

    waiting: tuple[int, ...] = (10, 100, 500)
    promised: int = 100  # the queue length the target is about
    requests: int = 30
    baseline_requests: int = 200
    claim_rounds: int = 50
    live_changes: int = 40
    live_listeners: int = 30


SMOKE = Size(
    waiting=(2, 5),
    promised=5,
    requests=3,
    baseline_requests=5,
    claim_rounds=3,
    live_changes=3,
    live_listeners=2,
)


def ms(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return statistics.median(values) * 1000, p95 * 1000


def row(measure: str, n: int, values: list[float], baseline: float | None, verdict: str) -> None:
    median, p95 = ms(values)
    base = f"{baseline * 1000:.2f}" if baseline is not None else "-"
    ratio = f"{median / (baseline * 1000):.1f}x" if baseline else "-"
    ROWS.append((measure, str(n), f"{median:.2f}", f"{p95:.2f}", base, ratio, verdict))


def timed(fn: Callable[[], object], times: int) -> list[float]:
    out = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fresh_database(url: str | None, folder: str) -> str:
    if url is None:
        return f"sqlite:///{folder}/bench.sqlite"
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def add_waiting(rt: Runtime, count: int, start: int) -> None:
    for i in range(start, start + count):
        address = f"whatsapp:+39333{i:07d}"
        for j, words in enumerate(
            (
                "ciao",
                "ho bisogno di parlare con qualcuno",
                "a scuola va male e a casa litigano sempre",
            )
        ):
            receipt = receive(rt, Inbound("whatsapp", address, words, external_id=f"b{i}-{j}"))
        with write_session(rt.db) as session:
            conversation = session.get(Conversation, receipt.conversation_id)
            assert conversation is not None
            if conversation.status == "bot":
                priority = (Priority.NORMAL, Priority.HIGH, Priority.CRISIS)[i % 3]
                escalate(
                    rt,
                    session,
                    conversation,
                    priority,
                    "asked_for_person",
                    utcnow() - timedelta(minutes=i % 90),
                )


def login(app: Flask) -> FlaskClient:
    import re

    client = app.test_client()
    page = client.get("/login")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, "no CSRF token on the login page"
    token = found.group(1)
    response = client.post(
        "/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.status_code
    return client


def bench_queue(rt: Runtime, size: Size) -> None:
    app = create_app(rt=rt)
    client = login(app)
    headers = {"X-Requested-With": "fetch"}
    baseline = statistics.median(timed(lambda: client.get("/healthz"), size.baseline_requests))
    added = 0
    for waiting in size.waiting:
        add_waiting(rt, waiting - added, added)
        added = waiting
        client.get("/queue", headers=headers)
        values = timed(lambda: client.get("/queue", headers=headers), size.requests)
        verdict = ""
        if waiting == size.promised:
            median = ms(values)[0]
            met = median < TARGET_QUEUE_MS
            verdict = "ok" if met else "SLOW"
            record(
                __file__,
                f"queue fragment, median with {waiting} waiting",
                f"{median:.1f} ms",
                f"< {TARGET_QUEUE_MS:.0f} ms at 100 waiting",
                met,
            )
        row(f"queue fragment, {waiting} waiting", size.requests, values, baseline, verdict)


def bench_claims(rt: Runtime, listeners: list[Operator], rounds: int) -> None:
    def new_waiting(i: int) -> str:
        receipt = receive(
            rt, Inbound("whatsapp", f"whatsapp:+39377{i:07d}", "aiuto", external_id=f"c{i}")
        )
        with write_session(rt.db) as session:
            conversation = session.get(Conversation, receipt.conversation_id)
            assert conversation is not None
            if conversation.status == "bot":
                escalate(rt, session, conversation, Priority.NORMAL, "asked_for_person", utcnow())
            return conversation.id

    def claim(operator: Operator, cid: str) -> bool:
        try:
            with write_session(rt.db) as session:
                conversations.claim(session, cid, operator, 1000, utcnow())
            return True
        except conversations.Refused:
            return False

    single = []
    for i in range(rounds):
        cid = new_waiting(10_000 + i)
        start = time.perf_counter()
        assert claim(listeners[0], cid)
        single.append(time.perf_counter() - start)
    baseline = statistics.median(single)
    contended, bad_rounds = [], 0
    for i in range(rounds):
        cid = new_waiting(20_000 + i)
        barrier = threading.Barrier(len(listeners))
        wins: list[bool] = []
        lock = threading.Lock()

        def run(
            operator: Operator,
            cid: str = cid,
            barrier: threading.Barrier = barrier,
            wins: list[bool] = wins,
            lock: threading.Lock = lock,
        ) -> None:
            barrier.wait()
            start = time.perf_counter()
            won = claim(operator, cid)
            with lock:
                contended.append(time.perf_counter() - start)
                wins.append(won)

        threads = [threading.Thread(target=run, args=(o,)) for o in listeners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        bad_rounds += wins.count(True) != 1
    row(
        f"claim, {len(listeners)} at once (x{rounds})",
        len(contended),
        contended,
        baseline,
        "ok: one winner each time" if not bad_rounds else f"WRONG in {bad_rounds} rounds",
    )


def bench_live(rt: Runtime, changes: int, listeners: int) -> None:
    """Changes committed through another engine (as another process would) reach `listeners`
    open streams: the delay of every (change, stream) pair."""
    app = create_app(rt=rt)
    client = login(app)
    cookie = client.get_cookie("sos_session")
    assert cookie is not None, "no session cookie after the login"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    push = rt.listen()
    poll = rt.wait_seconds(rt.settings.dashboard.live_poll_seconds)
    target = TARGET_PUSH_S if push else poll + 0.25
    publisher = db.make_engine(rt.settings.database.url)  # not this process's engine
    with write_session(publisher) as session:
        after = activity.latest_id(session)
    sent: dict[str, float] = {}
    received: dict[tuple[int, str], float] = {}
    done = threading.Event()
    opened = threading.Barrier(listeners + 1)

    def read(who: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        conn.request(
            "GET",
            f"/events?after={after}",
            headers={"Cookie": f"sos_session={cookie.value}", "Accept": "text/event-stream"},
        )
        response = conn.getresponse()
        assert response.status == 200, response.status
        opened.wait()
        while not done.is_set():
            line = response.fp.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                key = json.loads(line[6:]).get("conversation") or ""
                received.setdefault((who, key), time.perf_counter())
        conn.close()

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(listeners)]
    for reader in readers:
        reader.start()
    opened.wait(60)
    pace = min(poll * 0.37, 0.25)  # on polling: land at different points of the cycle
    for i in range(changes):
        key = f"{i:032x}"
        with write_session(publisher) as session:
            activity.publish(session, "message", key)
        sent[key] = time.perf_counter()
        time.sleep(pace)
    deadline = time.monotonic() + 30
    while (
        sum((who, k) in received for who in range(listeners) for k in sent) < len(sent) * listeners
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    done.set()
    server.shutdown()
    publisher.dispose()
    delays = [
        received[(who, k)] - sent[k]
        for who in range(listeners)
        for k in sent
        if (who, k) in received
    ]
    p95 = ms(delays)[1] / 1000 if delays else float("inf")
    met = p95 < target
    lost = len(sent) * listeners - len(delays)
    if lost:
        missing = sorted({(who, k) for who in range(listeners) for k in sent} - set(received))
        print(f"not received by the streams (stream, change): {missing[:20]}")
    verdict = f"LOST {lost}" if lost else "ok" if met else "SLOW"
    how = "LISTEN/NOTIFY" if push else f"{poll * 1000:.0f} ms poll"
    record(
        __file__,
        f"live change → {listeners} SSE clients, p95 ({how})",
        f"{p95 * 1000:.0f} ms",
        f"< {target * 1000:.0f} ms",
        met and not lost,
    )
    row(
        f"live change → {listeners} SSE clients, {how} ({len(delays)}/{len(sent) * listeners})",
        len(delays),
        delays or [float("inf")],
        None if push else poll,
        verdict,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--smoke", action="store_true", help="a handful of each, to check the benchmark still runs"
    )
    args = parser.parse_args()
    size = SMOKE if args.smoke else Size()
    with tempfile.TemporaryDirectory(prefix="sos-bench-", ignore_cleanup_errors=True) as folder:
        return run(fresh_database(args.database_url, folder), size)


def run(url: str, size: Size) -> int:
    db.upgrade(url)
    settings = config.load(
        None,
        env={
            "SOS_DATABASE_URL": url,
            "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00",
            "SOS_SERVER_SECRET_KEY": "bench-" + "x" * 40,
        },
    )
    rt = Runtime.create(settings)
    with write_session(rt.db) as session:
        listeners = [
            accounts.create(session, name, PASSWORD, "listener")
            for name in ("anna", "bruno", "chiara", "dario", "elena", "fabio", "giulia", "ivo")
        ]
    print(f"database: {rt.db.dialect.name}")
    bench_queue(rt, size)
    bench_claims(rt, listeners, size.claim_rounds)
    bench_live(rt, size.live_changes, size.live_listeners)
    header = ("measure", "n", "median ms", "p95 ms", "baseline ms", "vs base", "verdict")
    print(render([header, *ROWS]))
    rt.db.dispose()
    return 0 if all("WRONG" not in r[-1] and "LOST" not in r[-1] for r in ROWS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
