"""Who is on shift ("in turno"), their load, and the queue as a young person writing now sees it.

A listener is on shift from switching it on until switching it off, logging out, or
`dashboard.shift_idle_minutes` without using the dashboard (the worker then switches it off; the
counts below already leave such a listener out).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, func, select

from bot import activity, audit
from bot.config import Settings
from bot.conversations import Priority, Status
from bot.db import table
from bot.models import Conversation, Operator
from flows.presence import Presence

SEEN_EVERY = timedelta(seconds=60)  # "last seen" is written at most this often
HANDLING_WINDOW = timedelta(days=30)  # recent handling times: conversations closed since then
HANDLING_SAMPLE = 100  # ...at most this many, the newest


@dataclass(frozen=True)
class OnShift:
    """One person on shift, as the queue page shows them."""

    operator: Operator
    load: int  # conversations held now
    capacity: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)


def capacity(operator: Operator, settings: Settings) -> int:
    return operator.capacity or settings.service.listener_capacity


def _idle(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.dashboard.shift_idle_minutes)


# built once: the inbox asks on every message it hands over
_ON_SHIFT = (
    select(Operator)
    .where(
        col(Operator.active).is_(True),
        col(Operator.on_shift_since).is_not(None),
        col(Operator.last_seen_at) >= bindparam("seen_since"),
    )
    .order_by(col(Operator.on_shift_since))
)


def on_shift(session: Session, settings: Settings, now: datetime) -> list[OnShift]:
    """Everyone on shift now (active, switched on, not idle), with their load."""
    people = list(session.exec(_ON_SHIFT, params={"seen_since": now - _idle(settings)}))
    if not people:
        return []
    loads = dict(
        session.exec(
            select(Conversation.listener_id, func.count())
            .where(
                Conversation.status == Status.LISTENER,
                col(Conversation.listener_id).in_([p.id for p in people]),
            )
            .group_by(col(Conversation.listener_id))
        ).all()
    )
    return [OnShift(p, int(loads.get(p.id, 0)), capacity(p, settings)) for p in people]


def handling_minutes(session: Session, now: datetime) -> float | None:
    """The median time a listener held a conversation, over the recent ones (None: none yet)."""
    query = (
        select(Conversation.claimed_at, Conversation.closed_at)
        .where(
            col(Conversation.claimed_at).is_not(None),
            col(Conversation.closed_at) >= now - HANDLING_WINDOW,
            col(Conversation.closed_at) <= now,
        )
        .order_by(col(Conversation.closed_at).desc())
        .limit(HANDLING_SAMPLE)
    )
    minutes = [
        (closed - claimed).total_seconds() / 60
        for claimed, closed in session.exec(query)
        if claimed and closed
    ]
    minutes = [m for m in minutes if m >= 0]
    return statistics.median(minutes) if minutes else None


def _ahead(session: Session, conversation: Conversation | None) -> dict[str, int]:
    """For each priority: the waiting conversations a conversation of that priority follows.

    Crisis first, then high, then normal; the longest wait first within a priority. A new
    arrival goes after everyone of its priority; a conversation waiting already keeps its place.
    """
    own = conversation.id if conversation is not None else None
    others = [
        (rank, at if at else None)
        for cid, rank, at in session.exec(
            select(Conversation.id, Conversation.priority_rank, Conversation.escalated_at).where(
                Conversation.status == Status.WAITING
            )
        ).all()
        if cid != own
    ]
    waiting = conversation is not None and conversation.status == Status.WAITING
    ahead: dict[str, int] = {}
    for priority in Priority:
        rank = priority.rank
        mine = None
        if waiting and conversation is not None and conversation.priority == priority:
            mine = conversation.escalated_at if conversation.escalated_at else None
        ahead[priority] = sum(
            1
            for other, at in others
            if other > rank or (other == rank and (mine is None or (at is not None and at <= mine)))
        )
    return ahead


def snapshot(
    session: Session, settings: Settings, now: datetime, conversation: Conversation | None = None
) -> Presence:
    """What the engine needs to know about who can answer this conversation now."""
    people = on_shift(session, settings, now)
    if not people:
        return Presence(on_shift=0, free=0)
    free = sum(p.free for p in people)
    ahead = _ahead(session, conversation)
    queued = conversation is not None and conversation.status == Status.WAITING
    waiting = conversation.priority if conversation and queued else None
    per_place = None
    if max(ahead.values(), default=0) + 1 > free:  # someone would wait: estimate how long
        handling = handling_minutes(session, now)
        if handling is not None:
            per_place = handling / max(1, sum(p.load for p in people))
    return Presence(
        on_shift=len(people), free=free, ahead=ahead, minutes_per_place=per_place, priority=waiting
    )


def start_shift(session: Session, operator: Operator, now: datetime) -> None:
    if operator.on_shift_since is not None:
        return
    operator.on_shift_since = now
    operator.last_seen_at = now
    session.add(operator)
    audit.record(session, "shift_started", operator_id=operator.id)
    activity.publish(session, "presence")


def end_shift(session: Session, operator: Operator, now: datetime, *, reason: str) -> None:
    """Off shift: "off" (switched off), "logout" or "idle"."""
    if operator.on_shift_since is None:
        return
    minutes = int((now - operator.on_shift_since).total_seconds() // 60)
    operator.on_shift_since = None
    session.add(operator)
    audit.record(
        session, "shift_ended", operator_id=operator.id, reason=reason, minutes=max(0, minutes)
    )
    activity.publish(session, "presence")


def end_idle_shifts(session: Session, settings: Settings, now: datetime) -> int:
    """Switch off whoever has not used the dashboard for shift_idle_minutes."""
    idle = (
        select(Operator)
        .where(
            col(Operator.on_shift_since).is_not(None),
            (col(Operator.last_seen_at) < now - _idle(settings))
            | col(Operator.last_seen_at).is_(None)
            | col(Operator.active).is_(False),
        )
        .with_for_update()
    )
    ended = 0
    for operator in session.exec(idle).all():
        end_shift(session, operator, now, reason="idle")
        ended += 1
    return ended


_SEEN = update(table(Operator))


def seen(session: Session, operator_id: str, now: datetime) -> None:
    """The person used the dashboard: keeps their shift going (one write a minute at most)."""
    stale = (col(Operator.last_seen_at).is_(None)) | (col(Operator.last_seen_at) < now - SEEN_EVERY)
    session.execute(_SEEN.where(col(Operator.id) == operator_id, stale).values(last_seen_at=now))


def on_dashboard(operator: Operator, settings: Settings, now: datetime) -> bool:
    """Whether a page of the dashboard is open for the person (its live stream is connected)."""
    if operator.dashboard_at is None:
        return False
    slack = timedelta(seconds=settings.dashboard.live_stream_seconds + 30)
    return operator.dashboard_at >= now - slack
