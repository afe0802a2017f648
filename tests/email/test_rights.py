"""The young person's rights by e-mail, end to end on real mail servers: CANCELLA and STOP act
while a listener holds the conversation, erasure is confirmed with a one-time code that only the
address's owner reads, and a mail with a forged From never stops, erases or closes anything."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import conversations
from bot.db import read_session, write_session
from bot.models import Contact, Conversation, Message, Operator, utcnow
from operators import accounts, replies
from operators.handover import HandoverError
from tests.email.conftest import PROVIDER, YOUNG, Line, compose, one_time_code, passed, text_of
from tests.waiting import wait_until

CRISIS = "Non ce la faccio più, stanotte voglio farla finita."
FORGED = {
    "dmarc_fail": f"{PROVIDER}; dkim=none; spf=fail smtp.mailfrom=x@evil.test; "
    "dmarc=fail (p=NONE) header.from=example.com",
    "no_header": None,
    "another_provider": "mail.evil.test; dkim=pass header.d=example.com; spf=pass "
    f"smtp.mailfrom={YOUNG}; dmarc=pass header.from=example.com",
    "unreadable": f"{PROVIDER}; dmarc=pass header.from=example.com; ;;==",
}


def _conversation(line: Line) -> Conversation:
    (found,) = [c for c in line.conversations() if c.status != "closed"] or line.conversations()
    return found


def _contact(line: Line) -> Contact | None:
    with read_session(line.rt.db) as session:
        return session.exec(select(Contact).where(Contact.address == YOUNG)).first()


def _stored(line: Line, conversation_id: str) -> list[Message]:
    with read_session(line.rt.db) as session:
        return list(session.exec(select(Message).where(Message.conversation_id == conversation_id)))


def _anna(line: Line) -> Operator:
    with write_session(line.rt.db) as session:
        return accounts.create(session, "anna", "una-password-lunga", "listener")


def _held(line: Line, text: str = "Vorrei parlare con un volontario, per favore.") -> Operator:
    """The young person asks for a person by mail and a listener takes the conversation."""
    line.write(compose(text))
    line.wait_replies(1)
    wait_until(lambda: _conversation(line).status == "waiting", 30, what="the queue")
    anna = _anna(line)
    with write_session(line.rt.db) as session:
        conversations.claim(session, _conversation(line).id, anna, 3, utcnow())
    return anna


@pytest.mark.parametrize("auth", list(FORGED))
def test_forged_cancella_and_yes_never_erase_a_crisis(line: Line, auth: str) -> None:
    line.write(compose(CRISIS, message_id="<real.1@mail.example.com>"))
    line.wait_replies(1)
    crisis = wait_until(
        lambda: _conversation(line).priority == "crisis" and _conversation(line),
        30,
        what="the crisis in the queue",
    )
    for n, text in enumerate(("CANCELLA", "sì")):
        line.write(compose(text, auth=FORGED[auth], message_id=f"<forged.{n}@evil.test>"))
    line.wait_inbound(3)
    mails = line.wait_replies(3)
    assert not any("Fatto: cancelliamo" in text_of(m) for m in mails)
    assert "non cancelliamo niente" in text_of(mails[1])
    after = _conversation(line)
    assert after.id == crisis.id and after.status == "waiting" and after.priority == "crisis"
    person = _contact(line)
    assert person is not None and person.erase_requested_at is None and person.erase_due_at is None
    assert any(CRISIS in m.body for m in _stored(line, crisis.id))  # nothing was erased
    forged = line.inbound()[1]
    assert forged.meta["unverified"]  # the listeners see the mail could not be tied to its sender


def test_forged_stop_does_not_silence_the_listener(line: Line) -> None:
    anna = _held(line)
    line.write(compose("STOP", auth=FORGED["dmarc_fail"]))
    line.wait_replies(2)
    person = _contact(line)
    assert person is not None and person.opted_out_at is None
    conversation = _conversation(line)
    assert conversation.status == "listener"
    with write_session(line.rt.db) as session:
        replies.reply(session, conversation, anna, "Ciao, sono Anna.", utcnow())
    line.wait_replies(3)


def test_erasure_by_mail_needs_the_code_sent_to_the_address(line: Line) -> None:
    line.write(compose("Ciao, come funziona?"))
    line.wait_replies(1)
    line.write(compose("CANCELLA"))
    asked = line.wait_replies(2)[1]
    code = one_time_code(asked)
    wait_until(lambda: all(m.status == "sent" for m in line.outbound()), 30, what="sent")
    assert not any(code in m.body or code in str(m.meta) for m in line.outbound())  # not kept
    conversation = _conversation(line)
    assert conversation.flow_state["confirm"] == "erase_code"
    assert code not in str(conversation.flow_state)  # only its HMAC

    line.write(compose("sì"))  # "yes" is not the code: nothing is erased
    line.wait_replies(3)
    assert _contact(line) is not None and _contact(line).erase_requested_at is None  # type: ignore[union-attr]
    line.write(compose("CANCELLA"))
    code = one_time_code(line.wait_replies(4)[3])
    line.write(compose(f"Il codice è {code}"))
    done = line.wait_replies(5)[4]
    assert "Fatto: cancelliamo" in text_of(done)
    erased = wait_until(
        lambda: [c for c in _closed(line) if c.outcome == "erased"],
        30,
        what="the erased conversation",
    )[0]
    assert not any(m.direction == "in" for m in _stored(line, erased.id))


def _closed(line: Line) -> list[Conversation]:
    with read_session(line.rt.db) as session:
        return list(session.exec(select(Conversation).where(Conversation.status == "closed")))


def test_cancella_while_a_listener_holds_erases(line: Line) -> None:
    anna = _held(line, "Ho litigato con i miei e non so cosa fare, posso parlare con qualcuno?")
    conversation = _conversation(line)
    line.write(compose("CANCELLA"))
    code = one_time_code(line.wait_replies(2)[1])
    line.write(compose(code))
    assert "Fatto: cancelliamo" in text_of(line.wait_replies(3)[2])
    wait_until(
        lambda: not any(m.direction == "in" for m in _stored(line, conversation.id)),
        30,
        what="the messages erased",
    )
    with read_session(line.rt.db) as session:
        closed = session.get(Conversation, conversation.id)
        assert closed is not None and closed.status == "closed" and closed.outcome == "erased"
        assert closed.listener_id == anna.id  # the listener still sees how it ended
    with write_session(line.rt.db) as session, pytest.raises(HandoverError):
        replies.reply(session, closed, anna, "Ci sei?", utcnow())


def test_stop_while_a_listener_holds_stops_every_message(line: Line) -> None:
    anna = _held(line)
    line.write(compose("STOP", auth=passed()))
    stopped = line.wait_replies(2)[1]
    assert "non ti scriveremo più" in text_of(stopped)
    person = wait_until(
        lambda: (c := _contact(line)) and c.opted_out_at and c, 30, what="the opt-out"
    )
    assert person.opted_out_at is not None
    conversation = _conversation(line)
    assert conversation.status == "closed" and conversation.outcome == "stopped"
    with write_session(line.rt.db) as session, pytest.raises(HandoverError, match="STOP"):
        replies.reply(session, conversation, anna, "Ciao, sono Anna.", utcnow())
    # writing again opts back in, in a new conversation
    line.write(compose("Scusate, ho cambiato idea"))
    line.wait_replies(3)
    assert _contact(line).opted_out_at is None  # type: ignore[union-attr]
