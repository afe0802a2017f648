"""The outbox: every outbound message is a row here until a worker delivers it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from bot import activity
from bot.models import Conversation, Message, utcnow

LEASE = timedelta(seconds=60)
# Delivery states only move forward; failed/undelivered end the line.
STATUS_ORDER = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "read": 4}
FINAL_FAILURES = ("failed", "undelivered")
MAX_PART = {"whatsapp": 1600, "sms": 1600}  # longer bodies are split at word boundaries


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
    """Queue a message to the young person (split if the channel needs it)."""
    now = now or utcnow()
    limit = MAX_PART.get(conversation.channel)
    bodies = split_body(body, limit) if limit and kind == "text" else [body]
    rows = []
    for i, part in enumerate(bodies):
        row = Message(
            conversation_id=conversation.id,
            channel=conversation.channel,
            direction="out",
            author=author,
            operator_id=operator_id,
            body=part,
            kind=kind,
            status="queued",
            next_attempt_at=now + timedelta(microseconds=i),  # keep the parts in order
            created_at=now + timedelta(microseconds=i),
            meta=dict(meta or {}),
        )
        session.add(row)
        rows.append(row)
    conversation.last_activity_at = now
    session.add(conversation)
    return rows


def due(session: Session, now: datetime, limit: int = 20) -> list[str]:
    """Ids of outbox rows ready to be sent (or whose worker died holding them)."""
    query = (
        select(Message.id)
        .where(
            Message.direction == "out",
            or_(
                and_(Message.status == "queued", col(Message.next_attempt_at) <= now),
                and_(Message.status == "sending", col(Message.lease_until) < now),
            ),
        )
        .order_by(col(Message.next_attempt_at))
        .limit(limit)
    )
    return list(session.exec(query))


def claim(session: Session, message_id: str, now: datetime, lease: timedelta = LEASE) -> bool:
    """Take one row for sending; exactly one worker wins (compare-and-set on the status)."""
    result = session.execute(
        update(Message)
        .where(
            col(Message.id) == message_id,
            or_(
                and_(Message.status == "queued", col(Message.next_attempt_at) <= now),
                and_(Message.status == "sending", col(Message.lease_until) < now),
            ),
        )
        .values(status="sending", lease_until=now + lease, attempts=Message.attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait before the next try: exponential with jitter."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(delay * random.uniform(0.8, 1.2))


def advance(
    session: Session,
    message: Message,
    status: str,
    *,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Move delivery state forward only (queued → sent → delivered → read; or a failure)."""
    current = message.status
    if current in FINAL_FAILURES:
        return False
    if status in FINAL_FAILURES:
        if current == "read":
            return False
    elif status not in STATUS_ORDER or STATUS_ORDER[status] <= STATUS_ORDER.get(current, -1):
        return False
    message.status = status
    if error_code is not None:
        message.error_code = error_code
    if error_message is not None:
        message.error_message = error_message[:500]
    session.add(message)
    activity.publish(session, "status", message.conversation_id)
    return True


def find_by_external_id(session: Session, channel: str, external_id: str) -> Message | None:
    query = select(Message).where(Message.channel == channel, Message.external_id == external_id)
    return session.exec(query).first()
