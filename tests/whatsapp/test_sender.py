"""Replies leave through the real twilio client, against a local server speaking Twilio's API."""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import timedelta

import pytest

from bot.channel import UNCONFIRMED, TemporaryFailure
from bot.channels.whatsapp import (
    ReengageError,
    TwilioSender,
    queue_reengagement,
    window_closes_at,
    window_open,
)
from bot.db import write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.outbox import enqueue
from bot.runtime import Runtime
from bot.worker import deliver_due
from tests.core.helpers import rows
from tests.whatsapp.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OUR_NUMBER,
    PUBLIC_URL,
    YOUNG,
    Webhooks,
    message,
    message_form,
    messages,
    twilio_env,
    wait_until,
    wired_runtime,
)
from tests.whatsapp.fake_twilio import FakeTwilio


def _write_and_get_reply(wa_rt: Runtime, webhooks: Webhooks, text: str = "ciao") -> Message:
    assert webhooks.message(text).status_code == 200
    return messages(wa_rt, "out")[0]


def _deliver_until(
    rt: Runtime, message_id: str, statuses: tuple[str, ...], timeout: float = 30
) -> Message:
    def settled() -> Message | None:
        deliver_due(rt)
        row = message(rt, message_id)
        return row if row.status in statuses else None

    found: Message = wait_until(settled, timeout, f"message status in {statuses}")
    return found


