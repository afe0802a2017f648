"""Triage corrections: listeners mark where the bot read a young person's message wrong.

A correction names a category, the bot's reading of the message ("faq:orari",
"crisis:suicide", "personal:family", "menu") and, while retention allows, a copy of the message:
coordinators read them (dashboard, `sos-bot triage corrections --csv`) to extend the lexicons
from real misses. Retention and CANCELLA scrub the copy (bot.privacy); the counts remain.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime

from sqlmodel import Session, col, select, update

from bot import audit
from bot.models import Conversation, Message, Operator, TriageCorrection

CATEGORIES = {
    "should_be_crisis": "doveva essere una crisi",
    "not_crisis": "non era una crisi",
    "should_be_listener": "doveva andare a un volontario",
}
CSV_FIELDS = ("created_at", "category", "reading", "conversation_id", "text")


class CorrectionError(ValueError):
    """A correction that cannot be recorded (the message says why, in Italian)."""


def reading_of(message: Message) -> str:
    """What the bot did with an inbound message, from the triage kept in its meta."""
    found = message.meta.get("triage") or {}
    if found.get("escalation"):
        return str(found["escalation"])[:64]
    if found.get("faq"):
        return f"faq:{found['faq']}"[:64]
    return "bot"


def read_by_bot(session: Session, conversation_id: str) -> list[Message]:
    """The young person's messages of a conversation, oldest first (what the bot read)."""
    query = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "in")
        .order_by(col(Message.created_at), col(Message.id))
    )
    return list(session.exec(query))


def record(
    session: Session,
    conversation: Conversation,
    operator: Operator,
    category: str,
    now: datetime,
    *,
    message_id: str | None = None,
) -> TriageCorrection:
    """Store a correction of one message (default: the conversation's first one)."""
    if category not in CATEGORIES:
        raise CorrectionError("Scegli cosa ha sbagliato il bot.")
    messages = read_by_bot(session, conversation.id)
    if message_id:
        messages = [m for m in messages if m.id == message_id]
    if not messages:
        raise CorrectionError("Non c'è un messaggio del ragazzo o della ragazza da correggere.")
    message = messages[0]
    correction = TriageCorrection(
        created_at=now,
        category=category,
        reading=reading_of(message),
        conversation_id=conversation.id,
        message_id=message.id,
        operator_id=operator.id,
        text=message.body,
    )
    session.add(correction)
    audit.record(
        session,
        "triage_corrected",
        operator_id=operator.id,
        conversation_id=conversation.id,
        category=category,
        reading=correction.reading,
    )
    return correction


def scrub(session: Session, conversation_id: str) -> None:
    """Forget which conversation and message a correction came from, and the message copy."""
    session.exec(
        update(TriageCorrection)
        .where(col(TriageCorrection.conversation_id) == conversation_id)
        .values(text=None, message_id=None, conversation_id=None, operator_id=None)
    )


def list_all(session: Session, limit: int | None = None) -> list[TriageCorrection]:
    """Every correction, newest first."""
    query = select(TriageCorrection).order_by(
        col(TriageCorrection.created_at).desc(), col(TriageCorrection.id).desc()
    )
    return list(session.exec(query.limit(limit) if limit else query))


def counts(rows: list[TriageCorrection]) -> dict[str, int]:
    """How many corrections of each category (every category, zero included)."""
    found = Counter(r.category for r in rows)
    return {category: found.get(category, 0) for category in CATEGORIES}


def as_csv(rows: list[TriageCorrection]) -> str:
    """The corrections as CSV, one row each (the text is empty once retention has passed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in rows:
        writer.writerow(
            [
                r.created_at.isoformat(),
                r.category,
                r.reading or "",
                r.conversation_id or "",
                r.text or "",
            ]
        )
    return out.getvalue()
