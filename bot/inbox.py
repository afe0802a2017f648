"""receive(): every inbound message from every channel, in one transaction.

dedupe → contact + open conversation → store → engine (safety first) → outbox and queue.
receive_arrival(): the same for a message a webhook accepted first (bot.arrivals), which it
deletes in that transaction.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, assert_never

from sqlalchemy import and_, bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import (
    activity,
    arrivals,
    audit,
    conversations,
    directory,
    feedback,
    outbox,
    presence,
    privacy,
    referrals,
)
from bot.channel import Inbound
from bot.conversations import Priority, Status
from bot.db import checkpoint, table, write_changes, write_session
from bot.models import Contact, Conversation, Message, new_id, utcnow
from bot.pseudonym import pseudonym
from bot.runtime import Runtime
from flows import engine
from flows.events import (
    Closed,
    ConsentShown,
    EraseRequested,
    Escalate,
    Event,
    FaqMatched,
    FeedbackGiven,
    LanguageSet,
    OptedOut,
    Refer,
    Reply,
)
from flows.presence import Presence
from flows.triage import Triage, triage

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
    erased: bool = False  # the young person's data was erased


def receive(rt: Runtime, inbound: Inbound, *, now: datetime | None = None) -> Receipt:
    """Store and answer one inbound message; a duplicate (channel, external_id) does nothing.

    Duplicates are rare (a provider's retry), so the first try does not look for one: the unique
    (channel, external_id) refuses the message's insert, everything is rolled back, and the
    second try finds the stored message and stops.
    """
    at = now or utcnow()
    reading = read(rt, inbound)  # outside the transaction: no lock is held meanwhile

    def work(session: Session, check: bool) -> Receipt:
        return _receive(rt, session, inbound, at, reading, check=check)

    receipt = _in_transaction(rt, work)
    assert receipt is not None
    return receipt


def receive_arrival(rt: Runtime, arrival_id: int) -> Receipt | None:
    """Read a message a webhook accepted (bot.arrivals) and delete the arrival, in one
    transaction: exactly once, in arrival order per writer. None: not now (another worker holds
    it, it was read already, or an earlier message of the same person goes first)."""

    held: list[str] = []

    def work(session: Session, check: bool) -> Receipt | None:
        held.clear()  # a try rolled back holds nothing
        claimed = arrivals.claim(session, arrival_id)
        if claimed is None:
            return None
        inbound, at = claimed
        lease = timedelta(seconds=rt.settings.worker.lease_seconds)
        session.info[outbox.HOLD] = utcnow() + lease  # the replies: this worker sends them
        receipt = _receive(rt, session, inbound, at, read(rt, inbound), check=check)
        arrivals.done(session, arrival_id)
        held[:] = session.info.get(outbox.HELD, [])
        return receipt

    return _in_transaction(rt, work, held)


def _in_transaction(
    rt: Runtime,
    work: Callable[[Session, bool], Receipt | None],
    held: list[str] | None = None,
) -> Receipt | None:
    """Run `work` in a write transaction, again on a unique violation (then it checks first).
    `held`: the ids of replies `work` took for this process's worker (sent after the commit)."""
    for attempt in range(3):
        try:
            with write_session(rt.db) as session, session.no_autoflush:
                receipt = work(session, attempt > 0)
        except IntegrityError:
            # A duplicate, or another process created the same contact at the same moment:
            # run again, and the dedupe check or the existing contact decides.
            if attempt == 2:
                raise
            continue
        if receipt is not None and receipt.erased:
            checkpoint(rt.db)  # the erased text leaves SQLite's write-ahead log too
        if held:
            rt.held.extend(held)
        if receipt is not None and receipt.replies:
            rt.wake_outbox()
        return receipt
    raise AssertionError("unreachable")


def read(rt: Runtime, inbound: Inbound) -> Triage | None:
    """The message's triage (pure: the text and the pack), or None for the engine to try again
    and, if it fails there too, hand the conversation to a listener."""
    if not inbound.answer:
        return None
    try:
        return triage(rt.pack, inbound.text)
    except Exception:
        return None


def _by_address(query: Any) -> Any:
    """The query narrowed to one writer: params channel and address."""
    return query.where(
        Contact.channel == bindparam("channel"), Contact.address == bindparam("address")
    )


# The hot path's statements, built once (building one costs more than running it on SQLite).
_OPEN = col(Conversation.status) != Status.CLOSED
_OWNED = col(Conversation.contact_id) == Contact.id
_NEWEST = col(Conversation.opened_at).desc()
_SEEN = select(Message.id, Message.conversation_id).where(
    Message.channel == bindparam("channel"), Message.external_id == bindparam("external_id")
)
_CONTACT = _by_address(select(Contact)).with_for_update()
_CONTACT_AND_CONVERSATION = (
    _by_address(select(Contact, Conversation).join(Conversation, and_(_OWNED, _OPEN)))
    .order_by(_NEWEST)
    .limit(1)
    .with_for_update()
)
_INSERT_CONTACT = insert(table(Contact))
_INSERT_CONVERSATION = insert(table(Conversation))
_INSERT_MESSAGE = insert(table(Message))
_STORE_FIRST = (OptedOut, EraseRequested, Closed)  # events whose handling reads the messages


def _contact_and_conversation(
    rt: Runtime, session: Session, inbound: Inbound, now: datetime
) -> tuple[Contact, Conversation]:
    """The writer and their open conversation, both locked: one query for a returning contact."""
    address = {"channel": inbound.channel, "address": inbound.address}
    known = session.exec(_CONTACT_AND_CONVERSATION, params=address).first()
    if known is not None:
        return known[0], known[1]
    contact = session.exec(_CONTACT, params=address).first()
    if contact is not None:  # locked now: its open conversation, if one was opened meanwhile
        conversation = conversations.open_for(session, contact, now)
        if conversation in session.new:
            feedback.resume(rt, contact, conversation, now)
        return contact, conversation
    _create(rt, session, inbound, now)  # a first message: the rows (Core), then read back
    created = session.exec(_CONTACT_AND_CONVERSATION, params=address).one()
    return created[0], created[1]


def _create(rt: Runtime, session: Session, inbound: Inbound, now: datetime) -> None:
    """Insert a new contact and its first conversation, without building model instances."""
    contact_id, conversation_id = new_id(), new_id()
    contact = {
        "id": contact_id,
        "channel": inbound.channel,
        "address": inbound.address,
        "pseudonym": pseudonym(),
        "created_at": now,
    }
    # a concurrent first message fails here on (channel, address): receive() runs again
    session.execute(_INSERT_CONTACT, contact)
    conversation = {
        "id": conversation_id,
        "contact_id": contact_id,
        "channel": inbound.channel,
        "status": Status.BOT,
        "priority_rank": 0,
        "out_of_hours": False,
        "flow_state": {},
        "channel_data": {},
        "topics": [],
        "opened_at": now,
        "last_activity_at": now,
    }
    session.execute(_INSERT_CONVERSATION, conversation)


def _seen(session: Session, inbound: Inbound) -> Receipt | None:
    """The receipt of a message stored already (same channel and external id), if any."""
    if not inbound.external_id:
        return None
    key = {"channel": inbound.channel, "external_id": inbound.external_id}
    seen = session.execute(_SEEN, key).first()
    if seen is None:
        return None
    return Receipt(duplicate=True, message_id=seen.id, conversation_id=seen.conversation_id)


def _row(
    conversation: Conversation, inbound: Inbound, now: datetime, triage: dict[str, object]
) -> dict[str, Any]:
    """The inbound message's row, with the outbox rows' columns too (one insert for all)."""
    return {
        "id": new_id(),
        "conversation_id": conversation.id,
        "channel": inbound.channel,
        "direction": "in",
        "author": "contact",
        "body": inbound.text,
        "kind": "text",
        "external_id": inbound.external_id,
        "status": "received",
        "attempts": 0,
        "created_at": now,
        "media": list(inbound.media),
        "meta": {**inbound.meta, "triage": triage} if triage else dict(inbound.meta),
        "operator_id": None,
        "next_attempt_at": None,
    }


def _store(session: Session, conversation: Conversation, rows: list[dict[str, Any]]) -> None:
    """Insert the inbound message and the replies queued with it: one statement (Core)."""
    if conversation in session.new:  # its row first: the messages refer to it
        session.flush()
    for row in rows:
        row.setdefault("external_id", None)
        row.setdefault("lease_until", None)
    session.execute(_INSERT_MESSAGE, rows)  # a duplicate fails here: receive() runs again


def _receive(
    rt: Runtime,
    session: Session,
    inbound: Inbound,
    now: datetime,
    reading: Triage | None,
    *,
    check: bool,
) -> Receipt:
    seen = _seen(session, inbound) if check else None
    if seen is not None:
        return seen
    contact, conversation = _contact_and_conversation(rt, session, inbound, now)
    _update_contact(contact, inbound)
    if inbound.answer:  # an auto-reply or a bounce is not writing again
        conversation.last_inbound_at = now  # WhatsApp's 24-hour window starts again
    channel_data = {**conversation.channel_data, **inbound.thread}
    if channel_data != conversation.channel_data:
        conversation.channel_data = channel_data
    conversation.last_activity_at = now
    events = (
        _step(rt, session, contact, conversation, inbound, now, reading) if inbound.answer else []
    )
    if inbound.hand_over and not inbound.answer:  # e.g. a mail nobody could parse: a person
        events.append(Escalate(priority=Priority.NORMAL, reason=inbound.hand_over))
    row = _row(conversation, inbound, now, triage_of(events))
    receipt = Receipt(duplicate=False, message_id=row["id"], conversation_id=conversation.id)
    activity.publish(session, "message", conversation.id, conversation.priority)
    if any(isinstance(e, _STORE_FIRST) for e in events):  # they read or erase the messages
        _store(session, conversation, [row])
        apply(rt, session, contact, conversation, events, now, receipt)
        session.add(contact)
        session.add(conversation)
        return receipt
    session.info[outbox.BATCH] = rows = [row]  # the replies join the message's insert
    try:
        apply(rt, session, contact, conversation, events, now, receipt)
    finally:
        del session.info[outbox.BATCH]
    _store(session, conversation, rows)
    write_changes(session, contact)
    write_changes(session, conversation)
    return receipt


def _update_contact(contact: Contact, inbound: Inbound) -> None:
    """The writer's name, and what writing again undoes: assigned only where they change, so
    that a contact as it was costs no write."""
    name = inbound.display_name[:200] if inbound.display_name else None
    if name and contact.display_name != name:
        contact.display_name = name
    if not inbound.answer:  # an auto-reply or a bounce is not writing again
        return
    if contact.erase_requested_at is not None:  # writing again after an erasure starts afresh
        contact.erase_requested_at = None
    if contact.opted_out_at is not None:  # writing again after STOP opts back in
        contact.opted_out_at = None


def _step(
    rt: Runtime,
    session: Session,
    contact: Contact,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
    reading: Triage | None = None,
) -> list[Event]:
    """Run the flow engine on the message (pure): the conversation's new state and the events."""
    # who can answer, counted only if the engine hands over or says who is there (most
    # messages, a FAQ or a menu choice, need no count); a listener holding it needs none
    held = conversation.status == Status.LISTENER

    def present() -> Presence:
        return presence.snapshot(session, rt.settings, now, conversation)

    ctx = conversations.context_for(
        rt,
        contact,
        conversation,
        now,
        presence=None if held else present,
        verified=inbound.verified,
        directory=directory.current(rt.db, session),
    )
    state = conversations.flow_state(rt.pack, conversation)
    try:
        result = engine.step(
            rt.pack, state, inbound.text, ctx, media=len(inbound.media), reading=reading
        )
    except Exception as exc:  # the message is kept and a listener takes over: never dropped
        log.error(
            "the flow engine failed on a message in conversation %s (%s): handed to a listener",
            conversation.id,
            where(exc),
        )
        result = engine.fallback(rt.pack, state, ctx)
    flow_state = result.state.to_json()
    if flow_state != conversation.flow_state:
        conversation.flow_state = flow_state
    events = [e for e in result.events if not (inbound.quiet and isinstance(e, Reply))]
    if inbound.channel in ONE_REPLY_PER_MESSAGE:
        events = join_replies(events)
    return events


def where(exc: BaseException) -> str:
    """An error's kind and innermost place, never its message (it may quote the young person)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


def triage_of(events: list[Event]) -> dict[str, object]:
    """What the engine found in a message, kept in the message's meta for the dashboards."""
    triage: dict[str, object] = {}
    services: list[str] = []
    for event in events:
        match event:
            case Escalate(reason=reason):
                triage["escalation"] = reason
            case FaqMatched(faq_id=faq_id, score=score):
                triage["faq"] = faq_id
                triage["score"] = round(score, 1)
            case Refer(service_id=service_id):
                services.append(service_id)
                triage["services"] = services
    return triage


def join_replies(events: list[Event]) -> list[Event]:
    """The bot's replies to one message as one text (on e-mail: one mail, not several)."""
    texts = [e.text for e in events if isinstance(e, Reply)]
    if len(texts) < 2:
        return events
    first = next(i for i, e in enumerate(events) if isinstance(e, Reply))
    others = [e for e in events if not isinstance(e, Reply)]
    secret = next((e.secret for e in events if isinstance(e, Reply) and e.secret), "")
    return [*others[:first], Reply(text="\n\n".join(texts), secret=secret), *others[first:]]


def apply(
    rt: Runtime,
    session: Session,
    contact: Contact,
    conversation: Conversation,
    events: list[Event],
    now: datetime,
    receipt: Receipt,
) -> None:
    """Carry out what the engine decided, in the caller's transaction."""
    erase = stop = False
    for event in events:
        match event:
            case Reply(text=text, secret=secret):
                meta = {"redact": secret} if secret else None
                receipt.replies.extend(
                    outbox.queue(session, conversation, text, author="bot", now=now, meta=meta)
                )
            case Escalate(priority=priority, reason=reason):
                conversations.escalate(rt, session, conversation, priority, reason, now)
                receipt.escalated = conversation.priority
            case LanguageSet(lang=lang):
                contact.language = lang
            case ConsentShown():
                contact.consent_at = contact.consent_at or now
            case OptedOut():
                contact.opted_out_at = now
                stop = True
            case EraseRequested():
                erase = True
            case Closed(reason=reason):
                conversations.close(session, conversation, now, outcome=f"bot:{reason}")
            case Refer(service_id=service_id, topic=topic):
                try:
                    referrals.record(
                        session, conversation, service_id, by="bot", now=now, topic=topic
                    )
                except referrals.ReferralError:  # retired a moment ago: the card went anyway
                    log.warning("referral to %s not counted: not in the directory", service_id)
            case FeedbackGiven():
                feedback.store(session, event)
            case FaqMatched():
                pass  # kept in the message's meta (triage_of)
            case _:
                assert_never(event)
    if stop:
        opt_out(session, contact, conversation, now, keep=set(receipt.replies))
    if erase:
        _erase(rt, session, contact, conversation, now, receipt)


def opt_out(
    session: Session, contact: Contact, conversation: Conversation, now: datetime, *, keep: set[str]
) -> None:
    """STOP: nothing more leaves (the listeners' messages included) and the conversation ends,
    unless it is a crisis no listener has seen yet: that stays in the queue until one has."""
    session.flush()  # the replies just queued, so that `keep` spares them
    privacy.cancel_outbound(session, contact, keep)
    audit.record(session, "opted_out", conversation_id=conversation.id)
    if privacy.waits_for_a_listener(session, conversation):
        activity.publish(session, "status", conversation.id, conversation.priority)
    else:
        conversations.close(session, conversation, now, outcome="stopped")


def _erase(
    rt: Runtime,
    session: Session,
    contact: Contact,
    conversation: Conversation,
    now: datetime,
    receipt: Receipt,
) -> None:
    """CANCELLA confirmed: erase now, or once a listener has seen a crisis still in the queue."""
    if privacy.waits_for_a_listener(session, conversation):
        delay = timedelta(hours=rt.settings.privacy.crisis_erasure_delay_hours)
        contact.erase_due_at = contact.erase_due_at or now + delay
        audit.record(session, "erasure_deferred", conversation_id=conversation.id)
        activity.publish(session, "status", conversation.id, conversation.priority)
        return
    privacy.erase_contact(
        session, contact, now, keep_conversation=conversation, keep_messages=set(receipt.replies)
    )
    receipt.erased = True
