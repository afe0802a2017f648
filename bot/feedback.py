"""Young people's feedback: the question after a listener's close, and its anonymous answers.

When a listener closes a conversation (not a crisis), the bot asks "was it useful? 1-5" — at most
once in 30 days per contact, only when service.ask_feedback is on and the message can still
reach them. The answer comes in a new conversation (the old one is closed): it starts with the
question pending (flows.feedback), for ANSWER_HOURS. Answers are stored in Feedback with the
outcome and the month only: no conversation, no contact, no time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import outbox
from bot.models import Contact, Conversation, Feedback
from bot.runtime import Runtime
from bot.stats.period import month_of
from flows import feedback
from flows.engine import Context
from flows.events import FeedbackGiven
from flows.state import FlowState

ASK_AGAIN_AFTER = timedelta(days=30)
ANSWER_HOURS = 24  # the question waits this long for an answer
# WhatsApp takes free text only within 24 hours of the young person's last message: ask only
# well inside that window (the question is not worth a re-engagement template).
WINDOW = timedelta(hours=23)


def may_ask(
    rt: Runtime,
    contact: Contact | None,
    conversation: Conversation,
    now: datetime,
    *,
    crisis_outcome: bool,
) -> bool:
    """Whether the question may follow this close."""
    if not rt.settings.service.ask_feedback or contact is None or crisis_outcome:
        return False
    if conversation.crisis_at is not None or conversation.priority == "crisis":
        return False
    if contact.opted_out_at or contact.erase_requested_at or contact.erase_due_at:
        return False
    asked = contact.feedback_asked_at
    if asked is not None and now - asked < ASK_AGAIN_AFTER:
        return False
    if conversation.channel == "whatsapp":
        last = conversation.last_inbound_at
        return last is not None and now - last < WINDOW
    return True


def ask(
    rt: Runtime,
    session: Session,
    conversation: Conversation,
    now: datetime,
    *,
    crisis_outcome: bool,
) -> bool:
    """After a listener's close: queue the question, if it may be asked. True if it was."""
    contact = session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    if not may_ask(rt, contact, conversation, now, crisis_outcome=crisis_outcome):
        return False
    assert contact is not None
    ctx = Context(now=now, hours=rt.hours, emergency=rt.emergency, lang=contact.language)
    text = feedback.question(rt.pack, ctx, contact.language or "it")
    outbox.queue(session, conversation, text, author="bot", now=now, meta={"feedback": "asked"})
    contact.feedback_asked_at = now
    contact.feedback_outcome = conversation.outcome
    session.add(contact)
    return True


def resume(rt: Runtime, contact: Contact, conversation: Conversation, now: datetime) -> None:
    """A new conversation of a contact asked recently: it opens with the question pending."""
    outcome, asked = contact.feedback_outcome, contact.feedback_asked_at
    if outcome is None or asked is None:
        return
    contact.feedback_outcome = None  # one chance: the first message after the question
    until = asked + timedelta(hours=ANSWER_HOURS)
    if now >= until:
        return
    zone = ZoneInfo(rt.settings.service.timezone)
    state = FlowState.from_json(conversation.flow_state)
    state.feedback = feedback.start(outcome, month_of(asked, zone), until)
    conversation.flow_state = state.to_json()


def store(session: Session, given: FeedbackGiven) -> None:
    """Keep an answer: the outcome, the month, the score and "again", nothing else."""
    session.add(
        Feedback(
            month=given.month[:7], outcome=given.outcome[:64], score=given.score, again=given.again
        )
    )
