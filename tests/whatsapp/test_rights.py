"""The young person's rights on WhatsApp, through signed webhooks, the fake Twilio server and
the dashboard: CANCELLA and STOP act while a listener holds the conversation, a crisis in the
queue is erased only once a listener has seen it, and an erased number gets a new pseudonym."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.db import read_session
from bot.models import Contact, Conversation, Message, Note, utcnow
from bot.runtime import Runtime
from bot.worker import deliver_due, housekeeping
from tests.core.helpers import rows
from tests.dashboard.conftest import Dash, add_operator
from tests.whatsapp.conftest import YOUNG, Webhooks, messages
from tests.whatsapp.fake_twilio import FakeTwilio

CRISIS = "non ce la faccio più, voglio farla finita"


def _conversation(rt: Runtime) -> Conversation:
    with read_session(rt.db) as session:
        found = session.exec(select(Conversation).order_by(Conversation.opened_at.desc())).first()  # type: ignore[attr-defined]
        assert found is not None
        return found


def _contact(rt: Runtime) -> Contact | None:
    found = rows(rt, Contact, Contact.address == YOUNG)
    return found[0] if found else None


def _listener(webhooks: Webhooks, rt: Runtime) -> Dash:
    add_operator(rt, "anna", name="Anna")
    dash = Dash(webhooks.client)
    assert dash.login("anna").status_code == 302
    return dash


def _held(webhooks: Webhooks, rt: Runtime) -> tuple[Dash, str]:
    webhooks.message("ho bisogno di parlare con qualcuno")
    cid = _conversation(rt).id
    anna = _listener(webhooks, rt)
    assert anna.post(f"/conversations/{cid}/claim").status_code == 302
    assert _conversation(rt).status == "listener"
    return anna, cid


def _sent_bodies(twilio: FakeTwilio) -> list[str]:
    return [str(m["body"]) for m in twilio.messages]


def test_cancella_while_a_listener_holds_erases_and_the_listener_is_told(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    anna, cid = _held(webhooks, wa_rt)
    anna.post(f"/conversations/{cid}/note", {"body": "sembra molto giù"})
    assert rows(wa_rt, Note)
    first_name = _contact(wa_rt).pseudonym  # type: ignore[union-attr]
    deliver_due(wa_rt)

    assert webhooks.message("CANCELLA").status_code == 200
    assert "Scrivi *SI*" in messages(wa_rt, "out")[-1].body
    webhooks.message("sì")

    closed = _conversation(wa_rt)
    assert closed.id == cid and closed.status == "closed" and closed.outcome == "erased"
    assert not [m for m in messages(wa_rt) if m.direction == "in"]  # messages erased...
    assert rows(wa_rt, Note) == []  # ...and the notes
    page = anna.get(f"/conversations/{cid}").text  # the listener sees why it ended
    assert "Ha chiesto di cancellare i suoi dati" in page and 'id="reply-form"' not in page
    assert anna.post(f"/conversations/{cid}/reply", {"body": "ci sei?"}).status_code == 302
    assert not [m for m in messages(wa_rt, "out") if m.author == "listener"]

    deliver_due(wa_rt)  # the confirmation leaves, then the contact itself goes
    assert "Fatto: cancelliamo" in _sent_bodies(twilio_server)[-1]
    housekeeping(wa_rt)
    assert _contact(wa_rt) is None
    webhooks.message("ciao, sono di nuovo io")  # nothing links the new conversation to the old
    again = _contact(wa_rt)
    assert again is not None and again.pseudonym != first_name


def test_stop_while_a_listener_holds_stops_every_message(
    wa_rt: Runtime, webhooks: Webhooks, twilio_server: FakeTwilio
) -> None:
    anna, cid = _held(webhooks, wa_rt)
    deliver_due(wa_rt)
    before = len(twilio_server.messages)
    anna.post(f"/conversations/{cid}/reply", {"body": "Ciao, sono Anna. Come stai?"})
    (queued,) = [m for m in messages(wa_rt, "out") if m.author == "listener"]
    assert queued.status == "queued"  # not sent yet when the young person writes STOP

    webhooks.message("STOP")

    person = _contact(wa_rt)
    assert person is not None and person.opted_out_at is not None
    deliver_due(wa_rt)
    sent = _sent_bodies(twilio_server)[before:]
    assert len(sent) == 1 and "non ti scriveremo più" in sent[0]  # only the confirmation
    (cancelled,) = [m for m in messages(wa_rt, "out") if m.author == "listener"]
    assert cancelled.status == "failed" and cancelled.error_code == "opted_out"
    assert _conversation(wa_rt).outcome == "stopped"
    page = anna.get(f"/conversations/{cid}").text
    assert "Ha scritto STOP" in page and 'id="reply-form"' not in page
    refused = anna.post(f"/conversations/{cid}/reply", {"body": "ci sei?"}, fetch=True)
    assert refused.status_code == 409 and "STOP" in refused.json["message"]

    webhooks.message("scusate, ci sono ancora")  # writing again opts back in
    assert _contact(wa_rt).opted_out_at is None  # type: ignore[union-attr]


def test_a_waiting_crisis_is_erased_only_once_a_listener_has_seen_it(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    webhooks.message(CRISIS)
    crisis = _conversation(wa_rt)
    assert crisis.status == "waiting" and crisis.priority == "crisis"
    webhooks.message("CANCELLA")
    webhooks.message("sì")

    housekeeping(wa_rt)
    kept = _conversation(wa_rt)
    assert kept.id == crisis.id and kept.status == "waiting"  # still in the queue...
    assert any(CRISIS in m.body for m in messages(wa_rt, "in"))  # ...with what they wrote
    person = _contact(wa_rt)
    assert person is not None and person.erase_due_at is not None
    assert "Fatto: cancelliamo" in messages(wa_rt, "out")[-1].body

    anna = _listener(webhooks, wa_rt)
    page = anna.get(f"/conversations/{crisis.id}").text  # a listener opens it and reads it
    assert CRISIS in page and "è una crisi ancora in coda" in page.replace("È", "è")
    add_operator(wa_rt, "carla", "coordinator")
    carla = Dash(webhooks.client.application.test_client())
    assert carla.login("carla").status_code == 302
    export = carla.get(f"/conversations/{crisis.id}/export")  # no copy of what is to be erased
    assert export.status_code == 302 and "attachment" not in export.headers.get(
        "Content-Disposition", ""
    )
    housekeeping(wa_rt)
    erased = _conversation(wa_rt)
    assert erased.status == "closed" and erased.outcome == "erased"
    assert not any(CRISIS in m.body for m in rows(wa_rt, Message))


def test_a_waiting_crisis_is_erased_after_the_configured_hours(
    wa_rt: Runtime, webhooks: Webhooks
) -> None:
    webhooks.message(CRISIS)
    webhooks.message("CANCELLA")
    webhooks.message("sì")
    hours = wa_rt.settings.privacy.crisis_erasure_delay_hours
    housekeeping(wa_rt, utcnow() + timedelta(hours=hours) - timedelta(minutes=5))
    assert _conversation(wa_rt).status == "waiting"
    housekeeping(wa_rt, utcnow() + timedelta(hours=hours, minutes=1))
    assert _conversation(wa_rt).outcome == "erased"
    assert not any(CRISIS in m.body for m in rows(wa_rt, Message))
