"""The hot path's cost: how many statements receive() sends for one message."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from bot import inbox
from bot.conversations import Priority, Status
from bot.inbox import receive
from bot.models import Conversation, Message
from bot.runtime import Runtime
from flows import engine
from flows.triage import triage
from tests.core.helpers import inbound, outbound, rows

MOST = 4  # a returning young person's message answered by the bot (BEGIN/COMMIT aside)


def _counted(rt: Runtime, text: str) -> list[str]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement != "BEGIN IMMEDIATE":
            sent.append(statement.split(None, 1)[0])

    event.listen(rt.db, "before_cursor_execute", count)
    try:
        receive(rt, inbound(text))
    finally:
        event.remove(rt.db, "before_cursor_execute", count)
    return sent


def test_a_returning_message_and_its_replies_cost_few_statements(rt: Runtime) -> None:
    receive(rt, inbound("ciao"))
    sent = _counted(rt, "come funziona il servizio?")
    assert len(sent) <= MOST, sent
    assert sent.count("INSERT") == 2  # the change feed; the message with its replies at once
    assert sent.count("UPDATE") == 1  # the conversation only: the window is counted there
    assert len(outbound(rt)) >= 2  # ...and the replies were queued


def test_presence_is_counted_only_when_the_bot_hands_over(rt: Runtime) -> None:
    receive(rt, inbound("ciao"))
    answered = _counted(rt, "a che ora siete aperti?")
    assert len(answered) <= MOST, answered  # a FAQ answer: nobody to count
    handed = _counted(rt, "ho bisogno di parlare con qualcuno")
    assert len(handed) > len(answered)  # who is on shift decides what the bot says
    (conversation,) = rows(rt, Conversation)
    assert conversation.status == Status.WAITING


def test_the_message_is_read_before_the_transaction_and_only_once(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Triage (pure) runs before any lock is taken; the engine uses that reading."""
    receive(rt, inbound("ciao"))
    reads: list[bool] = []
    pool = rt.db.pool
    assert isinstance(pool, QueuePool)

    def reading(pack: Any, text: str) -> Any:
        reads.append(pool.checkedout() == 0)  # no connection held: no transaction
        return triage(pack, text)

    def again(*_: Any) -> Any:
        raise AssertionError("the engine read the message a second time")

    monkeypatch.setattr(inbox, "triage", reading)
    monkeypatch.setattr(engine, "triage", again)
    receipt = receive(rt, inbound("mi voglio ammazzare"))
    assert reads == [True]
    assert receipt.escalated == Priority.CRISIS


def test_a_duplicate_is_refused_by_the_unique_insert_and_nothing_of_it_stays(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao", external_id="SM-once"))
    replies = len(outbound(rt))
    again = receive(rt, inbound("ciao", external_id="SM-once"))
    assert again.duplicate and again.message_id == first.message_id
    assert len(outbound(rt)) == replies
    assert len(rows(rt, Message, Message.direction == "in")) == 1
