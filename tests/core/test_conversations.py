"""The lifecycle of a conversation: its vocabulary, and what the inbox does with the engine's
decisions."""

from __future__ import annotations

import pytest

from bot import conversations, inbox
from bot.conversations import Holder, Priority, Status
from bot.db import write_session
from bot.inbox import Receipt, receive
from bot.models import Contact, Conversation, utcnow
from bot.runtime import Runtime
from flows.events import Closed
from tests.core.helpers import conversation, inbound


def test_the_engine_sees_who_answers_for_every_status() -> None:
    assert {status: conversations.holder(status) for status in Status} == {
        Status.BOT: Holder.BOT,
        Status.WAITING: Holder.WAITING,
        Status.LISTENER: Holder.LISTENER,
        Status.CLOSED: Holder.BOT,  # a closed conversation is not answered: a new one opens
    }


def test_the_queue_orders_crisis_then_high_then_normal_then_none() -> None:
    ranks = [conversations.rank(p) for p in (Priority.CRISIS, "high", Priority.NORMAL, None)]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 4


def test_an_event_the_inbox_does_not_know_is_refused_not_dropped(rt: Runtime) -> None:
    """apply() matches every event type and ends in assert_never: mypy proves a new type of
    the Event union is handled, and at run time an unknown object stops the transaction."""
    receipt = receive(rt, inbound("ciao"))
    unknown = object()
    with pytest.raises(AssertionError), write_session(rt.db) as session:
        found = session.get(Conversation, receipt.conversation_id)
        assert found is not None and found.contact_id is not None
        contact = session.get(Contact, found.contact_id)
        assert contact is not None
        events = [Closed("no_response"), unknown]  # the close is undone with the rest
        inbox.apply(
            rt,
            session,
            contact,
            found,
            events,  # type: ignore[arg-type]
            utcnow(),
            Receipt(duplicate=False),
        )
    assert conversation(rt, receipt.conversation_id).status == Status.BOT  # rolled back
