"""receive(): every inbound message from every channel, in one transaction.

dedupe → contact + open conversation → store → engine (safety first) → outbox and queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import activity, outbox, privacy
from bot.channels.base import Inbound
from bot.db import write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.pseudonym import pseudonym
from bot.runtime import Runtime
from flows import engine
from flows.engine import Context
from flows.events import (
    PRIORITY_RANK,
    Closed,
    ConsentShown,
    EraseRequested,
    Escalate,
    Event,
    FaqMatched,
    LanguageSet,
    OptedOut,
    Refer,
    Reply,
)

log = logging.getLogger(__name__)
ONE_REPLY_PER_MESSAGE = ("email",)  # channels where the bot's replies to a message leave as one


@dataclass
class Receipt:
    """What receive() did, for the channel adapter and the tests."""

    duplicate: bool
    message_id: str | None = None
    conversation_id: str | None = None
    replies: list[str] = field(default_factory=list)
    escalated: str | None = None  # the priority, if the conversation was (re-)escalated


def receive(rt: Runtime, inbound: Inbound, *, now: datetime | None = None) -> Receipt:
    """Store and answer one inbound message; a duplicate (channel, external_id) does nothing."""
    now = now or utcnow()
    for attempt in range(3):
        try:
            with write_session(rt.db) as session:
                receipt = _receive(rt, session, inbound, now)
        except IntegrityError:
            # Another process stored the same message or created the same contact at the same
            # moment: run again, and the dedupe check or the existing contact decides.
            if attempt == 2:
                raise
            continue
        if receipt.replies:
            rt.wake_outbox()
        return receipt
    raise AssertionError("unreachable")


def open_conversation(session: Session, contact: Contact, now: datetime) -> Conversation:
    """The contact's conversation that is not closed, or a new one."""
    query = (
        select(Conversation)
        .where(Conversation.contact_id == contact.id, Conversation.status != "closed")
        .order_by(col(Conversation.opened_at).desc())
        .with_for_update()
    )
    conversation = session.exec(query).first()
    if conversation is None:
        conversation = Conversation(
            contact_id=contact.id, channel=contact.channel, opened_at=now, last_activity_at=now
        )
        session.add(conversation)
        session.flush()
    return conversation


def _contact(rt: Runtime, session: Session, inbound: Inbound, now: datetime) -> Contact:
    query = (
        select(Contact)
        .where(Contact.channel == inbound.channel, Contact.address == inbound.address)
        .with_for_update()
    )
    contact = session.exec(query).first()
    if contact is None:
        contact = Contact(
            channel=inbound.channel,
            address=inbound.address,
            pseudonym=pseudonym(rt.secret, inbound.channel, inbound.address),
            created_at=now,
        )
        session.add(contact)
        session.flush()
    return contact


def _receive(rt: Runtime, session: Session, inbound: Inbound, now: datetime) -> Receipt:
    if inbound.external_id:
        seen = outbox.find_by_external_id(session, inbound.channel, inbound.external_id)
        if seen is not None:
            return Receipt(duplicate=True, message_id=seen.id, conversation_id=seen.conversation_id)
    contact = _contact(rt, session, inbound, now)
    if inbound.display_name:
        contact.display_name = inbound.display_name[:200]
    if inbound.answer:  # an auto-reply or a bounce is not writing again
        contact.erase_requested_at = None  # writing again after an erasure starts afresh
        contact.last_inbound_at = now
        contact.opted_out_at = None  # writing again after STOP opts back in
    conversation = open_conversation(session, contact, now)
    message = Message(
        conversation_id=conversation.id,
        channel=inbound.channel,
        direction="in",
        author="contact",
        body=inbound.text,
        external_id=inbound.external_id,
        status="received",
        created_at=now,
        media=list(inbound.media),
        meta=dict(inbound.meta),
    )
    session.add(message)
    session.flush()  # a concurrent duplicate fails here, before anything else is written
    conversation.channel_data = {**conversation.channel_data, **inbound.thread}
    conversation.last_activity_at = now
    receipt = Receipt(duplicate=False, message_id=message.id, conversation_id=conversation.id)
    activity.publish(session, "message", conversation.id, conversation.priority)
    if inbound.answer:
        status = conversation.status if conversation.status in ("waiting", "listener") else "bot"
        ctx = Context(
            now=now,
            hours=rt.hours,
            emergency=rt.emergency,
            status=status,  # type: ignore[arg-type]
            first_contact=contact.consent_at is None,
            lang=contact.language,
        )
        result = engine.step(rt.pack, conversation.flow_state or None, inbound.text, ctx,
                             media=len(inbound.media))
        conversation.flow_state = result.state
        events = [e for e in result.events if not (inbound.quiet and isinstance(e, Reply))]
        if inbound.channel in ONE_REPLY_PER_MESSAGE:
            events = join_replies(events)
        apply(rt, session, contact, conversation, message, events, now, receipt)
    session.add(contact)
    session.add(conversation)
    return receipt


