"""Push on PostgreSQL: a commit in one process wakes the workers and live streams of the others."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot import activity, db
from bot.config import Settings
from bot.db import write_session
from bot.inbox import receive
from bot.models import Message, utcnow
from bot.notify import Bell
from bot.runtime import Runtime
from bot.worker import Worker
from tests.core.helpers import inbound, outbound


def test_a_bell_wakes_every_waiter_and_counts() -> None:
    bell = Bell()
    woke: list[int] = []
    waiters = [threading.Thread(target=lambda: woke.append(bell.wait(0, 10))) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    bell.ring()
    for waiter in waiters:
        waiter.join(10)
    assert woke == [1, 1, 1]
    assert bell.wait(0, 10) == 1  # rung since: no wait at all


@pytest.fixture
def pg_rt(rt: Runtime) -> Runtime:
    if db.is_sqlite(rt.db):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    return rt


@pytest.fixture
def other(settings: Settings) -> Iterator[Runtime]:
    """Another process's runtime: its own engine, so nothing wakes `rt` in-process."""
    engine = db.make_engine(settings.database.url)
    yield Runtime.create(settings, engine=engine)
    engine.dispose()


def _listening(rt: Runtime) -> None:
    assert rt.listen()
    assert rt.listener is not None and rt.listener.listening.wait(10)
    rt.outbox_ready.clear()


def test_sqlite_has_no_listener_and_keeps_polling(rt: Runtime) -> None:
    if not db.is_sqlite(rt.db):
        pytest.skip("SQLite only")
    assert not rt.listen() and rt.listener is None
    assert rt.wait_seconds(0.25) == 0.25
    assert Worker(rt).pause() == rt.settings.worker.poll_seconds


def test_a_reply_queued_elsewhere_wakes_this_worker(pg_rt: Runtime, other: Runtime) -> None:
    _listening(pg_rt)
    rung = pg_rt.changes.rung
    receipt = receive(other, inbound("ciao", channel="web", address="web:anna"))
    assert receipt.replies
    assert pg_rt.outbox_ready.wait(10), "no NOTIFY reached the worker"
    assert pg_rt.changes.wait(rung, 10) > rung  # the change feed grew too
    Worker(pg_rt).run_once()
    assert {m.status for m in outbound(pg_rt)} == {"delivered"}  # the simulator's channel


def test_a_change_without_replies_rings_only_the_dashboards(pg_rt: Runtime, other: Runtime) -> None:
    _listening(pg_rt)
    rung = pg_rt.changes.rung
    with write_session(other.db) as session:
        activity.publish(session, "status")
    assert pg_rt.changes.wait(rung, 10) > rung
    # the trigger wakes workers only for queued outbound rows: read it from the catalogue
    with pg_rt.db.connect() as conn:
        when = conn.execute(
            text(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'message_queued' "
                "AND tgrelid = 'message'::regclass"  # this test process's schema only
            )
        ).scalar_one()
    assert "'out'" in when and "'queued'" in when


def test_the_listener_comes_back_after_its_connection_is_cut(
    pg_rt: Runtime, other: Runtime
) -> None:
    _listening(pg_rt)
    assert pg_rt.listener is not None
    with other.db.begin() as conn:
        cut = (
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND query LIKE 'LISTEN%'"
                )
            )
            .scalars()
            .all()
        )
    assert cut and any(cut)
    # on reconnecting it rings every bell once (what was sent meanwhile is lost), then listens
    assert pg_rt.outbox_ready.wait(10)
    assert pg_rt.listener.listening.wait(10)
    pg_rt.outbox_ready.clear()
    receive(other, inbound("ciao"))
    assert pg_rt.outbox_ready.wait(10)


def test_a_woken_worker_sleeps_until_the_next_retry_not_the_safety_net(
    pg_rt: Runtime, other: Runtime
) -> None:
    now = utcnow()
    worker = Worker(pg_rt)
    assert worker.pause(now) == pg_rt.settings.database.push_safety_seconds
    receipt = receive(other, inbound("ciao"), now=now)
    with write_session(pg_rt.db) as session:
        message = session.get(Message, receipt.replies[0])
        assert message is not None
        message.next_attempt_at = now + timedelta(seconds=2)
        session.add(message)
    assert 1.9 <= worker.pause(now) <= 2.0
