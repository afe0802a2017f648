"""Micro-benchmark of the hot path: inbox.receive() and the worker's deliver(), per call.

    python benchmarks/bench_inbox.py [--calls 400] [--database-url postgresql://...] [--smoke]

Measured in one process, one thread, against a freshly migrated database:
  - baseline:  a bare SQLAlchemy Core insert of one Activity row + commit (the floor);
  - receive, new contact:       first message of a young person (contact + conversation created);
  - receive, returning contact: a further message in the open conversation;
  - deliver, per message:       claim + send (a fake channel that accepts at once) + finish.
SQLite always (a temporary file); PostgreSQL too when its URL answers, in a schema of its own
(dropped at the end). Times are per call, in milliseconds; "x floor" is p50 / the baseline p50.
--smoke makes 5 calls of each, to check that the benchmark still runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from benchmarks.summary import record  # noqa: E402
from bot import config, db, outbox, worker  # noqa: E402
from bot.channel import Inbound, Sent  # noqa: E402
from bot.inbox import receive  # noqa: E402
from bot.models import Activity, Contact, Conversation, Message, utcnow  # noqa: E402
from bot.runtime import Runtime  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
TEXTS = ["ciao", "come funziona il servizio?", "a che ora siete aperti?", "grazie"]
_sids = itertools.count(1)


@dataclass
class AcceptAll:
    """A channel whose provider accepts every message at once."""

    channel: str = "whatsapp"

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        return Sent(external_id=f"SM-{message.id}")


def timed(calls: int, run: Callable[[int], object]) -> list[float]:
    """Milliseconds per call of run(i), i in range(calls)."""
    times = []
    for i in range(calls):
        start = time.perf_counter()
        run(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def inbound(address: str, i: int) -> Inbound:
    return Inbound(
        channel="whatsapp",
        address=address,
        text=TEXTS[i % len(TEXTS)],
        external_id=f"SM{next(_sids):032d}",
        display_name="Giulia",
    )


def measure(url: str, calls: int) -> dict[str, list[float]]:
    env = {
        "SOS_DATABASE_URL": url,
        "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00",
        "SOS_SERVER_SECRET_KEY": "bench-secret-key-" + "x" * 32,
    }
    rt = Runtime.create(config.load(None, env=env))
    rt.senders["whatsapp"] = AcceptAll()
    try:

        def floor(i: int) -> None:
            with rt.db.begin() as conn:
                conn.execute(insert(Activity).values(at=utcnow(), kind="bench"))

        addresses = [f"whatsapp:+39333{i:07d}" for i in range(calls)]
        results = {"baseline: Core insert + commit": timed(calls, floor)}
        results["receive, new contact"] = timed(
            calls, lambda i: receive(rt, inbound(addresses[i], i))
        )
        results["receive, returning contact"] = timed(
            calls, lambda i: receive(rt, inbound(addresses[i], i + 1))
        )
        with db.read_session(rt.db) as session:
            due = outbox.due(session, utcnow(), limit=calls)
        results["deliver, per message"] = timed(len(due), lambda i: worker.deliver(rt, due[i]))
        return results
    finally:
        rt.db.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-inbox-", ignore_cleanup_errors=True) as tmp:
        url = f"sqlite:///{tmp}/sos.sqlite"
        db.upgrade(url)
        yield url


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    schema = f"bench_inbox_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = db.make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        db.upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def postgres_answers(url: str) -> bool:
    try:
        engine = db.make_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def report(name: str, results: dict[str, list[float]]) -> None:
    floor = statistics.median(results["baseline: Core insert + commit"])
    print(f"\n{name}")
    print(f"  {'operation':<32} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'x floor':>8}")
    print(f"  {'-' * 32} {'-' * 6} {'-' * 8} {'-' * 8} {'-' * 8}")
    for label, times in results.items():
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"  {label:<32} {len(times):>6} {p50:>8.3f} {p95:>8.3f} {p50 / floor:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--database-url", default=PG_URL, help="PostgreSQL (skipped if down)")
    parser.add_argument(
        "--smoke", action="store_true", help="5 calls of each, to check the benchmark still runs"
    )
    args = parser.parse_args()
    calls = 5 if args.smoke else args.calls
    with sqlite_database() as url:
        results = measure(url, calls)
        report("SQLite (WAL, file)", results)
    record(
        __file__,
        "inbox.receive, new contact, p50 (SQLite)",
        f"{statistics.median(results['receive, new contact']):.2f} ms",
        "-",
        None,
    )
    if postgres_answers(args.database_url):
        with postgres_schema(args.database_url) as url:
            report("PostgreSQL", measure(url, calls))
    else:
        print(f"\nPostgreSQL: {args.database_url} does not answer, skipped")


if __name__ == "__main__":
    main()
