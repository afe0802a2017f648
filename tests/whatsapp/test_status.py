"""Twilio's status callbacks: signed, forward only, failures with their code and reason."""

from __future__ import annotations

import pytest

from bot.db import write_session
from bot.models import Activity, Message
from bot.runtime import Runtime
from bot.worker import deliver, deliver_due
from tests.core.helpers import rows
from tests.whatsapp.conftest import Live, Webhooks, message, messages, new_sid, wait_until
from tests.whatsapp.fake_twilio import FakeTwilio


def _sent_reply(wa_rt: Runtime, webhooks: Webhooks, fake: FakeTwilio) -> tuple[Message, str]:
    assert webhooks.message("ciao").status_code == 200
    deliver_due(wa_rt)
    reply = messages(wa_rt, "out")[0]
    assert reply.status == "sent" and reply.external_id
    return reply, reply.external_id


def test_out_of_order_callbacks_never_move_backwards(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply, sid = _sent_reply(wa_rt, webhooks, twilio_server)
    for status, expected in [
        ("delivered", "delivered"),
        ("sent", "delivered"),
        ("queued", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
        ("failed", "read"),
    ]:
        assert twilio_server.callback(sid, status) == 204
        assert message(wa_rt, reply.id).status == expected, status


def test_a_failure_keeps_twilio_code_and_a_reason(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply, sid = _sent_reply(wa_rt, webhooks, twilio_server)
    twilio_server.callback(sid, "undelivered", error_code="30003")
    row = message(wa_rt, reply.id)
    assert row.status == "undelivered" and row.error_code == "30003"
    assert row.error_message and "raggiungibile" in row.error_message
    twilio_server.callback(sid, "delivered")  # nothing comes after a failure
    assert message(wa_rt, reply.id).status == "undelivered"
    assert any(a.kind == "status" for a in rows(wa_rt, Activity))  # the dashboard hears of it


def test_63016_outside_the_window_is_shown_to_listeners(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply, sid = _sent_reply(wa_rt, webhooks, twilio_server)
    twilio_server.callback(sid, "failed", error_code="63016")
    row = message(wa_rt, reply.id)
    assert row.status == "failed" and row.error_code == "63016"
    assert row.error_message and "24 ore" in row.error_message and "modello" in row.error_message


@pytest.mark.parametrize("signature", ["", "forged"])
def test_unsigned_status_callbacks_change_nothing(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio, signature: str
) -> None:
    reply, sid = _sent_reply(wa_rt, webhooks, twilio_server)
    response = webhooks.post(
        f"/twilio/status?message={reply.id}",
        {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "1"},
        signature=signature or "",
    )
    assert response.status_code == 403
    assert message(wa_rt, reply.id).status == "sent"


def test_a_callback_may_come_before_the_worker_stored_the_sid(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    twilio_server.auto_status = ["sent", "delivered"]  # sent before Twilio's answer is read
    assert webhooks.message("ciao").status_code == 200
    reply = messages(wa_rt, "out")[0]
    original = twilio_server._answer

    def answer_late(h, status, payload, headers=None):  # type: ignore[no-untyped-def]
        if status == 201:  # let the callbacks win the race, as they may in production
            twilio_server.auto_status, pending = [], twilio_server.auto_status
            for s in pending:
                twilio_server.callback(payload["sid"], s)
        return original(h, status, payload, headers)

    twilio_server._answer = answer_late  # type: ignore[method-assign]
    assert wa_rt.held.popleft() == reply.id  # the worker that read the message sends it
    assert deliver(wa_rt, reply.id, held=True) == "delivered"
    row = message(wa_rt, reply.id)
    assert row.status == "delivered" and row.external_id == twilio_server.messages[0]["sid"]


def test_a_failure_callback_before_the_sid_is_stored_stays_a_failure(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    assert webhooks.message("ciao").status_code == 200
    reply = messages(wa_rt, "out")[0]
    original = twilio_server._answer

    def fail_first(h, status, payload, headers=None):  # type: ignore[no-untyped-def]
        if status == 201:
            twilio_server.callback(payload["sid"], "failed", error_code="63016")
        return original(h, status, payload, headers)

    twilio_server._answer = fail_first  # type: ignore[method-assign]
    assert wa_rt.held.popleft() == reply.id
    deliver(wa_rt, reply.id, held=True)
    row = message(wa_rt, reply.id)
    assert row.status == "failed" and row.error_code == "63016" and row.error_message


def test_callbacks_for_unknown_messages_are_acknowledged(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    response = webhooks.post(
        "/twilio/status", {"MessageSid": new_sid(), "MessageStatus": "delivered"}
    )
    assert response.status_code == 204
    bad = webhooks.post("/twilio/status", {"MessageStatus": "delivered"})
    assert bad.status_code == 400


def test_a_callback_cannot_take_over_an_inbound_or_a_linked_row(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    reply, sid = _sent_reply(wa_rt, webhooks, twilio_server)
    (inbound,) = messages(wa_rt, "in")
    for target in (inbound.id, reply.id):
        webhooks.post(
            f"/twilio/status?message={target}", {"MessageSid": new_sid(), "MessageStatus": "read"}
        )
    assert message(wa_rt, inbound.id).status == "received"
    row = message(wa_rt, reply.id)
    assert row.status == "sent" and row.external_id == sid


def test_end_to_end_over_http(live: Live) -> None:
    """Webhook in over HTTP, the worker sends, Twilio's callbacks come back over HTTP."""
    from bot.worker import Worker
    from tests.whatsapp.conftest import message_form, sign
    from tests.whatsapp.fake_twilio import http_post

    live.twilio.auto_status = ["sent", "delivered", "read"]
    worker = Worker(live.rt)
    worker.start()
    try:
        url = live.url + "/twilio/whatsapp"
        form = message_form("ciao")
        assert http_post(url, form, {"X-Twilio-Signature": sign(url, form)}) == 200

        def all_read() -> bool:
            out = messages(live.rt, "out")
            return bool(out) and all(m.status == "read" for m in out)

        wait_until(all_read, 30, "replies read")
    finally:
        worker.stop()
    assert set(live.twilio.callback_results) == {204}
    with write_session(live.rt.db) as session:
        assert session.get(Message, messages(live.rt, "out")[0].id) is not None
