"""The hot path's cost: how many statements receive() sends for one message."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from bot.inbox import receive
from bot.models import Message
from bot.runtime import Runtime
from tests.core.helpers import inbound, outbound, rows

MOST = 6  # a returning young person's message answered by the bot (SQLite adds its BEGIN)


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
    assert len(outbound(rt)) >= 2  # ...and the replies were queued


def test_a_duplicate_is_refused_by_the_unique_insert_and_nothing_of_it_stays(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao", external_id="SM-once"))
    replies = len(outbound(rt))
    again = receive(rt, inbound("ciao", external_id="SM-once"))
    assert again.duplicate and again.message_id == first.message_id
    assert len(outbound(rt)) == replies
    assert len(rows(rt, Message, Message.direction == "in")) == 1
