"""The outbox: every outbound message is a row here until a worker delivers it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, update
from sqlmodel import Session, col, select

from bot import activity
from bot.channel import UNCONFIRMED
from bot.db import table
from bot.models import Conversation, Message, new_id, utcnow

LEASE = timedelta(seconds=60)
# Delivery states only move forward; failed/undelivered end the line.
STATUS_ORDER = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
FINAL_FAILURES = ("failed", "undelivered")
MAX_PART = {"whatsapp": 1600, "sms": 1600}  # longer bodies are split at word boundaries
_INSERT = insert(table(Message))  # Core: built once, no model instances
BATCH = "outbox_batch"  # session.info key: queue() adds its rows to this list instead
# session.info key: a lease's end. queue() takes its rows for this process's worker at once
# ("sending", leased, no attempt yet), and lists their ids under HELD: the worker that read the
# message sends them after the commit, renewing the lease and counting the attempt as it begins
# (bot.worker, outbox.renew); if it dies, or reaches them only after the lease ran out, they are
# claimed like any other row.
HOLD = "outbox_hold"
HELD = "outbox_held"


def split_body(body: str, limit: int) -> list[str]:
    """Split a long text at word boundaries into parts of at most `limit` characters."""
    parts: list[str] = []
    rest = body.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n", 0, limit + 1), rest.rfind(" ", 0, limit + 1))
        if cut <= limit // 2:  # no good boundary: a very long word
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _rows(
    conversation: Conversation,
    body: str,
    *,
    author: str,
    operator_id: str | None,
    kind: str,
    meta: dict[str, Any] | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows for one message to the young person (split if the channel needs it)."""
    limit = MAX_PART.get(conversation.channel)
    bodies = split_body(body, limit) if limit and kind == "text" else [body]
    return [
        {
            "id": new_id(),
            "conversation_id": conversation.id,
            "channel": conversation.channel,
            "direction": "out",
            "author": author,
            "operator_id": operator_id,
            "body": part,
            "kind": kind,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now + timedelta(microseconds=i),  # keep the parts in order
            "created_at": now + timedelta(microseconds=i),
            "media": [],
            "meta": dict(meta or {}),
            "lease_until": None,
        }
        for i, part in enumerate(bodies)
    ]


def enqueue(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    author: str,
    operator_id: str | None = None,
    kind: str = "text",
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Message]:
    """Queue a message to the young person (split if the channel needs it), as model rows."""
    now = now or utcnow()
    rows = [
        Message(**row)
        for row in _rows(
            conversation,
            body,
            author=author,
            operator_id=operator_id,
            kind=kind,
            meta=meta,
            now=now,
        )
    ]
    session.add_all(rows)
    _touch(session, conversation, now)
    return rows


def queue(
    session: Session,
    conversation: Conversation,
    body: str,
    *,
    author: str,
    now: datetime,
    meta: dict[str, Any] | None = None,
) -> list[str]:
    """enqueue() for the hot path: the same rows, inserted at once (Core); returns their ids.

    The conversation's row must exist already (flushed): its messages refer to it.
    """
    rows = _rows(
        conversation, body, author=author, operator_id=None, kind="text", meta=meta, now=now
    )
    hold = session.info.get(HOLD)
    if hold is not None:
        for row in rows:
            row.update(status="sending", attempts=0, lease_until=hold)
        session.info.setdefault(HELD, []).extend(row["id"] for row in rows)
    batch = session.info.get(BATCH)
    if batch is not None:  # the caller inserts them with its own rows, in one statement
        batch.extend(rows)
    else:
        session.execute(_INSERT, rows)
    _touch(session, conversation, now)
    return [row["id"] for row in rows]


def _touch(session: Session, conversation: Conversation, now: datetime) -> None:
    conversation.last_activity_at = now
    if conversation not in session:  # e.g. loaded by another session
        session.add(conversation)


def _ready(now: Any) -> Any:
    """Rows ready to be sent: queued and due, or held by a worker whose lease ran out."""
    return or_(
        and_(col(Message.status) == "queued", col(Message.next_attempt_at) <= now),
        and_(col(Message.status) == "sending", col(Message.lease_until) < now),
    )


# Built once, bound per call: the worker runs these for every message. A row taken over from a
# worker whose lease ran out in the middle of a try may be at the provider already: UNCONFIRMED.
_CLAIM = (
    update(table(Message))
    .where(col(Message.id) == bindparam("message_id"), _ready(bindparam("now")))
    .values(
        status="sending",
        lease_until=bindparam("until"),
        attempts=Message.attempts + 1,
        error_code=case(
            (and_(col(Message.status) == "sending", col(Message.attempts) > 0), UNCONFIRMED),
            else_=col(Message.error_code),
        ),
    )
)


