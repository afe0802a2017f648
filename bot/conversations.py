"""The lifecycle of a conversation: where it is, and every way that changes.

                 escalate            claim               close_by
    open ──► BOT ─────────► WAITING ───────► LISTENER ───────────► CLOSED
              ▲ ▲              ▲   release      │ │ transfer (to another listener)
              │ └─ give_back ──┴────────────────┘ │
              └─────────────── give_back ─────────┘
    BOT ──► CLOSED  close: the bot's goodbye after silence (the worker's close_silent duty runs
                    engine.timeout, whose Closed event lands here), STOP, CANCELLA
    any ──► CLOSED  close_by: a coordinator, also from the queue

The vocabulary, and why it lives where it does:
  Status    where a conversation is (bot, waiting, listener, closed): defined here, and the
            only way bot/ and operators/ name a status. The column stays a plain string:
            a StrEnum is a str, so rows read back compare equal to its members.
  Priority  crisis > high > normal, with its rank for ordering the queue (Priority.rank, the
            only place ranks are written). The pure flow engine decides priorities (its
            Escalate events carry one) and cannot import the core, so Priority is defined in
            flows.events and re-exported here.
  Holder    the engine's own, smaller view: who answers the next message (bot, waiting,
            listener; flows.engine.Holder). holder() maps a Status onto it, in one place, and
            context_for() builds the engine's whole Context from a conversation.

Every transition is a function here, writing the audit log (for people's actions) and the live
change feed in the caller's transaction. Changes people make on the dashboard lock the row
first: of two listeners acting at once exactly one wins, across processes, and the other gets
`Refused`, which says why (the dashboard words it in Italian: operators.handover).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot import activity, audit
from bot.db import write_session
from bot.models import Contact, Conversation, Operator
from flows.directory import Service
from flows.engine import Context, Holder
from flows.events import Priority
from flows.pack import Pack
from flows.presence import Counted
from flows.state import FlowState

if TYPE_CHECKING:  # the runtime loads the pack, then repairs the flow states with it
    from bot.runtime import Runtime

__all__ = [  # Priority and Holder are the engine's, named here too
    "ACTIVE",
    "ERASE_BY_CODE",
    "Holder",
    "Priority",
    "Refusal",
    "Refused",
    "Status",
    "claim",
    "close",
    "close_by",
    "context_for",
    "escalate",
    "flow_state",
    "give_back",
    "held_count",
    "holder",
    "open_for",
    "rank",
    "release",
    "release_all",
    "repair_states",
    "silent",
    "still_silent",
    "transfer",
]

log = logging.getLogger(__name__)
ERASE_BY_CODE = ("email",)  # channels where CANCELLA is confirmed with a code sent to the address


class Status(StrEnum):
    """Where a conversation is."""

    BOT = "bot"  # the bot answers
    WAITING = "waiting"  # in the listeners' queue
    LISTENER = "listener"  # a volunteer holds it
    CLOSED = "closed"


ACTIVE = (Status.WAITING, Status.LISTENER)  # a person is needed, or already there


def holder(status: str) -> Holder:
    """Who answers the next message, as the engine sees it (a closed conversation: the bot)."""
    match Status(status):
        case Status.WAITING:
            return Holder.WAITING
        case Status.LISTENER:
            return Holder.LISTENER
        case Status.BOT | Status.CLOSED:
            return Holder.BOT


def rank(priority: str | None) -> int:
    """The queue order of a priority; 0 for none."""
    return Priority(priority).rank if priority else 0


# the engine's context --------------------------------------------------------------------------


def context_for(
    rt: Runtime,
    contact: Contact,
    conversation: Conversation,
    now: datetime,
    *,
    presence: Counted = None,
    verified: bool = True,
    directory: tuple[Service, ...] = (),
) -> Context:
    """What the flow engine is told about a conversation and its writer at `now`.

    presence: the listeners on shift (bot.presence.snapshot), or a function counting them when
        the engine needs it; None to go by the opening hours.
    verified: the channel proved the sender (else STOP and CANCELLA never act).
    directory: the local services the bot may show (bot.directory.current).
    """
    by_code = conversation.channel in ERASE_BY_CODE
    return Context(
        now=now,
        hours=rt.hours,
        emergency=rt.emergency,
        status=holder(conversation.status),
        first_contact=contact.consent_at is None,
        lang=contact.language,
        presence=presence,
        verified=verified,
        erase_code=f"{secrets.randbelow(10**6):06d}" if by_code else "",  # six random digits
        code_key=hashlib.sha256(f"one-time-code:{rt.secret}".encode()).digest(),
        directory=directory,
    )


# the flow state --------------------------------------------------------------------------------


def flow_state(pack: Pack, conversation: Conversation) -> FlowState:
    """The conversation's flow state, migrated to the current version and fitted to the pack."""
    state = FlowState.from_json(conversation.flow_state)
    if state.fits(pack):
        return state
    log.warning("repaired 1 flow state pointing at content that is gone: back to the start")
    return state.fitted(pack)