def test_a_reply_is_sent_with_the_real_client(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply = _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    (created,) = twilio_server.messages
    assert row.status == "sent" and row.external_id == created["sid"]
    (request,) = twilio_server.creates()
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.form["To"] == YOUNG and request.form["From"] == OUR_NUMBER
    assert request.form["Body"] == reply.body
    assert request.form["StatusCallback"] == f"{PUBLIC_URL}/twilio/status?message={reply.id}"
    auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {auth}"
    deliver_due(wa_rt)
    assert len(twilio_server.creates()) == 1  # never twice after a success


def test_status_callbacks_carry_delivery_to_read(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply = _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    sid = twilio_server.messages[0]["sid"]
    for status in ("sent", "delivered", "read"):
        assert twilio_server.callback(sid, status) == 204
        assert message(wa_rt, reply.id).status == status


def test_twilio_down_for_a_while_then_delivered_once(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    twilio_server.fail(500, 20500, "Internal Server Error", times=4)
    reply = _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    assert row.status == "queued" and row.error_message and "500" in row.error_message
    row = _deliver_until(wa_rt, reply.id, ("sent",))
    assert row.attempts == 5 and row.error_message is None
    assert len(twilio_server.messages) == 1 and len(twilio_server.creates()) == 5
    assert row.external_id == twilio_server.messages[0]["sid"]
    # Twilio's own refusals created nothing: no retry paged through its list first
    assert twilio_server.list_pages == 0


def test_a_bare_gateway_error_is_checked_before_sending_again(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    """A proxy between us and Twilio answers 502 with a page of its own after Twilio took the
    message: the outcome is unknown, so the retry looks first and finds it."""
    twilio_server.fail(502, gateway=True)
    reply = _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    assert row.status == "queued" and row.error_code == UNCONFIRMED
    assert len(twilio_server.messages) == 1  # Twilio had it all along
    row = _deliver_until(wa_rt, reply.id, ("sent",))
    assert row.external_id == twilio_server.messages[0]["sid"]
    assert len(twilio_server.creates()) == 1 and twilio_server.list_pages >= 1
    assert row.error_code is None


def test_a_row_taken_over_from_a_worker_gone_mid_send_is_checked_first(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    """A worker began a send (its attempt counted, Twilio took the message) and died before
    recording it: the worker that claims the row when the lease runs out looks first."""
    reply = _write_and_get_reply(wa_rt, webhooks)
    row = message(wa_rt, reply.id)
    sender = wa_rt.senders["whatsapp"]
    with write_session(wa_rt.db) as session:
        conversation = session.get(Conversation, row.conversation_id)
        assert conversation is not None
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        sender.send(row, contact, conversation)
        taken = session.get(Message, row.id)
        assert taken is not None
        taken.status, taken.attempts = "sending", 1
        taken.lease_until = utcnow() - timedelta(seconds=1)  # the dead worker's lease ran out
    assert len(twilio_server.messages) == 1
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    assert row.status == "sent" and row.external_id == twilio_server.messages[0]["sid"]
    assert len(twilio_server.creates()) == 1 and twilio_server.list_pages >= 1


def test_429_is_retried_later(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    twilio_server.fail(429, 20429, "Too Many Requests", retry_after="120")
    reply = _write_and_get_reply(wa_rt, webhooks)
    before = utcnow()
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    assert row.status == "queued" and row.next_attempt_at is not None
    wait = row.next_attempt_at - before
    assert wait >= timedelta(seconds=0.5)  # capped by worker.backoff_max_seconds (0.5 here)


def test_429_retry_after_is_honoured_up_to_the_backoff_cap(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, SOS_WORKER_BACKOFF_MAX_SECONDS="600")
    )
    sender = rt.senders["whatsapp"]
    assert isinstance(sender, TwilioSender)
    twilio_server.fail(429, 20429, "Too Many Requests", retry_after="120")
    with pytest.raises(TemporaryFailure) as caught:
        sender.send(*_fresh_row(rt))
    assert caught.value.retry_after == 120
    rt.db.dispose()


def test_an_unconfirmed_send_is_found_behind_thousands_of_later_replies(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    """A worker died after Twilio took a reply and before it was recorded; meanwhile the line
    sent many more replies. The next try pages back through Twilio's list, finds the earlier
    send and does not send it again."""
    rt = wired_runtime(database_url, twilio_env(twilio_server.base_url))
    sender = rt.senders["whatsapp"]
    assert isinstance(sender, TwilioSender)
    row, contact, conversation = _fresh_row(rt, body="ci sono, ti ascolto")
    first = sender.send(row, contact, conversation)  # Twilio took it; the worker then died
    for i in range(250):  # other young people's replies, sent after it
        form = {"To": f"whatsapp:+39333000{i:04d}", "From": OUR_NUMBER, "Body": f"r{i}"}
        twilio_server._store(form)
    row.attempts, row.error_code = 2, UNCONFIRMED  # taken over when the lease ran out
    pages = twilio_server.list_pages
    again = sender.send(row, contact, conversation)
    assert again.external_id == first.external_id
    assert len(twilio_server.creates()) == 1  # never sent twice
    assert twilio_server.list_pages - pages >= 3  # it paged back: 251 messages, 100 a page
    rt.db.dispose()


def _fresh_row(
    rt: Runtime, *, inbound_ago: timedelta = timedelta(minutes=1), body: str = "ciao"
) -> tuple[Message, Contact, Conversation]:
    now = utcnow()
    with write_session(rt.db) as session:
        contact = Contact(channel="whatsapp", address=YOUNG, pseudonym="p")
        session.add(contact)
        session.flush()
        conversation = Conversation(
            contact_id=contact.id, channel="whatsapp", last_inbound_at=now - inbound_ago
        )
        session.add(conversation)
        session.flush()
        (row,) = enqueue(session, conversation, body, author="listener")
        row.attempts = 1
        session.flush()
        return row, contact, conversation


@pytest.mark.parametrize(
    "code,words",
    [
        (21211, "non valido"),
        (21610, "STOP"),
        (63007, "twilio.whatsapp_number"),
        (63016, "24 ore"),
        (21999, "errore 21999"),
    ],
)
def test_4xx_is_final_and_listeners_see_why(
    wa_rt: Runtime,
    webhooks: Webhooks,
    twilio_server: FakeTwilio,
    code: int,
    words: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio_server.fail(400, code, f"The 'To' number {YOUNG} is not valid")
    reply = _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    row = message(wa_rt, reply.id)
    assert row.status == "failed" and row.error_code == str(code)
    assert row.error_message and words in row.error_message
    assert "393331234567" not in row.error_message  # Twilio's words, without the number
    deliver_due(wa_rt)
    assert len(twilio_server.creates()) == 1  # not retried
    assert "393331234567" not in caplog.text and reply.body not in caplog.text


def test_sms_replies_leave_from_the_sms_number_written_to(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    form = message_form("ciao", sender="+393339876543", to="+14155550100")
    assert webhooks.post("/twilio/whatsapp", form).status_code == 200
    deliver_due(wa_rt)
    request = twilio_server.creates()[0]
    assert request.form["From"] == "+14155550100" and request.form["To"] == "+393339876543"
    assert all(m.status == "sent" for m in messages(wa_rt, "out"))


def test_a_reply_wakes_the_worker_at_once(database_url: str, twilio_server: FakeTwilio) -> None:
    """`sos-bot run`: web and worker share the runtime; a webhook does not wait for a poll: the
    worker is woken to read the message, then to send the reply."""
    from bot.app import create_app
    from bot.worker import Duty, Worker

    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, SOS_WORKER_POLL_SECONDS="3600")
    )
    first_round = threading.Event()  # the worker's duties run at the end of each round
    worker = Worker(rt, extra=[Duty("first round", 0, lambda _rt, _now: first_round.set())])
    worker.start()
    try:
        assert first_round.wait(30)  # from now on the worker only waits to be woken
        hooks = Webhooks(create_app(rt=rt).test_client(), rt)
        assert hooks.message("ciao", read=False).status_code == 200  # the worker reads it
        twilio_server.wait_for(lambda: len(twilio_server.messages) >= 1, timeout=60)
    finally:
        worker.stop()
        rt.db.dispose()


def test_the_worker_reads_new_messages_while_a_send_hangs(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    """A message is read (crisis check, queue) at once even while the worker waits on Twilio."""
    from bot import arrivals
    from bot.app import create_app
    from bot.worker import Worker

    rt = wired_runtime(database_url, twilio_env(twilio_server.base_url))
    twilio_server.hang()
    worker = Worker(rt)
    worker.start()
    try:
        hooks = Webhooks(create_app(rt=rt).test_client(), rt)
        assert hooks.message("ciao", read=False).status_code == 200
        wait_until(twilio_server.hanging.is_set, 60, "the first reply held by Twilio")
        form = message_form("mi voglio ammazzare", sender="whatsapp:+393330000777")
        assert hooks.post("/twilio/whatsapp", form, read=False).status_code == 200
        wait_until(lambda: arrivals.count(rt) == 0, 60, "the second message read")
        crisis = [c for c in rows(rt, Conversation) if c.priority == "crisis"]
        assert len(crisis) == 1 and twilio_server.hanging.is_set()  # the send still hangs
    finally:
        twilio_server.release()
        worker.stop()
        rt.db.dispose()


def test_wrong_credentials_keep_the_message_for_later(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, SOS_TWILIO_AUTH_TOKEN="a-wrong-token")
    )
    row, _, _ = _fresh_row(rt)
    row_id = row.id
    with write_session(rt.db) as session:
        session.get(Message, row_id).attempts = 0  # type: ignore[union-attr]
    deliver_due(rt)
    after = message(rt, row_id)
    assert after.status == "queued" and "credentials" in (after.error_message or "")
    assert twilio_server.messages == []
    rt.db.dispose()


def test_connection_refused_is_retried(database_url: str) -> None:
    closed = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    base = closed.base_url
    closed.stop()  # nothing listens there any more
    rt = wired_runtime(database_url, twilio_env(base))
    row, _, _ = _fresh_row(rt)
    with write_session(rt.db) as session:
        session.get(Message, row.id).attempts = 0  # type: ignore[union-attr]
    deliver_due(rt)
    after = message(rt, row.id)
    assert after.status == "queued" and "unreachable" in (after.error_message or "")
    rt.db.dispose()


def test_long_bodies_are_split_at_word_boundaries(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    _write_and_get_reply(wa_rt, webhooks)
    deliver_due(wa_rt)
    (inbound,) = messages(wa_rt, "in")
    text = " ".join(f"parola{i}" for i in range(500))  # about 4,900 characters
    with write_session(wa_rt.db) as session:
        conversation = session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        parts = enqueue(session, conversation, text, author="listener")
    assert len(parts) == 4
    deliver_due(wa_rt)
    bodies = [r.form["Body"] for r in twilio_server.creates()[-4:]]
    assert all(len(b) <= 1600 for b in bodies)
    assert " ".join(bodies) == text  # in order, no word cut


def test_no_free_text_after_the_24_hour_window(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(database_url, twilio_env(twilio_server.base_url))
    row, _, conversation = _fresh_row(rt, inbound_ago=timedelta(hours=25))
    assert not window_open(conversation)
    closes = window_closes_at(conversation)
    assert closes is not None and closes < utcnow()
    with write_session(rt.db) as session:
        session.get(Message, row.id).attempts = 0  # type: ignore[union-attr]
    deliver_due(rt)
    after = message(rt, row.id)
    assert after.status == "failed" and after.error_code == "window_closed"
    assert after.error_message and "24 ore" in after.error_message
    assert twilio_server.requests == []  # Twilio was not even asked
    rt.db.dispose()


def test_window_helpers() -> None:
    now = utcnow()
    fresh = Conversation(channel="whatsapp", last_inbound_at=now)
    assert window_open(fresh, now)
    closes = window_closes_at(fresh)
    assert closes is not None and timedelta(hours=23) < closes - now <= timedelta(hours=24)
    assert not window_open(fresh, now + timedelta(hours=24))
    never = Conversation(channel="whatsapp")
    assert window_closes_at(never) is None and not window_open(never, now)
    sms = Conversation(channel="sms")
    assert window_open(sms, now)  # SMS has no window


def test_an_unknown_outcome_is_checked_before_sending_again(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, SOS_TWILIO_TIMEOUT_SECONDS="0.5")
    )
    row, _, _ = _fresh_row(rt, body="un messaggio importante")
    with write_session(rt.db) as session:
        session.get(Message, row.id).attempts = 0  # type: ignore[union-attr]
    twilio_server.slow(3)  # Twilio takes it, but answers after our timeout
    deliver_due(rt)
    after = message(rt, row.id)
    assert after.status == "queued" and "outcome unknown" in (after.error_message or "")
    twilio_server.wait_for(lambda: len(twilio_server.messages) == 1)
    after = _deliver_until(rt, row.id, ("sent",))
    assert after.external_id == twilio_server.messages[0]["sid"]
    assert len(twilio_server.creates()) == 1  # looked up, not sent again
    assert any(r.method == "GET" for r in twilio_server.requests)
    rt.db.dispose()


def test_an_identical_text_sent_by_another_row_is_not_taken_for_this_one(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(database_url, twilio_env(twilio_server.base_url))
    first, _, conversation = _fresh_row(rt, body="Ci sei?")
    with write_session(rt.db) as session:
        session.get(Message, first.id).attempts = 0  # type: ignore[union-attr]
        (second,) = enqueue(
            session,
            session.get(Conversation, conversation.id),  # type: ignore[arg-type]
            "Ci sei?",
            author="listener",
        )
        second_id = second.id
    twilio_server.fail(500, 20500, "down")  # the first row's first try fails cleanly...
    deliver_due(rt)
    assert message(rt, first.id).status == "queued"
    assert message(rt, second_id).status == "sent"  # ...while the same text leaves in the second
    _deliver_until(rt, first.id, ("sent",))
    assert len(twilio_server.messages) == 2  # both rows reached the young person
    assert message(rt, first.id).external_id != message(rt, second_id).external_id
    rt.db.dispose()


def test_reengagement_template_is_sent_with_content_sid_and_variables(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(
        database_url,
        twilio_env(
            twilio_server.base_url,
            SOS_TWILIO_REENGAGE_CONTENT_SID="HX" + "1" * 32,
            SOS_TWILIO_REENGAGE_CONTENT_VARIABLES='{"1": "S.O.S. Amico Giovani"}',
        ),
    )
    old, _, conversation = _fresh_row(rt, inbound_ago=timedelta(days=3))
    with write_session(rt.db) as session:
        session.delete(session.get(Message, old.id))
    with write_session(rt.db) as session:
        conv = session.get(Conversation, conversation.id)
        assert conv is not None
        template = queue_reengagement(session, conv, None, rt.settings.twilio)
        again = queue_reengagement(session, conv, None, rt.settings.twilio)
        assert again.id == template.id  # a double click queues one template
    deliver_due(rt)
    assert message(rt, template.id).status == "sent"
    (request,) = twilio_server.creates()
    assert request.form["ContentSid"] == "HX" + "1" * 32
    assert json.loads(request.form["ContentVariables"]) == {"1": "S.O.S. Amico Giovani"}
    assert "Body" not in request.form
    with write_session(rt.db) as session:
        contact = session.get(Contact, conv.contact_id)
        assert contact is not None
        contact.opted_out_at = utcnow()
    with write_session(rt.db) as session, pytest.raises(ReengageError, match="STOP"):
        queue_reengagement(
            session,
            session.get(Conversation, conv.id),  # type: ignore[arg-type]
            None,
            rt.settings.twilio,
        )
    rt.db.dispose()


def test_reengagement_needs_a_configured_template(wa_rt: Runtime, webhooks: Webhooks) -> None:
    webhooks.message("ciao")
    (inbound,) = messages(wa_rt, "in")
    with write_session(wa_rt.db) as session, pytest.raises(ReengageError, match="configurato"):
        conversation = session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        queue_reengagement(session, conversation, None, wa_rt.settings.twilio)


def test_twilio_failing_for_a_while_with_500_and_429_then_delivered_once(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    twilio_server.outage(600, retry_after="0")
    reply = _write_and_get_reply(wa_rt, webhooks)
    answers = []
    for _ in range(3):
        deliver_due(wa_rt)
        answers.append(message(wa_rt, reply.id).error_message or "")
        with write_session(wa_rt.db) as session:  # due again now, not after the backoff
            row = session.get(Message, reply.id)
            assert row is not None and row.status == "queued"
            row.next_attempt_at = utcnow()
            session.add(row)
    assert ["500" in answers[0], "429" in answers[1], "500" in answers[2]] == [True] * 3
    assert twilio_server.messages == []
    twilio_server.end_outage()
    row = _deliver_until(wa_rt, reply.id, ("sent",))
    assert len(twilio_server.messages) == 1 and row.external_id == twilio_server.messages[0]["sid"]
