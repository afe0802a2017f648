"""What a listener sends or writes down: replies through the outbox, the re-engagement template,
private notes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import activity, audit, figures, outbox
from bot.channels.whatsapp import ReengageError, queue_reengagement
from bot.config import Settings
from bot.conversations import Status
from bot.models import Contact, Conversation, Message, Note, Operator
from operators import window
from operators.handover import HandoverError

MAX_REPLY = 10_000
MAX_NOTE = 5_000


def _check_writable(session: Session, conversation: Conversation, operator: Operator) -> None:
    """Refuse (HandoverError) unless this operator may write to the young person now."""
    contact = session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    if contact is None or contact.erase_requested_at or contact.erase_due_at:
        raise HandoverError("Ha chiesto di cancellare i suoi dati: non si può rispondere.")
    if contact.opted_out_at is not None:
        raise HandoverError("Ha scritto STOP: non riceverà messaggi finché non scrive di nuovo.")
    if conversation.status != Status.LISTENER or conversation.listener_id != operator.id:
        raise HandoverError("Per rispondere prendi in carico la conversazione.")


def reply(
    session: Session,
    conversation: Conversation,
    operator: Operator,
    body: str,
    now: datetime,
    *,
    quick_reply: str | None = None,
) -> list[Message]:
    """Queue the listener's message on the young person's channel."""
    text = body.strip()
    if not text:
        raise HandoverError("Il messaggio è vuoto.")
    if len(text) > MAX_REPLY:
        raise HandoverError(f"Il messaggio è troppo lungo (massimo {MAX_REPLY} caratteri).")
    _check_writable(session, conversation, operator)
    if window.applies(conversation) and not window.is_open(conversation, now):
        raise HandoverError(
            "Sono passate più di 24 ore dall'ultimo messaggio su WhatsApp: "
            "si può inviare solo il messaggio di ricontatto."
        )
    rows = outbox.enqueue(
        session, conversation, text, author="listener", operator_id=operator.id, now=now
    )
    figures.replied(conversation, now)
    session.flush()
    detail: dict[str, object] = {"messages": [r.id for r in rows]}
    if quick_reply:
        detail["quick_reply"] = quick_reply
    audit.record(
        session, "replied", operator_id=operator.id, conversation_id=conversation.id, **detail
    )
    activity.publish(session, "message", conversation.id, conversation.priority)
    return rows


def reengage(
    session: Session,
    conversation: Conversation,
    operator: Operator,
    now: datetime,
    settings: Settings,
) -> Message:
    """Past WhatsApp's window: queue the approved template inviting the young person back.

    The WhatsApp channel queues it (once) and writes the audit log and the change feed.
    """
    _check_writable(session, conversation, operator)
    if not window.applies(conversation):
        raise HandoverError("Il messaggio di ricontatto serve solo su WhatsApp.")
    if window.is_open(conversation, now):
        raise HandoverError("La finestra di 24 ore è ancora aperta: puoi scrivere normalmente.")
    try:
        return queue_reengagement(session, conversation, operator.id, settings.twilio, now=now)
    except ReengageError as exc:
        raise HandoverError(str(exc)) from exc


def add_note(
    session: Session, conversation: Conversation, operator: Operator, body: str, now: datetime
) -> Note:
    """A private note for the listeners: never sent to the young person."""
    text = body.strip()
    if not text:
        raise HandoverError("La nota è vuota.")
    if len(text) > MAX_NOTE:
        raise HandoverError(f"La nota è troppo lunga (massimo {MAX_NOTE} caratteri).")
    held_by_me = conversation.status == Status.LISTENER and conversation.listener_id == operator.id
    if not held_by_me and operator.role != "coordinator":
        raise HandoverError("Puoi annotare solo le conversazioni che hai in carico.")
    if conversation.contact_id is None or conversation.outcome == "erased":
        raise HandoverError("La conversazione è stata anonimizzata.")
    contact = session.get(Contact, conversation.contact_id)
    if contact is None or contact.erase_requested_at or contact.erase_due_at:
        raise HandoverError("Ha chiesto di cancellare i suoi dati: non si possono aggiungere note.")
    note = Note(conversation_id=conversation.id, operator_id=operator.id, body=text, created_at=now)
    session.add(note)
    session.flush()
    audit.record(
        session, "noted", operator_id=operator.id, conversation_id=conversation.id, note=note.id
    )
    activity.publish(session, "note", conversation.id)
    return note