def repair_states(db: Engine, pack: Pack) -> int:
    """Fit every open conversation's flow state to a freshly loaded pack: a coordinator may
    have removed or renamed a node or a FAQ that some of them point at. Logs the count."""
    repaired = 0
    with write_session(db) as session:
        query = select(Conversation).where(Conversation.status != Status.CLOSED)
        for conversation in session.exec(query.with_for_update()):
            state = FlowState.from_json(conversation.flow_state)
            if not state.fits(pack):
                conversation.flow_state = state.fitted(pack).to_json()
                session.add(conversation)
                repaired += 1
    if repaired:
        log.warning(
            "repaired %d flow states pointing at content that is gone: back to the start", repaired
        )
    return repaired


# the bot's side --------------------------------------------------------------------------------

_OPEN_OF_CONTACT = (
    select(Conversation)
    .where(Conversation.contact_id == bindparam("contact_id"), Conversation.status != Status.CLOSED)
    .order_by(col(Conversation.opened_at).desc())
    .with_for_update()
)


def open_for(session: Session, contact: Contact, now: datetime) -> Conversation:
    """The contact's conversation that is not closed, or a new one with the bot."""
    conversation = session.exec(_OPEN_OF_CONTACT, params={"contact_id": contact.id}).first()
    if conversation is None:
        conversation = Conversation(
            contact_id=contact.id,
            channel=contact.channel,
            status=Status.BOT,
            opened_at=now,
            last_activity_at=now,
        )
        session.add(conversation)
    return conversation


def escalate(
    rt: Runtime,
    session: Session,
    conversation: Conversation,
    priority: Priority,
    reason: str,
    now: datetime,
) -> None:
    """Queue the conversation for a listener, or raise its priority if it is there already."""
    raised = priority.rank > conversation.priority_rank
    if priority == Priority.CRISIS and conversation.crisis_at is None:
        conversation.crisis_at = now  # the time to a human is counted from here (bot.alerts)
    if raised:
        conversation.priority = priority
        conversation.priority_rank = priority.rank
        conversation.escalation_reason = reason
    if conversation.status == Status.BOT:
        conversation.status = Status.WAITING
        conversation.escalated_at = now
        conversation.out_of_hours = not rt.hours.is_open(now)
    elif not raised:
        return
    kind = "crisis" if priority == Priority.CRISIS else "escalated"
    activity.publish(session, kind, conversation.id, conversation.priority)
    log.info("conversation %s escalated: %s (%s)", conversation.id, priority, reason)


def close(session: Session, conversation: Conversation, now: datetime, *, outcome: str) -> None:
    """End the conversation without a person: the bot's goodbye, STOP, an erasure."""
    conversation.status = Status.CLOSED
    conversation.closed_at = now
    conversation.outcome = conversation.outcome or outcome
    session.add(conversation)  # listener_id stays: who held it still sees how it ended
    activity.publish(session, "closed", conversation.id)


def silent(session: Session, cutoff: datetime) -> list[str]:
    """The conversations with the bot where the young person wrote nothing since `cutoff`."""
    return list(
        session.exec(
            select(Conversation.id).where(
                Conversation.status == Status.BOT, col(Conversation.last_activity_at) < cutoff
            )
        )
    )


