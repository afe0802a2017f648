"""A crisis nobody answers alerts the coordinators on call, by SMS/WhatsApp (the local Twilio
API) and e-mail (a real SMTP server), once per period, until a listener answers. The worker runs
with a controlled clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlmodel import select

from bot import conversations
from bot.db import write_session
from bot.inbox import receive
from bot.models import Contact, Conversation, Operator
from bot.runtime import Runtime
from bot.worker import Worker
from operators import replies
from tests.dashboard.conftest import add_operator, audit_events, young
from tests.email.mail_servers import SmtpServer
from tests.whatsapp.conftest import twilio_env, wired_runtime
from tests.whatsapp.fake_twilio import FakeTwilio

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday, 16:00 in Rome
CRISIS = "stasera non ce la faccio più, mi voglio ammazzare"
YOUNG = "whatsapp:+393331234567"
CARLA_PHONE, DARIO_PHONE = "+393400000001", "whatsapp:+393400000002"


@dataclass
class Service:
    rt: Runtime
    twilio: FakeTwilio
    smtp: SmtpServer
    worker: Worker

    def sms_to(self, number: str) -> list[dict[str, Any]]:
        return [m for m in self.twilio.messages if m["to"] == number]

    def mail_to(self, address: str) -> list[str]:
        mails = [
            message_from_bytes(r.raw, policy=policy.default)
            for r in self.smtp.received
            if address in r.rcpt_tos
        ]
        return [str(m.get_content()) for m in mails]

    def run(self, minutes: float) -> None:
        self.worker.run_once(now=T0 + timedelta(minutes=minutes))


def _service(database_url: str, **env: Any) -> Iterator[Service]:
    twilio = FakeTwilio("AC" + "0123456789abcdef" * 2, "twilio-test-auth-token-0123456789")
    smtp = SmtpServer().start()
    rt = wired_runtime(
        database_url,
        twilio_env(
            twilio.base_url,
            SOS_EMAIL_ADDRESS="aiuto@example.org",
            SOS_EMAIL_IMAP_HOST="127.0.0.1",
            SOS_EMAIL_SMTP_HOST="127.0.0.1",
            SOS_EMAIL_SMTP_PORT=smtp.port,
            SOS_EMAIL_SMTP_TLS="none",
            SOS_EMAIL_IMAP_TLS="none",
            **env,
        ),
    )
    try:
        yield Service(rt, twilio, smtp, Worker(rt))
    finally:
        smtp.stop()
        twilio.stop()
        rt.db.dispose()


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    yield from _service(database_url)


def coordinator(
    rt: Runtime, username: str, *, phone: str = "", email: str = "", rota: str = ""
) -> Operator:
    person = add_operator(rt, username, "coordinator", name=username.capitalize())
    with write_session(rt.db) as session:
        found = session.get(Operator, person.id)
        assert found is not None
        found.alert_phone, found.alert_email, found.rota = phone, email, rota
        session.add(found)
        return found


def crisis(rt: Runtime, at: datetime = T0) -> str:
    receipt = receive(rt, young(CRISIS, address=YOUNG), now=at)
    assert receipt.escalated == "crisis" and receipt.conversation_id
    return receipt.conversation_id


def test_an_unanswered_crisis_alerts_once_per_period_and_stops_when_a_listener_answers(
    service: Service,
) -> None:
    rt = service.rt
    coordinator(
        rt, "carla", phone=CARLA_PHONE, email="carla@example.org", rota="mon-sun 00:00-24:00"
    )
    coordinator(rt, "dario", phone=DARIO_PHONE)  # no rota: not on call
    anna = add_operator(rt, "anna")
    conversation_id = crisis(rt)

    service.run(0)
    service.run(4.5)
    assert service.sms_to(CARLA_PHONE) == [] and service.mail_to("carla@example.org") == []

    service.run(5)
    (sms,) = service.sms_to(CARLA_PHONE)
    assert sms["from"] == "+14155238886"  # SMS from the line's number
    assert "crisi senza risposta da 5 min" in sms["body"]
    assert "crisi: pensieri suicidari" in sms["body"]
    (alert,) = audit_events(rt, "alert_sent")
    assert f"/alerts/{alert.detail['alert']}" in sms["body"]
    for text in (sms["body"], *service.mail_to("carla@example.org")):
        assert "ammazzare" not in text and "3331234567" not in text  # no text, no number
    with write_session(rt.db) as session:
        (contact,) = session.exec(select(Contact)).all()
    assert f"Persona: {contact.pseudonym} · crisi: pensieri suicidari" in sms["body"]
    assert len(service.mail_to("carla@example.org")) == 1
    assert service.sms_to(DARIO_PHONE) == []

    for minutes in (5.5, 8, 14.5):
        service.run(minutes)
    assert len(service.sms_to(CARLA_PHONE)) == 1  # one alert per period

    service.run(15)  # a second period: again, and to every coordinator
    assert len(service.sms_to(CARLA_PHONE)) == 2
    assert "2° avviso" in service.sms_to(CARLA_PHONE)[1]["body"]
    assert len(service.sms_to(DARIO_PHONE)) == 1  # WhatsApp, for the one who chose it
    assert len(service.mail_to("carla@example.org")) == 2

    with write_session(rt.db) as session:
        conversations.claim(session, conversation_id, anna, 3, T0 + timedelta(minutes=16))
    with write_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        replies.reply(
            session, found, anna, "Ciao, sono Anna: sono qui con te.", T0 + timedelta(minutes=17)
        )
    for minutes in (17, 30, 60):
        service.run(minutes)
    assert len(service.sms_to(CARLA_PHONE)) == 2 and len(service.sms_to(DARIO_PHONE)) == 1
    assert [e.detail["level"] for e in audit_events(rt, "alert_sent")] == [1, 2]


def test_a_claimed_but_silent_crisis_still_alerts(service: Service) -> None:
    rt = service.rt
    coordinator(rt, "carla", phone=CARLA_PHONE, rota="mon-sun 00:00-24:00")
    anna = add_operator(rt, "anna")
    conversation_id = crisis(rt)
    with write_session(rt.db) as session:
        conversations.claim(session, conversation_id, anna, 3, T0 + timedelta(minutes=1))
    service.run(6)
    assert len(service.sms_to(CARLA_PHONE)) == 1


@pytest.fixture
def at_once(database_url: str) -> Iterator[Service]:
    yield from _service(database_url, SOS_SAFETY_ALERT_AFTER_MINUTES="0")


def test_zero_minutes_alerts_at_once(at_once: Service) -> None:
    coordinator(at_once.rt, "carla", phone=CARLA_PHONE, rota="mon-sun 00:00-24:00")
    crisis(at_once.rt)
    at_once.run(0)
    assert len(at_once.sms_to(CARLA_PHONE)) == 1


@pytest.fixture
def evenings(database_url: str) -> Iterator[Service]:
    yield from _service(database_url, SOS_SERVICE_HOURS="mon-fri 15:00-20:00")


def test_out_of_hours_only_the_coordinator_on_call_is_called(evenings: Service) -> None:
    rt = evenings.rt
    night = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 03:00 in Rome: closed
    coordinator(rt, "carla", phone=CARLA_PHONE)  # no rota
    crisis(rt, night)
    evenings.worker.run_once(now=night + timedelta(minutes=30))
    assert evenings.sms_to(CARLA_PHONE) == [] and audit_events(rt, "alert_sent") == []
    coordinator(rt, "dario", phone="+393400000003", rota="mon 00:00-06:00")
    evenings.worker.run_once(now=night + timedelta(minutes=31))
    assert len(evenings.sms_to("+393400000003")) == 1  # on call tonight
    assert evenings.sms_to(CARLA_PHONE) == []


def test_the_second_call_outside_the_hours_goes_to_the_one_on_call_again(evenings: Service) -> None:
    rt = evenings.rt
    night = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 03:00 in Rome: closed
    coordinator(rt, "carla", phone=CARLA_PHONE)
    coordinator(rt, "dario", phone="+393400000003", rota="mon 00:00-06:00")
    crisis(rt, night)
    evenings.worker.run_once(now=night + timedelta(minutes=6))
    evenings.worker.run_once(now=night + timedelta(minutes=16))
    assert len(evenings.sms_to("+393400000003")) == 2
    assert evenings.sms_to(CARLA_PHONE) == []
