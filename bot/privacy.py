"""Retention, erasure and opt-out: what we keep about young people, for how long, and what
stops at once when they ask."""

from __future__ import annotations

import logging
from collections.abc import Set
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, update
from sqlmodel import Session, col, delete, select

from bot import audit, conversations, corrections, referrals
from bot.conversations import Priority, Status
from bot.models import AuditEvent, Contact, Conversation, Message, Note
from bot.pseudonym import pseudonym

log = logging.getLogger(__name__)


def anonymise(
    session: Session, conversation: Conversation, keep_messages: Set[str] = frozenset()
) -> None:
    """Delete a conversation's messages and its link to the contact; keep only anonymous counts
    (triage corrections keep their category and the bot's reading, not the message; referrals
    their service, channel, topic and time; the profile noted at close)."""
    corrections.scrub(session, conversation.id)
    referrals.unlink(session, conversation.id)
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


def seen_by_a_listener(session: Session, conversation_id: str) -> bool:
    """Whether a listener or a coordinator has opened the conversation (the audit log says)."""
    query = select(AuditEvent.id).where(
        AuditEvent.action == "viewed", AuditEvent.conversation_id == conversation_id
    )
    return session.exec(query.limit(1)).first() is not None


def waits_for_a_listener(session: Session, conversation: Conversation) -> bool:
    """A crisis still in the queue that no listener has opened: it never leaves unseen."""
    return (
        conversation.status == Status.WAITING
        and conversation.priority == Priority.CRISIS
        and not seen_by_a_listener(session, conversation.id)
    )


def cancel_outbound(session: Session, contact: Contact, keep: Set[str] = frozenset()) -> int:
    """STOP: every message still queued for the young person is not sent (but `keep`)."""
    mine = select(Conversation.id).where(Conversation.contact_id == contact.id)
    query = (
        update(Message)
        .where(
            col(Message.direction) == "out",
            col(Message.status) == "queued",
            col(Message.conversation_id).in_(mine.scalar_subquery()),
        )
        .values(
            status="failed",
            error_code="opted_out",
            lease_until=None,
            error_message="non inviato: ha scritto STOP",
        )
        .execution_options(synchronize_session=False)
    )
    if keep:
        query = query.where(col(Message.id).not_in(keep))
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


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
        if conversation is keep_conversation:  # the listener who held it still sees the notice
            conversation.outcome = None  # whatever it was, it ends as erased
            conversations.close(session, conversation, now, outcome="erased")
    contact.erase_requested_at = now
    contact.erase_due_at = None
    contact.display_name = None
    contact.language = None
    contact.pseudonym = pseudonym()  # nothing links what they write next to what was erased
    session.add(contact)
    audit.record(
        session,
        "contact_erased",
        conversation_id=keep_conversation.id if keep_conversation else None,
        detail="requested by the young person",
    )


def erase_when_seen(session: Session, now: datetime) -> int:
    """Carry out the erasures that waited for a listener to see a crisis (or for their time)."""
    count = 0
    query = select(Contact).where(col(Contact.erase_due_at).is_not(None))
    for contact in session.exec(query).all():
        assert contact.erase_due_at is not None
        conversation = session.exec(
            select(Conversation)
            .where(Conversation.contact_id == contact.id, Conversation.status != Status.CLOSED)
            .order_by(col(Conversation.opened_at).desc())
        ).first()
        waiting = conversation is not None and waits_for_a_listener(session, conversation)
        if waiting and now < contact.erase_due_at:
            continue
        unsent = set(
            session.exec(
                select(Message.id).where(
                    col(Message.conversation_id).in_(
                        select(Conversation.id)
                        .where(Conversation.contact_id == contact.id)
                        .scalar_subquery()
                    ),
                    Message.direction == "out",
                    col(Message.status).in_(("queued", "sending")),
                )
            )
        )
        erase_contact(session, contact, now, keep_conversation=conversation, keep_messages=unsent)
        count += 1
    return count


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
        Conversation.status == Status.CLOSED,
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
