"""The queue as listeners see it: who waits, how urgent, for how long, with which flags."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlmodel import Session, col, func, select

from bot.conversations import Priority, Status
from bot.models import Contact, Conversation, Message, Operator
from operators import places, window

PREVIEW_CHARS = 120


@dataclass
class Item:
    """One line of the queue."""

    conversation: Conversation
    pseudonym: str
    preview: str
    subject: str
    since: datetime | None  # waiting since (queue) or held since (in progress)
    holder: str | None
    crisis: bool
    window_closes_at: datetime | None
    window_closing: bool
    window_closed: bool
    awaiting_reply: bool
    place: places.Place | None = None  # the last location shared, on the card of a crisis

    @property
    def id(self) -> str:
        return self.conversation.id


def first_words(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit] + "…"


def _last_inbound(session: Session, ids: list[str]) -> dict[str, Message]:
    if not ids:
        return {}
    latest = (
        select(Message.conversation_id, func.max(Message.created_at).label("at"))
        .where(col(Message.conversation_id).in_(ids), Message.direction == "in")
        .group_by(col(Message.conversation_id))
        .subquery()
    )
    query = (
        select(Message)
        .where(Message.direction == "in")
        .join(
            latest,
            and_(
                col(Message.conversation_id) == latest.c.conversation_id,
                col(Message.created_at) == latest.c.at,
            ),
        )
    )
    return {m.conversation_id: m for m in session.exec(query)}


def _last_listener_reply(session: Session, ids: list[str]) -> dict[str, datetime]:
    if not ids:
        return {}
    query = (
        select(Message.conversation_id, func.max(Message.created_at))
        .where(col(Message.conversation_id).in_(ids), Message.author == "listener")
        .group_by(col(Message.conversation_id))
    )
    return {cid: at for cid, at in session.exec(query) if at is not None}


def _items(
    session: Session,
    rows: list[tuple[Conversation, Contact | None, Operator | None]],
    now: datetime,
    warning: timedelta,
    *,
    since_claim: bool,
) -> list[Item]:
    ids = [c.id for c, _, _ in rows]
    last_in = _last_inbound(session, ids)
    replied = _last_listener_reply(session, ids)
    shared = places.latest(session, [c.id for c, _, _ in rows if c.priority == Priority.CRISIS])
    items = []
    for conversation, contact, holder in rows:
        message = last_in.get(conversation.id)
        preview = first_words(message.body) if message and message.body.strip() else ""
        if message is not None and not preview and message.media:
            preview = (
                "[posizione condivisa]"
                if places.of(message.id, message.media)
                else f"[{len(message.media)} allegato/i]"
            )
        whatsapp = contact is not None and window.applies(conversation)
        closes = window.closes_at(conversation) if whatsapp else None
        answered = replied.get(conversation.id)
        heard = message.created_at if message else None
        items.append(
            Item(
                conversation=conversation,
                pseudonym=contact.pseudonym if contact else "anonimo",
                preview=preview,
                subject=str((message.meta or {}).get("subject", ""))[:200] if message else "",
                since=conversation.claimed_at if since_claim else conversation.escalated_at,
                holder=(holder.display_name or holder.username) if holder else None,
                crisis=conversation.priority == Priority.CRISIS,
                window_closes_at=closes,
                window_closing=bool(whatsapp and window.closing_soon(conversation, now, warning)),
                window_closed=bool(whatsapp and closes is not None and closes <= now),
                awaiting_reply=heard is not None and (answered is None or heard > answered),
                place=shared.get(conversation.id),
            )
        )
    return items


def _query(*where: object) -> object:
    return (
        select(Conversation, Contact, Operator)
        .join(Contact, col(Conversation.contact_id) == Contact.id, isouter=True)
        .join(Operator, col(Conversation.listener_id) == Operator.id, isouter=True)
        .where(*where)  # type: ignore[arg-type]
    )


def waiting(session: Session, now: datetime, warning: timedelta) -> list[Item]:
    """Waiting conversations: crisis first, then high, then normal; longest wait first."""
    query = _query(Conversation.status == Status.WAITING).order_by(  # type: ignore[attr-defined]
        col(Conversation.priority_rank).desc(), col(Conversation.escalated_at).asc()
    )
    return _items(session, list(session.exec(query)), now, warning, since_claim=False)


def held(
    session: Session,
    now: datetime,
    warning: timedelta,
    *,
    by: str | None = None,
    not_by: str | None = None,
) -> list[Item]:
    """Conversations with a listener (one listener's, or everyone else's)."""
    where = [Conversation.status == Status.LISTENER]
    if by is not None:
        where.append(Conversation.listener_id == by)
    if not_by is not None:
        where.append(Conversation.listener_id != not_by)
    query = _query(*where).order_by(  # type: ignore[attr-defined]
        col(Conversation.priority_rank).desc(), col(Conversation.claimed_at).asc()
    )
    return _items(session, list(session.exec(query)), now, warning, since_claim=True)
