"""Twilio's status callbacks: delivery state moves forward only, failures keep their code."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from bot import outbox
from bot.channels.whatsapp import errors
from bot.db import write_session
from bot.models import Message
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Twilio's MessageStatus → ours. queued/accepted say nothing new once we have sent the row.
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "undelivered",
    "canceled": "failed",
}
CHANNELS = ("whatsapp", "sms")


def record(
    rt: Runtime, sid: str, twilio_status: str, error_code: str | None, message_id: str | None
) -> bool:
    """Apply one status callback; True if the row's state changed.

    `message_id` comes from our StatusCallback URL: it links a callback that arrives before the
    worker stored Twilio's SID (or after the worker died holding it) to its row.
    """
    status = STATUSES.get(twilio_status.strip().lower())
    if status is None:
        return False
    with write_session(rt.db) as session:
        row = _row(session, sid, message_id)
        if row is None:
            log.info("status callback for a message we do not know (%s): ignored", sid)
            return False
        if status in outbox.FINAL_FAILURES:
            return outbox.advance(
                session,
                row,
                status,
                error_code=error_code or "unknown",
                error_message=errors.delivery_failed(error_code),
            )
        return outbox.advance(session, row, status)


def _row(session: Session, sid: str, message_id: str | None) -> Message | None:
    query = select(Message).where(Message.external_id == sid, Message.direction == "out")
    row = session.exec(query.with_for_update()).first()
    if row is not None or not message_id:
        return row
    row = session.exec(select(Message).where(Message.id == message_id).with_for_update()).first()
    if row is None or row.direction != "out" or row.channel not in CHANNELS:
        return None
    if row.external_id is None:
        row.external_id = sid  # Twilio took it; the worker has not said so yet
        session.add(row)
        return row
    log.warning(
        "message %s was accepted twice by Twilio (%s and %s): the young person may see it twice",
        row.id,
        row.external_id,
        sid,
    )
    return None
