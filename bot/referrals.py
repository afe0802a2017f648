"""Referrals: a young person pointed to a local service, by the bot or a listener.

A referral keeps the service, the channel, who referred (bot or listener), the topic and the
time: no text and no address. It outlives anonymisation and erasure, which only cut its link to
the conversation, so the network can be told how many young people were sent where.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.models import Conversation, Referral
from bot.models import Service as Row

BY = ("bot", "listener")


class ReferralError(Exception):
    """The referral cannot be counted; the message (Italian) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def record(
    session: Session,
    conversation: Conversation,
    service_id: str,
    *,
    by: str,
    now: datetime,
    topic: str | None = None,
) -> Referral:
    """Count a referral of this conversation to an active service of the directory."""
    assert by in BY
    service = session.get(Row, service_id[:64])
    if service is None or not service.active:
        raise ReferralError("Questo servizio non è più nell'elenco: scegline un altro.")
    if topic is not None and topic not in service.topics:
        topic = None
    referral = Referral(
        service_id=service.id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        by=by,
        topic=topic,
        at=now,
    )
    session.add(referral)
    return referral


def settle_topics(session: Session, conversation: Conversation) -> None:
    """At close: a referral with no topic takes the first of the conversation's topics that its
    service helps with (the listener's tags say what the conversation was about)."""
    if not conversation.topics:
        return
    query = (
        select(Referral, Row)
        .join(Row, col(Row.id) == Referral.service_id)
        .where(Referral.conversation_id == conversation.id, col(Referral.topic).is_(None))
    )
    for referral, service in session.exec(query):
        referral.topic = next((t for t in conversation.topics if t in service.topics), None)
        session.add(referral)


def unlink(session: Session, conversation_id: str) -> None:
    """Anonymisation and erasure: the referrals stay, no longer tied to the conversation."""
    session.execute(
        update(Referral)
        .where(col(Referral.conversation_id) == conversation_id)
        .values(conversation_id=None)
        .execution_options(synchronize_session=False)
    )


def of_conversation(session: Session, conversation_id: str) -> list[Referral]:
    query = select(Referral).where(Referral.conversation_id == conversation_id)
    return list(session.exec(query.order_by(col(Referral.at))))


def counts(session: Session) -> dict[str, int]:
    """Referrals per service id, every one ever counted."""
    query = select(Referral.service_id, func.count()).group_by(col(Referral.service_id))
    return {service_id: int(n) for service_id, n in session.exec(query)}
