"""The hot path's cost: how many statements receive() sends for one message."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool
from sqlmodel import select

from bot import inbox
from bot.conversations import Priority, Status
from bot.db import write_changes, write_session
from bot.inbox import receive
from bot.models import Contact, Conversation, Message
from bot.runtime import Runtime
from flows import engine
from flows.triage import triage
from tests.core.helpers import contact, conversation, inbound, outbound, rows

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


def _updates(rt: Runtime) -> tuple[list[str], Any]:
    """The UPDATE statements sent while the returned listener is on (remove it after)."""
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE"):
            sent.append(statement)

    event.listen(rt.db, "before_cursor_execute", keep)
    return sent, keep


def test_write_changes_sets_only_the_columns_that_changed(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao"))
    sent, keep = _updates(rt)
    try:
        with write_session(rt.db) as session:
            loaded = session.get(Conversation, receipt.conversation_id)
            assert loaded is not None
            loaded.returning = True  # its column is named apart: returning_contact
            loaded.channel_data = {**loaded.channel_data, "thread": "t-1"}
            loaded.outcome = loaded.outcome  # assigned its own value: not a change
            write_changes(session, loaded)
            assert loaded not in session  # the commit does not write it again
    finally:
        event.remove(rt.db, "before_cursor_execute", keep)
    (update,) = sent
    assert "returning_contact" in update and "channel_data" in update
    assert "outcome" not in update and "flow_state" not in update
    stored = conversation(rt, receipt.conversation_id)
    assert stored.returning is True and stored.channel_data["thread"] == "t-1"


def test_write_changes_sends_nothing_for_a_row_that_did_not_change(rt: Runtime) -> None:
    receive(rt, inbound("ciao"))
    sent, keep = _updates(rt)
    try:
        with write_session(rt.db) as session:
            assigned = session.exec(select(Contact)).one()
            untouched = session.exec(select(Conversation)).one()
            assigned.display_name = assigned.display_name
            write_changes(session, assigned)
            write_changes(session, untouched)
            assert assigned not in session
            assert untouched in session  # nothing to write at the commit either
    finally:
        event.remove(rt.db, "before_cursor_execute", keep)
    assert sent == []


def test_a_returning_person_with_the_same_name_costs_no_update_of_the_contact(
    rt: Runtime,
) -> None:
    receive(rt, inbound("ciao", display_name="Giulia"))
    sent, keep = _updates(rt)
    try:
        receive(rt, inbound("come funziona il servizio?", display_name="Giulia"))
        receive(rt, inbound("grazie", display_name="Giulia B."))
    finally:
        event.remove(rt.db, "before_cursor_execute", keep)
    assert [s.split()[1] for s in sent] == ["conversation", "contact", "conversation"]
    found = contact(rt)
    assert found is not None and found.display_name == "Giulia B."
