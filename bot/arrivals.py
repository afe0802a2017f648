"""Answer first: a webhook keeps the message and answers; a worker reads it a moment later.

accept() is all the webhook does after checking the signature: one insert, committed before the
provider hears 200, so a crash after that loses nothing. The worker (bot.worker) reads each
arrival once, with bot.inbox.receive, and deletes it in the same transaction:
- in arrival order for each writer: an arrival waits while an earlier one of the same person is
  still there (another worker may be reading it);
- exactly once: two workers never hold the same row (PostgreSQL: SKIP LOCKED; SQLite: one writer
  at a time), and a message stored already is a duplicate for receive(), which stores nothing.
A duplicate the provider sends while the first is still waiting is refused by the unique
(channel, external_id) here; one sent after it was read, by the message's own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.channel import Inbound
from bot.db import read_session, table, write_session
from bot.models import Arrival, utcnow
from bot.runtime import Runtime

BATCH = 100  # arrivals a worker looks at in one go
_INSERT = insert(table(Arrival))


def accept(rt: Runtime, inbound: Inbound, now: datetime | None = None) -> bool:
    """Keep a message for the worker; False if the same message is waiting already."""
    row = {
        "channel": inbound.channel,
        "external_id": inbound.external_id,
        "address": inbound.address,
        "inbound": dataclasses.asdict(inbound),
        "received_at": now or utcnow(),
    }
    try:
        with write_session(rt.db) as session:
            session.execute(_INSERT, row)
    except IntegrityError:
        return False
    rt.wake_outbox()  # this process's worker, if it has one (PostgreSQL: a NOTIFY wakes all)
    return True


def waiting(rt: Runtime, limit: int = BATCH) -> list[int]:
    """The oldest arrivals' ids, in arrival order."""
    with read_session(rt.db) as session:
        query = select(Arrival.id).order_by(col(Arrival.id)).limit(limit)
        return [i for i in session.exec(query) if i is not None]


def claim(session: Session, arrival_id: int) -> tuple[Inbound, datetime] | None:
    """Lock an arrival for reading, in the caller's transaction: its message and when it came.

    None if another worker holds it, it was read already, or an earlier message of the same
    person has not been read yet (it goes first).
    """
    row = session.exec(
        select(Arrival).where(Arrival.id == arrival_id).with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return None
    earlier = session.exec(
        select(Arrival.id)
        .where(
            Arrival.channel == row.channel,
            Arrival.address == row.address,
            col(Arrival.id) < arrival_id,
        )
        .limit(1)
    ).first()
    if earlier is not None:
        return None
    return inbound_of(row.inbound), row.received_at


def done(session: Session, arrival_id: int) -> None:
    """The arrival was read: gone with the caller's commit."""
    session.execute(delete(table(Arrival)).where(table(Arrival).c.id == arrival_id))


def inbound_of(stored: dict[str, Any]) -> Inbound:
    """The Inbound an arrival keeps (fields added later take their defaults)."""
    names = {f.name for f in dataclasses.fields(Inbound)}
    return Inbound(**{k: v for k, v in stored.items() if k in names})


STALE_SECONDS = 30  # an arrival this old: no worker is reading (the dashboard says so)


@dataclass(frozen=True)
class Backlog:
    """Messages accepted and not read yet: how many, and since when."""

    count: int
    since: datetime | None

    def seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.since).total_seconds()) if self.since else 0.0

    def stale(self, now: datetime) -> bool:
        """Whether the worker seems to be down: a message waits to be read for too long."""
        return self.seconds(now) >= STALE_SECONDS


def backlog(rt: Runtime) -> Backlog:
    with read_session(rt.db) as session:
        count_, since = session.exec(select(func.count(), func.min(Arrival.received_at))).one()
    return Backlog(int(count_ or 0), since)


def count(rt: Runtime) -> int:
    """How many arrivals wait to be read."""
    return backlog(rt).count
