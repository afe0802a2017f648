"""The simulator: an operator writes as a young person on the web channel."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from bot.db import read_session
from bot.models import Contact, Conversation, Message
from bot.runtime import Runtime
from bot.worker import deliver_due
from tests.dashboard.conftest import Dash, add_operator


def _web_conversations(rt: Runtime) -> list[Conversation]:
    with read_session(rt.db) as session:
        return list(session.exec(select(Conversation).where(Conversation.channel == "web")))


def test_a_simulated_message_goes_through_the_bot(
    rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    anna = dash_factory("anna")
    response = anna.post("/simulator/send", {"text": "ciao, come funziona?"})
    assert response.status_code == 302 and "ciao" not in response.headers["Location"]
    (conversation,) = _web_conversations(rt)
    deliver_due(rt)  # the worker delivers web replies without a provider
    with read_session(rt.db) as session:
        replies = list(
            session.exec(
                select(Message).where(
                    Message.conversation_id == conversation.id, Message.direction == "out"
                )
            )
        )
        contact = session.get(Contact, conversation.contact_id)
    assert replies and all(m.status == "delivered" for m in replies)
    assert contact is not None and contact.address.startswith("sim-")
    page = anna.get("/simulator/").text
    assert "ciao, come funziona?" in page and replies[0].body.split()[0] in page
    assert contact.address not in page  # the simulated address stays in the session
    live = anna.get("/simulator/live", headers={"X-Requested-With": "fetch"}).text
    assert 'id="sim-thread"' in live and "<html" not in live


def test_the_same_browser_keeps_being_the_same_young_person(
    rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    anna = dash_factory("anna")
    anna.post("/simulator/send", {"text": "primo"})
    anna.post("/simulator/send", {"text": "secondo"}, fetch=True)
    assert len(_web_conversations(rt)) == 1
    anna.post("/simulator/new")
    anna.post("/simulator/send", {"text": "sono un'altra persona"})
    with read_session(rt.db) as session:
        assert len(list(session.exec(select(Contact).where(Contact.channel == "web")))) == 2


def test_a_listener_reply_reaches_the_simulator(
    rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    anna = dash_factory("anna")
    anna.post("/simulator/send", {"text": "voglio parlare con una persona"})
    (conversation,) = _web_conversations(rt)
    if conversation.status != "waiting":  # the bot may first ask; escalate as it would
        from bot.conversations import Priority, escalate
        from bot.db import write_session
        from bot.models import utcnow

        with write_session(rt.db) as session:
            found = session.get(Conversation, conversation.id)
            assert found is not None
            escalate(rt, session, found, Priority.NORMAL, "asked_for_person", utcnow())
    assert conversation.id in anna.get("/").text  # it waits in the real queue
    anna.post(f"/conversations/{conversation.id}/claim")
    anna.post(f"/conversations/{conversation.id}/reply", {"body": "Ciao, sono Anna!"})
    deliver_due(rt)
    page = anna.get("/simulator/").text
    assert "Ciao, sono Anna!" in page and "apri nella dashboard" in page


def test_empty_or_too_long_messages_are_refused(
    rt: Runtime, dash_factory: Callable[..., Dash]
) -> None:
    add_operator(rt, "anna")
    anna = dash_factory("anna")
    assert anna.post("/simulator/send", {"text": "   "}, fetch=True).status_code == 400
    assert anna.post("/simulator/send", {"text": "x" * 4001}, fetch=True).status_code == 400
    assert _web_conversations(rt) == []
