"""The gentle close: conversations with the bot where the young person stopped answering."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.inbox import receive
from bot.models import utcnow
from bot.runtime import Runtime
from bot.worker import close_silent
from tests.core.helpers import conversation, inbound, outbound


def test_a_silent_conversation_with_the_bot_is_closed_gently(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao"))
    later = utcnow() + timedelta(minutes=rt.pack.no_response_minutes + 1)
    assert close_silent(rt, utcnow()) == 0  # not silent long enough yet
    assert close_silent(rt, later) == 1
    conv = conversation(rt, receipt.conversation_id)
    assert conv.status == "closed" and conv.outcome == "bot:no_response"
    goodbye = outbound(rt, receipt.conversation_id)[-1].body
    assert goodbye == rt.pack.text("goodbye", "it").strip()


def test_a_fault_on_one_conversation_does_not_stop_the_others(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import flows.engine

    first = receive(rt, inbound("ciao", address="whatsapp:+391"))
    second = receive(rt, inbound("ciao", address="whatsapp:+392"))
    real = flows.engine.timeout

    def timeout(pack, state, ctx):  # type: ignore[no-untyped-def]
        if state and state.node == "faq":  # the conversation marked below
            raise KeyError("a fault in the flow")
        return real(pack, state, ctx)

    from bot.db import write_session
    from bot.models import Conversation

    with write_session(rt.db) as session:
        broken = session.get(Conversation, first.conversation_id)
        assert broken is not None
        broken.flow_state = {**broken.flow_state, "node": "faq"}
        session.add(broken)
    monkeypatch.setattr(flows.engine, "timeout", timeout)
    caplog.set_level(logging.ERROR)
    later = utcnow() + timedelta(minutes=rt.pack.no_response_minutes + 1)
    assert close_silent(rt, later) == 1
    assert conversation(rt, second.conversation_id).status == "closed"
    faulty = conversation(rt, first.conversation_id)
    assert faulty.status == "bot"  # tried again later, not every 30 seconds
    assert faulty.last_activity_at == later
    assert "KeyError at test_silence.py" in caplog.text
    assert close_silent(rt, later + timedelta(minutes=1)) == 0
