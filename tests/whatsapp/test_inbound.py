"""A young person writes on WhatsApp → Twilio posts a signed webhook → stored once, answered."""

from __future__ import annotations

import logging
import threading
import urllib.parse
import urllib.request

import pytest

from bot import arrivals
from bot.app import create_app
from bot.db import read_session
from bot.models import Contact, Conversation, Message
from bot.runtime import Runtime
from bot.worker import deliver_due, receive_due
from tests.conftest import make_settings
from tests.core.helpers import rows
from tests.whatsapp.conftest import (
    AUTH_TOKEN,
    OUR_NUMBER,
    PUBLIC_URL,
    YOUNG,
    Live,
    Webhooks,
    message_form,
    messages,
    new_sid,
    sign,
    twilio_env,
    wired_runtime,
)
from tests.whatsapp.fake_twilio import FakeTwilio

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_signed_message_is_stored_and_answered_through_the_outbox(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    response = webhooks.message("ciao, ho bisogno di parlare")
    assert response.status_code == 200
    assert response.data == EMPTY_TWIML  # the reply is not in the TwiML...
    assert response.content_type.startswith("text/xml")
    (inbound,) = messages(wa_rt, "in")
    assert inbound.channel == "whatsapp" and inbound.body == "ciao, ho bisogno di parlare"
    assert inbound.external_id and inbound.external_id.startswith("SM")
    replies = messages(wa_rt, "out")
    # ...but in the outbox, taken by the worker that read the message, which sends them next
    assert replies and all(m.status == "sending" and m.lease_until for m in replies)
    assert list(wa_rt.held) == [m.id for m in replies]
    (person,) = rows(wa_rt, Contact)
    assert person.address == YOUNG and person.display_name == "Giulia"
    (conversation,) = rows(wa_rt, Conversation)
    assert conversation.last_inbound_at is not None  # WhatsApp's window starts


def test_replies_leave_from_the_number_the_young_person_wrote_to(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    webhooks.message("ciao", to="whatsapp:+390612345678")
    (inbound,) = messages(wa_rt, "in")
    with read_session(wa_rt.db) as session:
        conversation = session.get(Conversation, inbound.conversation_id)
        assert conversation is not None
        assert conversation.channel_data["twilio_from"] == "whatsapp:+390612345678"


@pytest.mark.parametrize("case", ["missing", "forged", "tampered", "internal_url", "other_path"])
def test_unsigned_or_wrongly_signed_webhooks_are_refused(
    wa_rt: Runtime, webhooks: Webhooks, case: str
) -> None:
    form = message_form("ciao")
    url = PUBLIC_URL + "/twilio/whatsapp"
    signature = {
        "missing": "",
        "forged": sign(url, form, token="not-our-token-0123456789abcdef00"),
        "tampered": sign(url, {**form, "Body": "something else"}),
        # signed for the address behind the proxy: Twilio never calls that one
        "internal_url": sign("http://localhost/twilio/whatsapp", form),
        "other_path": sign(PUBLIC_URL + "/twilio/status", form),
    }[case]
    response = webhooks.post("/twilio/whatsapp", form, signature=signature)
    assert response.status_code == 403
    assert messages(wa_rt) == [] and rows(wa_rt, Contact) == []


def test_without_an_auth_token_the_webhook_answers_503_and_stores_nothing(
    database_url: str,
) -> None:
    settings = make_settings(database_url, SOS_SERVER_PUBLIC_URL=PUBLIC_URL)
    rt = Runtime.create(settings)
    client = create_app(rt=rt).test_client()
    form = message_form("ciao")
    for path in ("/twilio/whatsapp", "/twilio/status"):
        response = client.post(
            path, data=form, headers={"X-Twilio-Signature": sign(PUBLIC_URL + path, form)}
        )
        assert response.status_code == 503
        assert b"twilio.auth_token" in response.data
    assert messages(rt) == []
    rt.db.dispose()


def test_the_same_message_sid_twice_is_stored_once(wa_rt: Runtime, webhooks: Webhooks) -> None:
    form = message_form("ciao")
    first = webhooks.post("/twilio/whatsapp", form)
    again = webhooks.post("/twilio/whatsapp", form)
    assert first.status_code == again.status_code == 200
    assert len(messages(wa_rt, "in")) == 1
    replies = len(messages(wa_rt, "out"))
    assert replies >= 1 and webhooks.post("/twilio/whatsapp", form).status_code == 200
    assert len(messages(wa_rt, "out")) == replies  # no second answer either


def test_the_same_message_sid_at_once_from_many_connections_is_stored_once(live: Live) -> None:
    form = message_form("aiuto")
    url = live.url + "/twilio/whatsapp"
    body = urllib.parse.urlencode(form).encode()
    headers = {
        "X-Twilio-Signature": sign(url, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            statuses.append(response.status)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert statuses == [200] * 8
    assert arrivals.count(live.rt) == 1  # kept once while it waits to be read
    assert receive_due(live.rt) == 1
    assert len(messages(live.rt, "in")) == 1
    assert len({m.body for m in messages(live.rt, "out")}) >= 1
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:  # again, after it was read
        assert response.status == 200
    assert receive_due(live.rt) == 1 and arrivals.count(live.rt) == 0
    assert len(messages(live.rt, "in")) == 1  # the stored message's own key refused it


def test_media_are_kept_as_references_and_the_text_is_still_triaged(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    media = [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg"),
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", "audio/ogg"),
    ]
    response = webhooks.message("guarda questa foto", media=media)
    assert response.status_code == 200
    (inbound,) = messages(wa_rt, "in")
    assert inbound.body == "guarda questa foto"
    assert inbound.media == [
        {"url": media[0][0], "type": "image/jpeg"},
        {"url": media[1][0], "type": "audio/ogg"},
    ]
    assert messages(wa_rt, "out")  # the bot answered (it says it reads only text)


def test_a_media_only_message_is_stored_and_answered(wa_rt: Runtime, webhooks: Webhooks) -> None:
    form = message_form("", media=[("https://api.twilio.com/x/Media/ME3", "video/mp4")])
    form["NumMedia"] = "not a number"  # a broken count: what is there is still kept
    assert webhooks.post("/twilio/whatsapp", form).status_code == 200
    (inbound,) = messages(wa_rt, "in")
    assert inbound.body == "" and inbound.media[0]["type"] == "video/mp4"
    assert messages(wa_rt, "out")


def test_a_shared_location_is_kept_for_the_listener(wa_rt: Runtime, webhooks: Webhooks) -> None:
    form = message_form("")
    form.update(Latitude="45.4642", Longitude="9.19", Label="Piazza Duomo")
    assert webhooks.post("/twilio/whatsapp", form).status_code == 200
    (inbound,) = messages(wa_rt, "in")
    assert inbound.media == [
        {"type": "location", "latitude": 45.4642, "longitude": 9.19, "label": "Piazza Duomo"}
    ]


def test_fields_are_untrusted(wa_rt: Runtime, webhooks: Webhooks) -> None:
    profile = "\u202eGiu\x00lia <script>alert(1)</script>\n" + "x" * 500
    form = message_form(
        "ciao\x00 come\r\nstai?\x07",
        profile=profile,
        media=[
            ("javascript:alert(1)", "image/jpeg"),
            ("https://api.twilio.com/ok", "text/html; <script>"),
        ],
    )
    form["MediaUrl5"] = "https://evil.example/not-counted"
    assert webhooks.post("/twilio/whatsapp", form).status_code == 200
    (inbound,) = messages(wa_rt, "in")
    assert inbound.body == "ciao come\nstai?"
    assert inbound.media == [
        {"url": "https://api.twilio.com/ok", "type": "application/octet-stream"}
    ]
    (person,) = rows(wa_rt, Contact)
    assert person.display_name is not None and len(person.display_name) <= 100
    assert "\u202e" not in person.display_name and "\x00" not in person.display_name
    assert "\n" not in person.display_name
    assert person.display_name.startswith("Giulia <script>")  # kept as text; escaped on screen


@pytest.mark.parametrize(
    "field,value",
    [
        ("From", ""),
        ("From", "whatsapp:+39 333"),
        ("From", "someone@example.org"),
        ("MessageSid", ""),
        ("MessageSid", "SM123"),
    ],
)
def test_a_message_without_a_valid_sender_or_sid_is_refused_clearly(
    wa_rt: Runtime, webhooks: Webhooks, field: str, value: str
) -> None:
    form = {**message_form("ciao"), field: value}
    response = webhooks.post("/twilio/whatsapp", form)
    assert response.status_code == 400
    assert field.encode() in response.data
    assert messages(wa_rt) == []


def test_sms_uses_the_same_webhook(wa_rt: Runtime, webhooks: Webhooks) -> None:
    form = message_form("ciao", sender="+393339876543", to="+14155550100")
    assert webhooks.post("/twilio/whatsapp", form).status_code == 200
    (inbound,) = messages(wa_rt, "in")
    assert inbound.channel == "sms"
    assert messages(wa_rt, "out")[0].channel == "sms"


def test_logs_hold_no_phone_number_name_or_text(
    wa_rt: Runtime, webhooks: Webhooks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    form = message_form("mi sento molto solo", profile="Giulia Rossi")
    webhooks.post("/twilio/whatsapp", form)
    webhooks.post("/twilio/whatsapp", form)
    webhooks.post("/twilio/whatsapp", form, signature="forged")
    logged = caplog.text
    for secret in ("393331234567", "Giulia", "solo", AUTH_TOKEN, OUR_NUMBER[10:]):
        assert secret not in logged


def test_a_message_sid_of_another_account_is_just_another_message(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    webhooks.message("uno", sid=new_sid())
    webhooks.message("due", sid=new_sid())
    assert [m.body for m in messages(wa_rt, "in")] == ["uno", "due"]
    assert all(isinstance(m, Message) for m in messages(wa_rt))


def test_a_message_the_bot_fails_to_read_still_reaches_a_listener_and_gets_an_answer(
    wa_rt: Runtime,
    webhooks: Webhooks,
    twilio_server: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Twilio does not retry an inbound message on 503: a fault in triage must not lose it.
    import bot.inbox
    import flows.engine

    def broken(*_: object) -> None:
        raise RuntimeError("a fault in the flow")

    monkeypatch.setattr(flows.engine, "triage", broken)
    monkeypatch.setattr(bot.inbox, "triage", broken)
    caplog.set_level(logging.DEBUG)
    response = webhooks.message("stasera non ce la faccio più", profile="Giulia Rossi")
    assert response.status_code == 200 and response.data == EMPTY_TWIML
    (inbound,) = messages(wa_rt, "in")
    assert inbound.body == "stasera non ce la faccio più"
    (conversation,) = rows(wa_rt, Conversation)
    assert (conversation.status, conversation.priority) == ("waiting", "high")
    deliver_due(wa_rt)
    sent = [r.form["Body"] for r in twilio_server.creates()]
    assert sent and sent[0].startswith("Ok! Ti passo a un volontario")
    assert "RuntimeError" in caplog.text
    for secret in ("393331234567", "Giulia", "stasera"):
        assert secret not in caplog.text


def test_without_answer_first_the_message_is_read_before_twilio_hears_200(
    database_url: str, twilio_server: FakeTwilio
) -> None:
    rt = wired_runtime(
        database_url, twilio_env(twilio_server.base_url, SOS_TWILIO_ANSWER_FIRST="false")
    )
    hooks = Webhooks(create_app(rt=rt).test_client(), rt)
    form = message_form("mi voglio ammazzare")
    assert hooks.post("/twilio/whatsapp", form, read=False).status_code == 200
    assert arrivals.count(rt) == 0  # nothing left for a worker: read already
    (conversation,) = rows(rt, Conversation)
    assert conversation.priority == "crisis" and messages(rt, "out")  # replies queued
    again = hooks.post("/twilio/whatsapp", form, read=False)
    assert again.status_code == 200 and len(messages(rt, "in")) == 1
    rt.db.dispose()