def still_silent(conversation: Conversation | None, cutoff: datetime) -> bool:
    """Checked again on the locked row: nobody wrote or took it over meanwhile."""
    return (
        conversation is not None
        and conversation.status == Status.BOT
        and conversation.contact_id is not None
        and conversation.last_activity_at < cutoff
    )


# the listeners' side ---------------------------------------------------------------------------


class Refusal(StrEnum):
    """Why a person's action on a conversation cannot happen now."""

    NOT_FOUND = "not_found"
    INACTIVE = "inactive"  # the acting (or target) account is disabled
    FULL = "full"  # the operator holds as many conversations as they may
    YOURS_ALREADY = "yours_already"
    TAKEN = "taken"  # another listener was quicker
    NOT_WAITING = "not_waiting"
    NOT_HELD = "not_held"
    NOT_YOURS = "not_yours"
    SAME_HOLDER = "same_holder"  # a transfer to whoever holds it
    NO_TARGET = "no_target"  # a transfer to nobody, or to a disabled account
    CLAIM_TO_RETURN = "claim_to_return"  # a listener gives back what they do not hold
    CLAIM_TO_CLOSE = "claim_to_close"  # a listener closes what they do not hold
    CLOSED = "closed"


@dataclass
class Refused(Exception):
    """The action cannot happen now: `why`, and the names and numbers to explain it."""

    why: Refusal
    holder: str | None = None  # who holds the conversation, when that is the reason
    full: tuple[str, str] | None = None  # FULL: the id and name of whose room is full
    held: int = 0
    capacity: int = 0


def held_count(session: Session, operator_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.status == Status.LISTENER, Conversation.listener_id == operator_id)
    )
    return int(session.exec(query).one())


def _lock_operator(session: Session, operator_id: str) -> Operator:
    """Serialise one operator's hand-overs (capacity checks) on PostgreSQL; SQLite's writes are."""
    query = select(Operator).where(Operator.id == operator_id).with_for_update()
    found = session.exec(query).first()
    if found is None or not found.active:
        raise Refused(Refusal.INACTIVE)
    return found


def _check_room(session: Session, operator: Operator, capacity: int) -> None:
    held = held_count(session, operator.id)
    if held >= capacity:
        name = operator.display_name or operator.username
        raise Refused(Refusal.FULL, full=(operator.id, name), held=held, capacity=capacity)


def _holder_name(session: Session, conversation: Conversation) -> str | None:
    if conversation.listener_id is None:
        return None
    found = session.get(Operator, conversation.listener_id)
    return (found.display_name or found.username) if found else None


def _locked(session: Session, conversation_id: str) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    conversation = session.exec(query).first()
    if conversation is None:
        raise Refused(Refusal.NOT_FOUND)
    return conversation


def _may_change(conversation: Conversation, actor: Operator) -> None:
    """Only the listener holding it, or a coordinator, changes a held conversation."""
    if conversation.status != Status.LISTENER:
        raise Refused(Refusal.NOT_HELD)
    if conversation.listener_id != actor.id and actor.role != "coordinator":
        raise Refused(Refusal.NOT_YOURS)


def claim(
    session: Session, conversation_id: str, operator: Operator, capacity: int, now: datetime
) -> Conversation:
    """Take a waiting conversation; if someone was quicker, say who."""
    me = _lock_operator(session, operator.id)
    _check_room(session, me, capacity)
    result = session.execute(
        update(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.status) == Status.WAITING)
        .values(status=Status.LISTENER, listener_id=me.id, claimed_at=now)
    )
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    if conversation is None:
        raise Refused(Refusal.NOT_FOUND)
    if getattr(result, "rowcount", 0) != 1:
        if conversation.status != Status.LISTENER:
            raise Refused(Refusal.NOT_WAITING)
        mine = conversation.listener_id == me.id
        why = Refusal.YOURS_ALREADY if mine else Refusal.TAKEN
        raise Refused(why, holder=_holder_name(session, conversation))
    audit.record(session, "claimed", operator_id=me.id, conversation_id=conversation_id)
    activity.publish(session, "claimed", conversation_id, conversation.priority)
    return conversation