def join_replies(events: list[Event]) -> list[Event]:
    """The bot's replies to one message as one text (on e-mail: one mail, not several)."""
    texts = [e.text for e in events if isinstance(e, Reply)]
    if len(texts) < 2:
        return events
    first = next(i for i, e in enumerate(events) if isinstance(e, Reply))
    others = [e for e in events if not isinstance(e, Reply)]
    return [*others[:first], Reply(text="\n\n".join(texts)), *others[first:]]


def apply(
    rt: Runtime,
    session: Session,
    contact: Contact,
    conversation: Conversation,
    message: Message | None,
    events: list[Event],
    now: datetime,
    receipt: Receipt,
) -> None:
    """Carry out what the engine decided, in the caller's transaction."""
    triage: dict[str, object] = {}
    erase = False
    for event in events:
        match event:
            case Reply(text=text):
                rows = outbox.enqueue(session, conversation, text, author="bot", now=now)
                receipt.replies.extend(r.id for r in rows)
            case Escalate(priority=priority, reason=reason):
                escalate(rt, session, conversation, priority, reason, now)
                receipt.escalated = conversation.priority
                triage["escalation"] = reason
            case FaqMatched(faq_id=faq_id, score=score):
                triage["faq"] = faq_id
                triage["score"] = round(score, 1)
            case Refer(service_id=service_id):
                triage.setdefault("services", []).append(service_id)  # type: ignore[union-attr]
            case LanguageSet(lang=lang):
                contact.language = lang
            case ConsentShown():
                contact.consent_at = contact.consent_at or now
            case OptedOut():
                contact.opted_out_at = now
            case EraseRequested():
                erase = True
            case Closed(reason=reason):
                close(session, conversation, now, outcome=f"bot:{reason}")
    if message is not None and triage:
        message.meta = {**message.meta, "triage": triage}
        session.add(message)
    if erase:
        privacy.erase_contact(session, contact, now, keep_conversation=conversation,
                              keep_messages=set(receipt.replies))


def escalate(
    rt: Runtime, session: Session, conversation: Conversation, priority: str, reason: str,
    now: datetime,
) -> None:
    """Queue the conversation for a listener, or raise its priority if it is there already."""
    rank = PRIORITY_RANK[priority]
    raised = rank > conversation.priority_rank
    if raised:
        conversation.priority = priority
        conversation.priority_rank = rank
        conversation.escalation_reason = reason
    if conversation.status == "bot":
        conversation.status = "waiting"
        conversation.escalated_at = now
        conversation.out_of_hours = not rt.hours.is_open(now)
    elif not raised:
        return
    kind = "crisis" if priority == "crisis" else "escalated"
    activity.publish(session, kind, conversation.id, conversation.priority)
    log.info("conversation %s escalated: %s (%s)", conversation.id, priority, reason)


def close(session: Session, conversation: Conversation, now: datetime, *, outcome: str) -> None:
    conversation.status = "closed"
    conversation.closed_at = now
    conversation.outcome = conversation.outcome or outcome
    conversation.listener_id = None
    session.add(conversation)
    activity.publish(session, "closed", conversation.id)
