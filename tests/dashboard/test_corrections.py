"""Listeners correct the bot's reading (conversation view, close form); coordinators read the
corrections (page, CSV). Forms carry the CSRF token; every action is audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from sqlmodel import select

from bot.db import read_session
from bot.models import Message, Operator, TriageCorrection
from bot.runtime import Runtime
from tests.dashboard.conftest import Dash, audit_events, waiting


@pytest.fixture
def anna(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("anna")


@pytest.fixture
def carla(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("carla")


def _corrections(rt: Runtime) -> list[TriageCorrection]:
    with read_session(rt.db) as session:
        return list(session.exec(select(TriageCorrection)))


def _inbound(rt: Runtime, conversation_id: str) -> list[Message]:
    with read_session(rt.db) as session:
        return list(
            session.exec(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.direction == "in"
                )
            )
        )


def test_the_view_offers_the_young_persons_messages_to_correct(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt, "quanto costa? i miei litigano sempre")
    page = anna.get(f"/conversations/{cid}").text
    assert 'id="correction-form"' in page and "quanto costa? i miei litigano sempre" in page
    for label in ("doveva essere una crisi", "non era una crisi", "doveva andare a un volontario"):
        assert label in page


def test_marking_a_message_stores_the_correction_and_audits_it(
    rt: Runtime, anna: Dash, team: dict[str, Operator]
) -> None:
    cid = waiting(rt, "ho tanti lividi, a casa è un casino")
    anna.post(f"/conversations/{cid}/claim")
    (message,) = _inbound(rt, cid)
    response = anna.post(
        f"/conversations/{cid}/correction",
        {"category": "should_be_crisis", "message": message.id},
        fetch=True,
    )
    assert response.status_code == 200 and response.json["ok"]
    (found,) = _corrections(rt)
    assert (found.category, found.message_id, found.text) == (
        "should_be_crisis",
        message.id,
        "ho tanti lividi, a casa è un casino",
    )
    assert found.operator_id == team["anna"].id
    (event,) = audit_events(rt, "triage_corrected")
    assert event.conversation_id == cid and event.detail["category"] == "should_be_crisis"
    assert "lividi" not in str(event.detail)  # the audit log never holds message text


def test_a_correction_needs_a_category_and_the_csrf_token(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    missing = anna.post(f"/conversations/{cid}/correction", {"category": ""}, fetch=True)
    assert missing.status_code == 409 and "Scegli" in missing.json["message"]
    forged = anna.post(f"/conversations/{cid}/correction", {"category": "not_crisis"}, csrf=False)
    assert forged.status_code == 400
    assert _corrections(rt) == []


def test_a_listener_cannot_correct_a_conversation_she_cannot_see(
    rt: Runtime, anna: Dash, dash_factory: Callable[..., Dash]
) -> None:
    cid = waiting(rt)
    dash_factory("bruno").post(f"/conversations/{cid}/claim")
    response = anna.post(f"/conversations/{cid}/correction", {"category": "not_crisis"})
    assert response.status_code == 403 and _corrections(rt) == []


def test_closing_can_correct_the_first_message(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt, "mi sento sola tutte le sere")
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    assert 'name="correction"' in page
    response = anna.post(
        f"/conversations/{cid}/close", {"outcome": "ascolto", "correction": "should_be_crisis"}
    )
    assert response.status_code == 302
    (found,) = _corrections(rt)
    assert (found.category, found.text) == ("should_be_crisis", "mi sento sola tutte le sere")


def test_closing_without_a_correction_stores_none(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/close", {"outcome": "ascolto", "correction": ""})
    assert _corrections(rt) == []
    bad = waiting(rt, "un'altra cosa")
    anna.post(f"/conversations/{bad}/claim")
    refused = anna.post(
        f"/conversations/{bad}/close", {"outcome": "ascolto", "correction": "inventata"}, fetch=True
    )
    assert refused.status_code == 409 and _corrections(rt) == []


def test_coordinator_page_and_csv_list_the_corrections(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    cid = waiting(rt, "a che ora aprite? mio padre beve")
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/correction", {"category": "should_be_crisis"})
    page = carla.get("/triage/corrections")
    assert page.status_code == 200
    assert "a che ora aprite? mio padre beve" in page.text
    assert 'data-category="should_be_crisis"><strong>1</strong>' in page.text
    download = carla.get("/triage/corrections.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    (row,) = csv.DictReader(io.StringIO(download.text))
    assert row["category"] == "should_be_crisis" and row["text"].startswith("a che ora aprite?")
    assert [e.detail for e in audit_events(rt, "corrections_exported")] == [{"rows": 1}]


def test_listeners_do_not_see_the_coordinator_page(anna: Dash) -> None:
    assert anna.get("/triage/corrections").status_code == 403
    assert anna.get("/triage/corrections.csv").status_code == 403