def transfer(
    session: Session,
    conversation_id: str,
    actor: Operator,
    target_id: str,
    capacity_of: dict[str, int],
    now: datetime,
) -> Operator:
    """Hand a held conversation to another operator (the holder, or a coordinator, may)."""
    conversation = _locked(session, conversation_id)
    _may_change(conversation, actor)
    if target_id == conversation.listener_id:
        raise Refused(Refusal.SAME_HOLDER)
    target = session.get(Operator, target_id)
    if target is None or not target.active:
        raise Refused(Refusal.NO_TARGET)
    target = _lock_operator(session, target.id)
    _check_room(session, target, capacity_of.get(target.id, 1))
    previous = conversation.listener_id
    conversation.listener_id = target.id
    conversation.claimed_at = now
    session.add(conversation)
    audit.record(
        session,
        "transferred",
        operator_id=actor.id,
        conversation_id=conversation.id,
        to=target.id,
        **{"from": previous},
    )
    activity.publish(session, "transferred", conversation.id, conversation.priority)
    return target


def release(session: Session, conversation_id: str, actor: Operator, now: datetime) -> None:
    """Put a held conversation back in the queue, in its old place."""
    conversation = _locked(session, conversation_id)
    _may_change(conversation, actor)
    _to_queue(session, conversation, actor.id, now)


def release_all(
    session: Session, operator: Operator, *, by: str | None, now: datetime
) -> list[str]:
    """Every conversation the operator holds goes back to the queue (account disabled)."""
    query = (
        select(Conversation)
        .where(Conversation.status == Status.LISTENER, Conversation.listener_id == operator.id)
        .with_for_update()
    )
    released = []
    for conversation in session.exec(query).all():
        _to_queue(session, conversation, by, now, reason="account_disabled")
        released.append(conversation.id)
    return released


def _to_queue(
    session: Session, conversation: Conversation, by: str | None, now: datetime, **detail: str
) -> None:
    previous = conversation.listener_id
    conversation.status = Status.WAITING
    conversation.listener_id = None
    conversation.claimed_at = None
    conversation.escalated_at = conversation.escalated_at or now
    if conversation.priority is None:
        conversation.priority, conversation.priority_rank = Priority.NORMAL, Priority.NORMAL.rank
    session.add(conversation)
    audit.record(
        session,
        "released",
        operator_id=by,
        conversation_id=conversation.id,
        **{"from": previous},
        **detail,
    )
    activity.publish(session, "released", conversation.id, conversation.priority)


def give_back(session: Session, conversation_id: str, actor: Operator, now: datetime) -> None:
    """The bot answers again (e.g. the young person only needed information)."""
    conversation = _locked(session, conversation_id)
    if conversation.status == Status.WAITING:
        if actor.role != "coordinator":
            raise Refused(Refusal.CLAIM_TO_RETURN)
    else:
        _may_change(conversation, actor)
    conversation.status = Status.BOT
    conversation.listener_id = None
    conversation.claimed_at = None
    conversation.escalated_at = None
    conversation.priority, conversation.priority_rank = None, rank(None)
    conversation.escalation_reason = None
    conversation.last_activity_at = now
    session.add(conversation)
    audit.record(session, "returned_to_bot", operator_id=actor.id, conversation_id=conversation.id)
    activity.publish(session, "returned", conversation.id)


def close_by(
    session: Session,
    conversation_id: str,
    actor: Operator,
    outcome: str,
    topics: list[str],
    now: datetime,
) -> None:
    """A person closes, with an outcome and topic tags (they feed the statistics)."""
    conversation = _locked(session, conversation_id)
    if conversation.status == Status.CLOSED:
        raise Refused(Refusal.CLOSED)
    if conversation.status != Status.LISTENER and actor.role != "coordinator":
        raise Refused(Refusal.CLAIM_TO_CLOSE)
    if conversation.status == Status.LISTENER:
        _may_change(conversation, actor)
    conversation.status = Status.CLOSED
    conversation.closed_at = now
    conversation.outcome = outcome
    conversation.topics = list(topics)
    conversation.listener_id = conversation.listener_id or actor.id  # who handled it
    session.add(conversation)
    audit.record(
        session,
        "closed",
        operator_id=actor.id,
        conversation_id=conversation.id,
        outcome=outcome,
        topics=list(topics),
    )
    activity.publish(session, "closed", conversation.id)
