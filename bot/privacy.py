"""Retention and erasure: what we keep about young people, and for how long."""

from __future__ import annotations

import logging
from collections.abc import Set
from datetime import datetime, timedelta

from sqlalchemy import and_, exists
from sqlmodel import Session, col, delete, select

from bot import audit, corrections
from bot.models import Contact, Conversation, Message, Note

log = logging.getLogger(__name__)


def anonymise(
    session: Session, conversation: Conversation, keep_messages: Set[str] = frozenset()
) -> None:
    """Delete a conversation's messages and its link to the contact; keep only anonymous counts
    (triage corrections keep their category and the bot's reading, not the message)."""
    corrections.scrub(session, conversation.id)
    query = delete(Message).where(col(Message.conversation_id) == conversation.id)
    if keep_messages:
        query = query.where(col(Message.id).not_in(keep_messages))
    session.exec(query)
    session.exec(delete(Note).where(col(Note.conversation_id) == conversation.id))
    if not keep_messages:
        conversation.contact_id = None
    conversation.flow_state = {}
    conversation.channel_data = {}
    session.add(conversation)


def erase_contact(
    session: Session,
    contact: Contact,
    now: datetime,
    *,
    keep_conversation: Conversation | None = None,
    keep_messages: Set[str] = frozenset(),
) -> None:
    """CANCELLA: erase everything about the contact but the confirmation still to be sent.

    The contact row itself goes once that confirmation has left (see purge_erased).
    """
    for conversation in session.exec(
        select(Conversation).where(Conversation.contact_id == contact.id)
    ):
        keep = keep_messages if conversation is keep_conversation else frozenset()
        anonymise(session, conversation, set(keep))
        if conversation is keep_conversation:
            conversation.status = "closed"
            conversation.closed_at = now
            conversation.outcome = "erased"
            conversation.listener_id = None
    contact.erase_requested_at = now
    contact.display_name = None
    contact.language = None
    session.add(contact)
    audit.record(session, "contact_erased", detail="requested by the young person")


def purge_erased(session: Session) -> int:
    """Delete erased contacts whose last messages are out of the outbox."""
    pending = exists().where(
        and_(
            col(Message.conversation_id) == Conversation.id,
            col(Message.status).in_(("queued", "sending")),
        )
    )
    query = select(Contact).where(col(Contact.erase_requested_at).is_not(None))
    count = 0
    for contact in session.exec(query):
        conversations = list(
            session.exec(select(Conversation).where(Conversation.contact_id == contact.id))
        )
        if any(
            session.exec(select(Conversation.id).where(Conversation.id == c.id, pending)).first()
            for c in conversations
        ):
            continue
        for conversation in conversations:
            anonymise(session, conversation)
        session.flush()
        session.delete(contact)
        count += 1
    return count


def purge(session: Session, now: datetime, retention_days: int) -> int:
    """Anonymise conversations closed more than retention_days ago; drop contacts left empty."""
    cutoff = now - timedelta(days=retention_days)
    old = select(Conversation).where(
        Conversation.status == "closed",
        col(Conversation.closed_at) < cutoff,
        col(Conversation.contact_id).is_not(None),
    )
    count = 0
    touched: set[str] = set()
    for conversation in session.exec(old):
        if conversation.contact_id:
            touched.add(conversation.contact_id)
        anonymise(session, conversation)
        count += 1
    session.flush()
    for contact_id in touched:
        left = session.exec(
            select(Conversation.id).where(Conversation.contact_id == contact_id)
        ).first()
        if left is None:
            contact = session.get(Contact, contact_id)
            if contact is not None:
                session.delete(contact)
    if count:
        audit.record(session, "retention_purge", conversations=count, retention_days=retention_days)
        log.info("retention: anonymised %d conversations closed before %s", count, cutoff.date())
    return count
