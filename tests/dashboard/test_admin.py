"""Coordinators: operators, every conversation, the audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import select

from bot.db import read_session
from bot.models import Operator
from bot.runtime import Runtime
from operators import accounts
from tests.dashboard.conftest import (
    PASSWORD,
    Dash,
    audit_actions,
    audit_events,
    conversation,
    waiting,
)


@pytest.fixture
def carla(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("carla")


def _operator(rt: Runtime, username: str) -> Operator:
    with read_session(rt.db) as session:
        found = accounts.find(session, username)
        assert found is not None
        return found


def test_coordinator_adds_a_listener_who_can_then_log_in(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash], team: dict[str, Operator]
) -> None:
    response = carla.post(
        "/operators",
        {
            "username": "Dario",
            "display_name": "Dario B.",
            "role": "listener",
            "capacity": "2",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    dario = _operator(rt, "dario")
    assert dario.role == "listener" and dario.capacity == 2 and dario.display_name == "Dario B."
    assert dash_factory("dario").get("/").status_code == 200
    (event,) = [e for e in audit_events(rt, "operator_added") if e.detail["target"] == dario.id]
    assert event.operator_id == team["carla"].id and PASSWORD not in str(event.detail)


@pytest.mark.parametrize(
    "form, error",
    [
        ({"username": "anna", "role": "listener"}, "Esiste già"),
        ({"username": "x y", "role": "listener"}, "Nome utente non valido"),
        ({"username": "nuovo", "role": "capo"}, "Ruolo non valido"),
        ({"username": "nuovo", "role": "listener", "capacity": "0"}, "tra 1 e 50"),
        ({"username": "nuovo", "role": "listener", "password": "corta"}, "almeno 10"),
    ],
)
def test_adding_an_operator_with_bad_data_says_why(
    rt: Runtime, carla: Dash, form: dict[str, str], error: str
) -> None:
    response = carla.post("/operators", {"password": PASSWORD, **form})
    assert response.status_code == 302
    assert error in carla.get("/operators").text
    with read_session(rt.db) as session:
        assert accounts.find(session, "nuovo") is None


def test_disabling_a_listener_puts_their_conversations_back_in_the_queue(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash], team: dict[str, Operator]
) -> None:
    anna = dash_factory("anna")
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    response = carla.post(f"/operators/{team['anna'].id}/active", {"active": "0"})
    assert response.status_code == 302
    assert not _operator(rt, "anna").active
    back = conversation(rt, cid)
    assert back.status == "waiting" and back.listener_id is None
    assert anna.get("/").status_code == 302  # her login ended
    assert "operator_disabled" in audit_actions(rt) and "released" in audit_actions(rt, cid)
    carla.post(f"/operators/{team['anna'].id}/active", {"active": "1"})
    assert _operator(rt, "anna").active


def test_coordinator_cannot_disable_self_or_the_last_coordinator(
    rt: Runtime, carla: Dash, team: dict[str, Operator]
) -> None:
    carla.post(f"/operators/{team['carla'].id}/active", {"active": "0"})
    assert _operator(rt, "carla").active
    carla.post(
        f"/operators/{team['carla'].id}/update", {"role": "listener", "display_name": "Carla"}
    )
    assert _operator(rt, "carla").role == "coordinator"
    assert "almeno un coordinatore" in carla.get("/operators").text


def test_coordinator_changes_role_capacity_and_password(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash], team: dict[str, Operator]
) -> None:
    bruno = dash_factory("bruno")
    carla.post(
        f"/operators/{team['bruno'].id}/update",
        {"role": "coordinator", "display_name": "Bruno V.", "capacity": "4"},
    )
    updated = _operator(rt, "bruno")
    assert (updated.role, updated.display_name, updated.capacity) == ("coordinator", "Bruno V.", 4)
    carla.post(f"/operators/{team['bruno'].id}/password", {"password": "password-nuova-1"})
    assert bruno.get("/").status_code == 302  # old login ended with the new password
    assert dash_factory().login("bruno", "password-nuova-1").status_code == 302


def test_operators_page_lists_load_and_capacity(rt: Runtime, carla: Dash) -> None:
    page = carla.get("/operators").text
    assert "@anna" in page and "@bruno" in page and "0/3 conversazioni" in page


def test_all_conversations_for_coordinators(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash]
) -> None:
    queued = waiting(rt)
    held = waiting(rt)
    dash_factory("anna").post(f"/conversations/{held}/claim")
    page = carla.get("/conversations").text
    assert queued in page and held in page and "Anna" in page
    only_waiting = carla.get("/conversations?status=waiting").text
    assert queued in only_waiting and held not in only_waiting


def test_audit_log_shows_who_did_what_and_filters(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash], team: dict[str, Operator]
) -> None:
    anna = dash_factory("anna")
    cid = waiting(rt)
    anna.get(f"/conversations/{cid}")
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/reply", {"body": "testo riservato"})
    anna.post(f"/conversations/{cid}/close", {"outcome": "ascolto"})
    page = carla.get("/audit").text
    for label in ("ha aperto", "ha preso in carico", "ha risposto a", "ha chiuso"):
        assert label in page
    assert "testo riservato" not in page
    mine = carla.get(f"/audit?operator={team['anna'].id}&action=claimed").text
    assert mine.count('data-action="claimed"') == 1 and 'data-action="viewed"' not in mine
    by_conversation = carla.get(f"/audit?conversation={cid}").text
    assert 'data-action="login"' not in by_conversation


def test_audit_log_never_holds_message_text_or_addresses(
    rt: Runtime, carla: Dash, dash_factory: Callable[..., Dash]
) -> None:
    anna = dash_factory("anna")
    cid = waiting(rt, "il mio segreto", address="whatsapp:+393331112223")
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/reply", {"body": "risposta riservata"})
    anna.post(f"/conversations/{cid}/note", {"body": "nota riservata"})
    carla.post(f"/conversations/{cid}/reveal")
    carla.get(f"/conversations/{cid}")
    with read_session(rt.db) as session:
        from bot.models import AuditEvent

        details = " ".join(str(e.detail) for e in session.exec(select(AuditEvent)))
    for secret in ("segreto", "riservat", "1112223"):
        assert secret not in details
