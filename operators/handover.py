"""Who holds a conversation: claim, transfer, release, give back to the bot, close.

Every change is a compare-and-set on the conversation's status (exactly one of two listeners
acting at once wins, across processes), and writes the audit log and the live change feed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot import activity, audit
from bot.models import Conversation, Operator

HELD = "listener"


class HandoverError(Exception):
    """The action cannot happen now; the message (Italian) says why."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.holder = holder


def held_count(session: Session, operator_id: str) -> int:
    query = select(func.count()).select_from(Conversation).where(
        Conversation.status == HELD, Conversation.listener_id == operator_id)
    return int(session.exec(query).one())


def _lock_operator(session: Session, operator_id: str) -> Operator:
    """Serialise one operator's hand-overs (capacity checks) on PostgreSQL; SQLite's writes are."""
    query = select(Operator).where(Operator.id == operator_id).with_for_update()
    found = session.exec(query).first()
    if found is None or not found.active:
        raise HandoverError("Questo account non è attivo.")
    return found


def _check_room(session: Session, operator: Operator, capacity: int, *, you: bool) -> None:
    held = held_count(session, operator.id)
    if held >= capacity:
        who = "Hai" if you else f"{operator.display_name or operator.username} ha"
        raise HandoverError(f"{who} già {held} conversazioni in carico (massimo {capacity}): "
                            "chiudine o rilasciane una prima.")


def _holder_name(session: Session, conversation: Conversation | None) -> str | None:
    if conversation is None or conversation.listener_id is None:
        return None
    holder = session.get(Operator, conversation.listener_id)
    return (holder.display_name or holder.username) if holder else None


def _locked(session: Session, conversation_id: str) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    conversation = session.exec(query).first()
    if conversation is None:
        raise HandoverError("Conversazione non trovata.")
    return conversation


def claim(session: Session, conversation_id: str, operator: Operator, capacity: int,
          now: datetime) -> Conversation:
    """Take a waiting conversation; if someone was quicker, say who."""
    me = _lock_operator(session, operator.id)
    _check_room(session, me, capacity, you=True)
    result = session.execute(
        update(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.status) == "waiting")
        .values(status=HELD, listener_id=me.id, claimed_at=now)
    )
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    if getattr(result, "rowcount", 0) != 1 or conversation is None:
        if conversation is None:
            raise HandoverError("Conversazione non trovata.")
        if conversation.status == HELD:
            holder = _holder_name(session, conversation)
            if conversation.listener_id == me.id:
                raise HandoverError("Questa conversazione è già in carico a te.", holder=holder)
            raise HandoverError(f"{holder} l'ha già presa in carico.", holder=holder)
        raise HandoverError("Questa conversazione non è più in coda.")
    audit.record(session, "claimed", operator_id=me.id, conversation_id=conversation_id)
    activity.publish(session, "claimed", conversation_id, conversation.priority)
    return conversation


def _may_change(conversation: Conversation, actor: Operator) -> None:
    if conversation.status != HELD:
        raise HandoverError("Questa conversazione non è in carico a nessuno.")
    if conversation.listener_id != actor.id and actor.role != "coordinator":
        raise HandoverError("Questa conversazione non è in carico a te.")


def transfer(session: Session, conversation_id: str, actor: Operator, target_id: str,
             capacity_of: dict[str, int], now: datetime) -> Operator:
    """Hand a held conversation to another operator (the holder, or a coordinator, may)."""
    conversation = _locked(session, conversation_id)
    _may_change(conversation, actor)
    if target_id == conversation.listener_id:
        raise HandoverError("La conversazione è già in carico a questa persona.")
    target = session.get(Operator, target_id)
    if target is None or not target.active:
        raise HandoverError("Scegli un operatore attivo.")
    target = _lock_operator(session, target.id)
    _check_room(session, target, capacity_of.get(target.id, 1), you=target.id == actor.id)
    previous = conversation.listener_id
    conversation.listener_id = target.id
    conversation.claimed_at = now
    session.add(conversation)
    audit.record(session, "transferred", operator_id=actor.id, conversation_id=conversation.id,
                 to=target.id, **{"from": previous})
    activity.publish(session, "transferred", conversation.id, conversation.priority)
    return target


def release(session: Session, conversation_id: str, actor: Operator, now: datetime) -> None:
    """Put a held conversation back in the queue, in its old place."""
    conversation = _locked(session, conversation_id)
    _may_change(conversation, actor)
    _to_queue(session, conversation, actor.id, now)


def _to_queue(session: Session, conversation: Conversation, by: str | None, now: datetime,
              **detail: str) -> None:
    previous = conversation.listener_id
    conversation.status = "waiting"
    conversation.listener_id = None
    conversation.claimed_at = None
    conversation.escalated_at = conversation.escalated_at or now
    if conversation.priority is None:
        conversation.priority, conversation.priority_rank = "normal", 1
    session.add(conversation)
    audit.record(session, "released", operator_id=by, conversation_id=conversation.id,
                 **{"from": previous}, **detail)
    activity.publish(session, "released", conversation.id, conversation.priority)


def release_all(session: Session, operator: Operator, *, by: str | None,
                now: datetime) -> list[str]:
    """Every conversation the operator holds goes back to the queue (account disabled)."""
    query = select(Conversation).where(Conversation.status == HELD,
                                       Conversation.listener_id == operator.id).with_for_update()
    released = []
    for conversation in session.exec(query).all():
        _to_queue(session, conversation, by, now, reason="account_disabled")
        released.append(conversation.id)
    return released


def give_back(session: Session, conversation_id: str, actor: Operator, now: datetime) -> None:
    """The bot answers again (e.g. the young person only needed information)."""
    conversation = _locked(session, conversation_id)
    if conversation.status == "waiting":
        if actor.role != "coordinator":
            raise HandoverError("Prendi in carico la conversazione prima di restituirla al bot.")
    else:
        _may_change(conversation, actor)
    conversation.status = "bot"
    conversation.listener_id = None
    conversation.claimed_at = None
    conversation.escalated_at = None
    conversation.priority, conversation.priority_rank = None, 0
    conversation.escalation_reason = None
    conversation.last_activity_at = now
    session.add(conversation)
    audit.record(session, "returned_to_bot", operator_id=actor.id, conversation_id=conversation.id)
    activity.publish(session, "returned", conversation.id)


def close(session: Session, conversation_id: str, actor: Operator, outcome: str,
          topics: list[str], now: datetime) -> None:
    """Close with an outcome and topic tags (they feed the statistics)."""
    conversation = _locked(session, conversation_id)
    if conversation.status == "closed":
        raise HandoverError("La conversazione è già chiusa.")
    if conversation.status != HELD and actor.role != "coordinator":
        raise HandoverError("Prendi in carico la conversazione prima di chiuderla.")
    if conversation.status == HELD:
        _may_change(conversation, actor)
    conversation.status = "closed"
    conversation.closed_at = now
    conversation.outcome = outcome
    conversation.topics = list(topics)
    conversation.listener_id = conversation.listener_id or actor.id  # who handled it
    session.add(conversation)
    audit.record(session, "closed", operator_id=actor.id, conversation_id=conversation.id,
                 outcome=outcome, topics=list(topics))
    activity.publish(session, "closed", conversation.id)
