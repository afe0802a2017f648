"""WhatsApp's 24-hour customer-service window and the re-engagement template.

Free text reaches a young person only within 24 hours of their last message to us; after that
WhatsApp accepts only an approved template (Twilio error 63016). The sender refuses free text
outside the window locally (code "window_closed"), and the dashboard offers the template.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot import activity, audit, outbox
from bot.config import Twilio
from bot.models import Contact, Conversation, Message, utcnow

WINDOW = timedelta(hours=24)
# Twilio counts from when it received the message, a moment before we stored it: close early.
MARGIN = timedelta(minutes=1)
TEMPLATE_BODY = "[Modello di ricontatto WhatsApp: la persona può rispondere per riaprire la chat]"


class ReengageError(ValueError):
    """The template cannot be queued; the message says why, in Italian, for the dashboard."""


def window_closes_at(conversation: Conversation) -> datetime | None:
    """When free text in this conversation stops being possible (None: nothing came in it).

    Counted from the young person's last message in the conversation (a contact has one open
    conversation at a time). For the dashboard, e.g. to warn a listener that the window closes
    in 20 minutes.
    """
    if conversation.last_inbound_at is None:
        return None
    return conversation.last_inbound_at + WINDOW - MARGIN


def window_open(conversation: Conversation, now: datetime | None = None) -> bool:
    """Whether free text can be sent in the conversation now (always True off WhatsApp)."""
    if conversation.channel != "whatsapp":
        return True
    closes = window_closes_at(conversation)
    return closes is not None and (now or utcnow()) < closes


def queue_reengagement(
    session: Session,
    conversation: Conversation,
    operator_id: str | None,
    settings: Twilio,
    *,
    now: datetime | None = None,
) -> Message:
    """Queue the approved re-engagement template for a conversation whose window is closed.

    Sent with ContentSid = `[twilio] reengage_content_sid` and ContentVariables =
    `reengage_content_variables`. A template already waiting in the outbox is returned instead of
    queuing a second one. Runs in the caller's transaction: commit, then call `rt.wake_outbox()`.
    Raises ReengageError (Italian text for the dashboard) when it cannot be sent.
    """
    if not settings.reengage_content_sid:
        raise ReengageError("Modello di ricontatto non configurato (twilio.reengage_content_sid).")
    if conversation.channel != "whatsapp":
        raise ReengageError("Il modello di ricontatto esiste solo per WhatsApp.")
    contact = session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    if contact is None or contact.erase_requested_at is not None:
        raise ReengageError("La persona ha chiesto di cancellare i suoi dati.")
    if contact.opted_out_at is not None:
        raise ReengageError("La persona ha scritto STOP: non la ricontattiamo.")
    pending = session.exec(
        select(Message).where(
            Message.conversation_id == conversation.id,
            Message.kind == "template",
            col(Message.status).in_(("queued", "sending")),
        )
    ).first()
    if pending is not None:
        return pending
    variables = json.loads(settings.reengage_content_variables or "{}")
    meta = {
        "content_sid": settings.reengage_content_sid,
        "content_variables": json.dumps(variables, ensure_ascii=False),
    }
    author = "listener" if operator_id else "system"
    (row,) = outbox.enqueue(
        session,
        conversation,
        TEMPLATE_BODY,
        author=author,
        operator_id=operator_id,
        kind="template",
        meta=meta,
        now=now,
    )
    session.flush()
    audit.record(
        session, "reengage_queued", operator_id=operator_id, conversation_id=conversation.id
    )
    activity.publish(session, "message", conversation.id, conversation.priority)
    return row
