"""In turno, the on-call rota, alerts, support requests and the figures, through the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import select

from bot.db import read_session, write_session
from bot.models import Alert, Message, Note, Operator, utcnow
from bot.runtime import Runtime
from operators import transcript
from tests.dashboard.conftest import (
    Dash,
    activity_kinds,
    audit_actions,
    audit_events,
    waiting,
)

Factory = Callable[[str | None], Dash]


def operator(rt: Runtime, username: str) -> Operator:
    with read_session(rt.db) as session:
        found = session.exec(select(Operator).where(Operator.username == username)).one()
        return found


def test_in_turno_on_and_off_and_the_queue_shows_who_and_their_load(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    anna = dash_factory("anna")
    page = anna.get("/").text
    assert "Entra in turno" in page and "Nessuno è in turno" in page
    assert anna.post("/presence", {"on": "1"}).status_code == 302
    assert operator(rt, "anna").on_shift_since is not None
    conversation_id = waiting(rt)
    anna.post(f"/conversations/{conversation_id}/claim")
    page = anna.get("/queue").text
    assert 'data-operator="anna"' in page and "1/3 conversazioni" in page
    assert "Esci dal turno" in page
    assert anna.post("/presence", {"on": "0"}, fetch=True).json["on"] is False
    assert operator(rt, "anna").on_shift_since is None
    assert [e.detail["reason"] for e in audit_events(rt, "shift_ended")] == ["off"]


def test_logout_ends_the_shift(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    anna = dash_factory("anna")
    anna.post("/presence", {"on": "1"})
    anna.post("/logout")
    assert operator(rt, "anna").on_shift_since is None
    assert [e.detail["reason"] for e in audit_events(rt, "shift_ended")] == ["logout"]


def test_automatic_requests_do_not_keep_a_shift_going(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    anna = dash_factory("anna")
    anna.post("/presence", {"on": "1"})
    long_ago = utcnow() - timedelta(hours=1)
    with write_session(rt.db) as session:
        found = session.get(Operator, team["anna"].id)
        assert found is not None
        found.last_seen_at = long_ago
    anna.get("/queue", headers={"X-Requested-With": "fetch"})  # the page's own refresh
    assert _seen(rt, "anna") == long_ago
    anna.post("/presence/seen", fetch=True)  # the person clicked or typed
    assert _seen(rt, "anna") > long_ago


def test_rota_and_alert_contacts_are_checked_and_saved(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    carla = dash_factory("carla")
    path = f"/operators/{team['carla'].id}/oncall"
    bad = carla.post(path, {"alert_phone": "333 1234", "rota": ""}, follow_redirects=True)
    assert "Telefono per le allerte non valido" in bad.text
    bad = carla.post(path, {"alert_phone": "", "rota": "lun 18:00-22:00"}, follow_redirects=True)
    assert "Reperibilità non valida" in bad.text
    carla.post(
        path,
        {
            "alert_phone": "+39 333 000 0001",
            "alert_email": "carla@example.org",
            "rota": "mon-fri  18:00-22:00",
        },
    )
    saved = operator(rt, "carla")
    assert (saved.alert_phone, saved.alert_email, saved.rota) == (
        "+393330000001",
        "carla@example.org",
        "mon-fri 18:00-22:00",
    )
    (event,) = audit_events(rt, "oncall_updated")
    assert "3330000001" not in str(event.detail)
    listener = carla.post(
        f"/operators/{team['anna'].id}/oncall", {"rota": "mon 10:00-11:00"}, follow_redirects=True
    )
    assert "solo per i coordinatori" in listener.text
    assert dash_factory("anna").post(path, {"rota": ""}).status_code == 403


def test_asking_for_support_reaches_the_coordinators_and_the_audit_log(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    with write_session(rt.db) as session:
        carla = session.get(Operator, team["carla"].id)
        assert carla is not None
        carla.alert_phone = "+393330000001"  # not on the dashboard: called by SMS
    anna, bruno = dash_factory("anna"), dash_factory("bruno")
    conversation_id = waiting(rt, priority="high")
    assert bruno.post(f"/conversations/{conversation_id}/support", fetch=True).status_code in (
        403,
        409,
    )  # only its listener asks
    anna.post(f"/conversations/{conversation_id}/claim")
    answer = anna.post(f"/conversations/{conversation_id}/support", fetch=True)
    assert answer.json["ok"] is True
    (alert,) = _alerts(rt)
    assert (alert.kind, alert.requested_by, alert.notified) == (
        "support",
        team["anna"].id,
        [team["carla"].id],
    )
    assert "support" in activity_kinds(rt, conversation_id)
    assert "support_requested" in audit_actions(rt, conversation_id)
    with read_session(rt.db) as session:
        (sms,) = session.exec(select(Message).where(Message.kind == "alert")).all()
    assert sms.channel == "sms" and sms.meta["to"] == "+393330000001"
    assert "Anna chiede supporto" in sms.body and "/alerts/" in sms.body
    assert sms.body not in [m.body for m in _thread(rt, conversation_id)]

    carla_dash = dash_factory("carla")
    page = carla_dash.get(f"/conversations/{conversation_id}").text
    assert "Anna</strong> ha chiesto supporto" in page
    landing = carla_dash.get(f"/alerts/{alert.id}")
    assert "Richiesta di supporto" in landing.text and "Prendo in carico io" in landing.text
    carla_dash.post(f"/alerts/{alert.id}/ack")
    (acked,) = _alerts(rt)
    assert acked.acknowledged_by == team["carla"].id
    assert "alert_acknowledged" in audit_actions(rt, conversation_id)
    assert "Presa in carico da Carla" in carla_dash.get(f"/alerts/{alert.id}").text
    assert dash_factory("anna").get(f"/alerts/{alert.id}").status_code == 403


def test_a_coordinator_on_the_dashboard_is_not_called_by_phone(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    with write_session(rt.db) as session:
        carla = session.get(Operator, team["carla"].id)
        assert carla is not None
        carla.alert_phone = "+393330000001"
    carla_dash = dash_factory("carla")
    carla_dash.get(
        "/events?after=0", headers={"Accept": "text/event-stream"}, buffered=False
    ).close()  # a page of hers has its live stream open
    anna = dash_factory("anna")
    conversation_id = waiting(rt)
    anna.post(f"/conversations/{conversation_id}/claim")
    anna.post(f"/conversations/{conversation_id}/support", fetch=True)
    (alert,) = _alerts(rt)
    assert alert.notified == []
    with read_session(rt.db) as session:
        assert session.exec(select(Message).where(Message.kind == "alert")).all() == []


def test_a_coordinators_note_reaches_only_the_listener_who_holds_it(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    anna, bruno, carla = dash_factory("anna"), dash_factory("bruno"), dash_factory("carla")
    conversation_id = waiting(rt)
    anna.post(f"/conversations/{conversation_id}/claim")
    page = carla.get(f"/conversations/{conversation_id}").text
    assert "Nota privata per Anna" in page and "senza prenderla in carico" in page
    carla.post(
        f"/conversations/{conversation_id}/support-note",
        {"body": "Chiedi se è al sicuro adesso."},
        fetch=True,
    )
    with read_session(rt.db) as session:
        (note,) = session.exec(select(Note)).all()
    assert note.for_operator_id == team["anna"].id
    assert "Chiedi se è al sicuro adesso." in anna.get(f"/conversations/{conversation_id}").text
    assert "solo per Anna" in anna.get(f"/conversations/{conversation_id}/live").text
    assert (
        anna.post(f"/conversations/{conversation_id}/support-note", {"body": "x"}).status_code
        == 403
    )
    anna.post(f"/conversations/{conversation_id}/release")  # back in the queue: bruno may read
    page = bruno.get(f"/conversations/{conversation_id}")
    assert page.status_code == 200 and "Chiedi se è al sicuro adesso." not in page.text


def test_the_figures_page_shows_waits_by_week_and_by_shift(
    rt: Runtime, team: dict[str, Operator], dash_factory: Factory
) -> None:
    anna, carla = dash_factory("anna"), dash_factory("carla")
    conversation_id = waiting(
        rt, "mi voglio ammazzare", priority="crisis", at=utcnow() - timedelta(minutes=12)
    )
    anna.post(f"/conversations/{conversation_id}/claim")
    anna.post(f"/conversations/{conversation_id}/reply", {"body": "Ciao, sono qui."})
    page = carla.get("/figures").text
    assert 'id="by-week"' in page and 'id="by-shift"' in page
    assert "<td>1</td><td>0</td>\n<td>12</td>" in page  # one answered after 12 minutes
    assert dash_factory("anna").get("/figures").status_code == 403


def _alerts(rt: Runtime) -> list[Alert]:
    with read_session(rt.db) as session:
        return list(session.exec(select(Alert)))


def _thread(rt: Runtime, conversation_id: str) -> list[Message]:
    """What the dashboard shows of the conversation (alerts went to coordinators, not there)."""
    with read_session(rt.db) as session:
        return transcript.messages(session, conversation_id)


def _seen(rt: Runtime, username: str) -> datetime:
    seen = operator(rt, username).last_seen_at
    assert seen is not None
    return seen
