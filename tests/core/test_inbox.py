"""A young person writes → stored once, answered through the outbox, queued when needed."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.db import write_session
from bot.inbox import receive
from bot.models import Activity, Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from tests.core.helpers import contact, conversation, inbound, outbound, rows


def test_first_message_creates_contact_conversation_and_a_reply(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao"))
    assert not receipt.duplicate and receipt.replies
    person = contact(rt)
    assert person is not None
    assert person.pseudonym and "+39" not in person.pseudonym
    assert person.consent_at is not None  # the privacy notice went with the first answer
    conv = conversation(rt, receipt.conversation_id)
    assert conv.status == "bot" and conv.contact_id == person.id
    replies = outbound(rt, receipt.conversation_id)
    assert [m.status for m in replies] == ["queued"] * len(replies)
    assert all(m.author == "bot" for m in replies)


def test_pseudonym_is_stable_and_differs_between_people(rt: Runtime) -> None:
    receive(rt, inbound("ciao", address="whatsapp:+391"))
    receive(rt, inbound("ciao", address="whatsapp:+392"))
    receive(rt, inbound("ci sei?", address="whatsapp:+391"))
    a, b = contact(rt, "whatsapp:+391"), contact(rt, "whatsapp:+392")
    assert a and b and a.pseudonym != b.pseudonym
    assert len(rows(rt, Contact)) == 2


def test_same_external_id_is_stored_once(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao", external_id="SMdup"))
    again = receive(rt, inbound("ciao", external_id="SMdup"))
    assert again.duplicate and again.message_id == first.message_id and not again.replies
    assert len(rows(rt, Message, Message.direction == "in")) == 1


def test_same_external_id_on_another_channel_is_another_message(rt: Runtime) -> None:
    receive(rt, inbound("ciao", external_id="X1"))
    other = receive(rt, inbound("ciao", external_id="X1", channel="email", address="a@b.it"))
    assert not other.duplicate


def _at_once(n: int, fn: object) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(fn())  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def test_concurrent_duplicates_are_stored_once(rt: Runtime) -> None:
    results = _at_once(6, lambda: receive(rt, inbound("aiuto", external_id="SMsame")))
    assert sum(not r.duplicate for r in results) == 1  # type: ignore[attr-defined]
    assert len(rows(rt, Message, Message.direction == "in")) == 1


def test_concurrent_first_messages_make_one_contact_and_one_conversation(rt: Runtime) -> None:
    _at_once(6, lambda: receive(rt, inbound("ciao", address="whatsapp:+39race")))
    assert len(rows(rt, Contact)) == 1
    assert len(rows(rt, Conversation, Conversation.status != "closed")) == 1
    assert len(rows(rt, Message, Message.direction == "in")) == 6


def test_crisis_goes_to_the_top_of_the_queue_with_the_numbers(rt: Runtime) -> None:
    receipt = receive(rt, inbound("nn ce la faccio piu voglio morire"))
    conv = conversation(rt, receipt.conversation_id)
    assert conv.status == "waiting" and conv.priority == "crisis" and conv.escalated_at
    assert receipt.escalated == "crisis"
    text = " ".join(m.body for m in outbound(rt, conv.id))
    assert all(n.number in text for n in rt.emergency)
    kinds = [a.kind for a in rows(rt, Activity, Activity.conversation_id == conv.id)]
    assert "crisis" in kinds


def test_crisis_while_a_listener_holds_raises_priority_without_bot_reply(rt: Runtime) -> None:
    receipt = receive(rt, inbound("voglio parlare con un operatore"))
    with write_session(rt.db) as session:
        conv = session.get(Conversation, receipt.conversation_id)
        assert conv is not None
        conv.status, conv.priority, conv.priority_rank = "listener", "normal", 1
        session.add(conv)
    before = len(outbound(rt))
    receive(rt, inbound("stasera la faccio finita"))
    conv = conversation(rt, receipt.conversation_id)
    assert conv.status == "listener" and conv.priority == "crisis"
    assert len(outbound(rt)) == before  # the volunteer answers, not the bot


def test_mail_not_to_be_answered_is_stored_but_not_answered(rt: Runtime) -> None:
    receipt = receive(rt, inbound("Out of office", channel="email", address="a@b.it", answer=False))
    assert not receipt.replies and not outbound(rt)
    assert rows(rt, Message, Message.id == receipt.message_id)[0].body == "Out of office"


def test_quiet_inbound_still_escalates_a_crisis(rt: Runtime) -> None:
    receipt = receive(rt, inbound("mi voglio ammazzare", quiet=True))
    assert receipt.escalated == "crisis" and not receipt.replies


def test_stop_then_writing_again(rt: Runtime) -> None:
    receive(rt, inbound("ciao"))
    receive(rt, inbound("STOP"))
    person = contact(rt)
    assert person and person.opted_out_at is not None
    receive(rt, inbound("ciao di nuovo"))
    person = contact(rt)
    assert person and person.opted_out_at is None


def test_erase_after_confirmation_removes_everything_but_the_goodbye(rt: Runtime) -> None:
    from bot.worker import deliver_due, housekeeping

    web = {"channel": "web", "address": "sim:erase"}  # delivered without a provider
    receive(rt, inbound("ciao", **web))
    receive(rt, inbound("sono triste per la scuola", **web))
    receive(rt, inbound("CANCELLA", **web))
    assert contact(rt, "sim:erase").erase_requested_at is None  # type: ignore[union-attr]
    receipt = receive(rt, inbound("si", **web))
    person = contact(rt, "sim:erase")
    assert person is not None and person.erase_requested_at is not None
    left = rows(rt, Message)
    assert [m.direction for m in left] == ["out"] * len(left) and left  # only the confirmation
    assert all(m.id in receipt.replies for m in left)
    deliver_due(rt)
    housekeeping(rt)
    assert contact(rt, "sim:erase") is None and rows(rt, Message) == []
    assert all(c.contact_id is None for c in rows(rt, Conversation))


def test_logs_hold_no_address_and_no_text(rt: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receive(rt, inbound("mi voglio ammazzare, sono a via Roma 3", address="whatsapp:+393471234567"))
    assert "3471234567" not in caplog.text and "via Roma" not in caplog.text


def test_writing_after_a_closed_conversation_opens_a_new_one(rt: Runtime) -> None:
    first = receive(rt, inbound("ciao"))
    with write_session(rt.db) as session:
        conv = session.get(Conversation, first.conversation_id)
        assert conv is not None
        conv.status, conv.closed_at = "closed", utcnow() - timedelta(minutes=1)
        session.add(conv)
    second = receive(rt, inbound("ciao ancora"))
    assert second.conversation_id != first.conversation_id


def test_media_is_kept_as_references(rt: Runtime) -> None:
    media = [{"url": "https://api.twilio.com/m/1", "content_type": "image/jpeg"}]
    receipt = receive(rt, replace(inbound("guarda"), media=media))
    assert rows(rt, Message, Message.id == receipt.message_id)[0].media == media
    assert receipt.replies


def _engine_fails_on(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    """A fault in the content or the code: triage raises on messages holding `word` (where the
    core reads the message first, and where the engine would read it again)."""
    import bot.inbox
    import flows.engine
    from flows.triage import triage as real

    def triage(pack: object, text: str) -> object:
        if word in text:
            raise ValueError(f"cannot read {text!r}")  # the message text is in the error
        return real(pack, text)  # type: ignore[arg-type]

    monkeypatch.setattr(flows.engine, "triage", triage)
    monkeypatch.setattr(bot.inbox, "triage", triage)


def test_a_fault_in_the_engine_hands_the_message_to_a_listener(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _engine_fails_on(monkeypatch, "boom")
    caplog.set_level(logging.DEBUG)
    receipt = receive(rt, inbound("ciao sono Marta, boom", address="whatsapp:+393471234567"))
    assert not receipt.duplicate and receipt.escalated == "high"
    (stored,) = rows(rt, Message, Message.direction == "in")
    assert stored.body == "ciao sono Marta, boom"
    assert stored.meta["triage"] == {"escalation": "bot_error"}
    conv = conversation(rt, receipt.conversation_id)
    assert (conv.status, conv.priority, conv.escalation_reason) == ("waiting", "high", "bot_error")
    texts = [m.body for m in outbound(rt, receipt.conversation_id)]
    assert texts[0].startswith("Ok! Ti passo a un volontario")
    person = contact(rt, "whatsapp:+393471234567")
    assert person is not None and person.consent_at is not None  # the notice went too
    assert "ValueError at test_inbox.py" in caplog.text and "handed to a listener" in caplog.text
    for secret in ("Marta", "boom", "3471234567"):
        assert secret not in caplog.text


def test_after_a_fault_the_next_messages_are_read_as_usual(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine_fails_on(monkeypatch, "boom")
    first = receive(rt, inbound("boom"))
    second = receive(rt, inbound("voglio morire"))
    assert second.conversation_id == first.conversation_id
    conv = conversation(rt, second.conversation_id)
    assert (conv.priority, conv.escalation_reason) == ("crisis", "crisis:suicide")