def due(session: Session, now: datetime, limit: int = 20) -> list[str]:
    """Ids of outbox rows ready to be sent (or whose worker died holding them)."""
    query = (
        select(Message.id)
        .where(Message.direction == "out", _ready(now))
        .order_by(col(Message.next_attempt_at))
        .limit(limit)
    )
    return list(session.exec(query))


_SOONEST = select(func.min(col(Message.next_attempt_at))).where(
    col(Message.status) == "queued", col(Message.next_attempt_at) > bindparam("now")
)
_LEASE_ENDS = select(func.min(col(Message.lease_until))).where(col(Message.status) == "sending")


def soonest(session: Session, now: datetime) -> datetime | None:
    """When the next row falls due: a retry's time, or a lease that runs out (None: no such row).

    A worker woken by notifications sleeps until then, not a whole safety-net interval.
    """
    times = [session.execute(query, {"now": now}).scalar() for query in (_SOONEST, _LEASE_ENDS)]
    return min((t for t in times if t is not None), default=None)


_RENEW = (
    update(table(Message))
    .where(
        col(Message.id) == bindparam("message_id"),
        col(Message.status) == "sending",
        col(Message.attempts) == 0,
        col(Message.lease_until) >= bindparam("now"),
    )
    .values(lease_until=bindparam("until"), attempts=1)
)


def renew(session: Session, message_id: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """A row this worker took when it read the message (HOLD), still held: its lease starts
    again now and its first attempt is counted, so that no other worker takes it while it is
    sent. False once the lease ran out, however long the row waited for its worker: then it is
    claimed like any other row (as never tried, if its reader never began it)."""
    params = {"message_id": message_id, "now": now, "until": now + lease}
    result = session.execute(_RENEW, params)
    return bool(getattr(result, "rowcount", 0) == 1)


def claim(session: Session, message_id: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take one row for sending; exactly one worker wins (compare-and-set on the status).

    A Core update: a Message already loaded in this session is not refreshed.
    """
    params = {"message_id": message_id, "now": now, "until": now + lease}
    result = session.execute(_CLAIM, params)
    return bool(getattr(result, "rowcount", 0) == 1)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait before the next try: exponential with jitter."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * random.uniform(0.8, 1.2))


def moves_forward(current: str, status: str) -> bool:
    """Whether a row in `current` may move to `status` (never backwards, failures are final)."""
    if current in FINAL_FAILURES:
        return False
    if status in FINAL_FAILURES:
        return current != "read"
    return status in STATUS_ORDER and STATUS_ORDER[status] > STATUS_ORDER.get(current, -1)


def advance(
    session: Session,
    message: Message,
    status: str,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Move delivery state forward only (queued → sent → delivered → read; or a failure)."""
    if not moves_forward(message.status, status):
        return False
    message.status = status
    if error_code is not None:
        message.error_code = error_code
    if error_message is not None:
        message.error_message = error_message[:500]
    session.add(message)
    activity.publish(session, "status", message.conversation_id)
    return True


_SEND_STATE = (
    select(Message.status, Message.conversation_id)
    .where(col(Message.id) == bindparam("message_id"))
    .with_for_update()
)
_UPDATE = update(table(Message)).where(col(Message.id) == bindparam("message_id"))


def record_sent(
    session: Session, message_id: str, external_id: str | None, status: str
) -> tuple[str, str] | None:
    """The provider took the row: keep its id, end the lease, move the status forward.

    Returns the row's status and conversation, or None if the row is gone. Two statements and
    no model instance; the row is locked, since a status callback may be writing it right now.
    """
    row = session.execute(_SEND_STATE, {"message_id": message_id}).first()
    if row is None:
        return None
    current = row.status
    values: dict[str, Any] = {"external_id": external_id, "sent_at": utcnow(), "lease_until": None}
    if current not in FINAL_FAILURES:  # a status callback may have come first
        values |= {"error_code": None, "error_message": None}
    if current == "queued":  # ...and moved it on already: never backwards
        current = "sending"
    target = status if status in STATUS_ORDER else "sent"
    if moves_forward(current, target):
        current = target
        activity.publish(session, "status", row.conversation_id)
    session.execute(_UPDATE, {"message_id": message_id, "status": current, **values})
    return current, row.conversation_id
