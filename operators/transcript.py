"""A conversation's history as the dashboard shows it: messages, notes, earlier conversations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, or_, select

from bot import alerts
from bot.models import Contact, Conversation, Message, Note, Operator
from operators import places

MAX_MESSAGES = 1000
PREVIOUS = 5
PREVIOUS_MESSAGES = 200


@dataclass
class Thread:
    conversation: Conversation
    messages: list[Message]
    notes: list[Note] = field(default_factory=list)


def operator_names(session: Session) -> dict[str, str]:
    return {o.id: o.display_name or o.username for o in session.exec(select(Operator))}


def messages(session: Session, conversation_id: str, limit: int = MAX_MESSAGES) -> list[Message]:
    """The last `limit` messages, oldest first."""
    query = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id, Message.kind != alerts.KIND
        )  # alerts went to coordinators
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(limit)
    )
    return list(reversed(session.exec(query).all()))


def notes(session: Session, conversation_id: str, *, viewer: Operator) -> list[Note]:
    """The notes this operator may read: a note for one listener only reaches them (and the
    coordinators)."""
    query = (
        select(Note).where(Note.conversation_id == conversation_id).order_by(col(Note.created_at))
    )
    if viewer.role != "coordinator":
        query = query.where(
            or_(col(Note.for_operator_id).is_(None), col(Note.for_operator_id) == viewer.id)
        )
    return list(session.exec(query))


def previous(session: Session, conversation: Conversation, *, viewer: Operator) -> list[Thread]:
    """The same young person's earlier conversations, newest first."""
    if conversation.contact_id is None:
        return []
    query = (
        select(Conversation)
        .where(
            Conversation.contact_id == conversation.contact_id,
            Conversation.id != conversation.id,
            col(Conversation.opened_at) <= conversation.opened_at,
        )
        .order_by(col(Conversation.opened_at).desc())
        .limit(PREVIOUS)
    )
    return [
        Thread(c, messages(session, c.id, PREVIOUS_MESSAGES), notes(session, c.id, viewer=viewer))
        for c in session.exec(query)
    ]


def contact_of(session: Session, conversation: Conversation) -> Contact | None:
    return session.get(Contact, conversation.contact_id) if conversation.contact_id else None


def as_text(
    conversation: Conversation,
    contact: Contact | None,
    rows: list[Message],
    names: dict[str, str],
    clock: object,
) -> str:
    """A plain-text transcript for export (pseudonym only, never the address)."""
    stamp = clock if callable(clock) else str
    who = contact.pseudonym if contact else "anonimo"
    lines = [
        f"Conversazione {conversation.id} — {who} — canale {conversation.channel}",
        f"Aperta: {stamp(conversation.opened_at)}  Stato: {conversation.status}",
        f"Esito: {conversation.outcome or '-'}  Temi: {', '.join(conversation.topics) or '-'}",
        "",
    ]
    for m in rows:
        if m.author == "listener":
            author = names.get(m.operator_id or "", "volontario/a")
        else:
            author = {"contact": who, "bot": "bot", "system": "sistema"}.get(m.author, m.author)
        status = "" if m.direction == "in" else f" [{m.status}]"
        lines.append(f"[{stamp(m.created_at)}] {author}{status}: {m.body}")
        for item in m.media:
            place = places.of(m.id, [item])
            if place is not None:  # the export is audited: the location is written out
                label = f"{place.label} — " if place.label else ""
                lines.append(f"    posizione: {label}{place.coordinates} {place.map_url}")
            else:
                lines.append(f"    allegato: {item.get('name') or item.get('type') or 'file'}")
    return "\n".join(lines) + "\n"
