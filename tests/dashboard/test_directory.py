"""The services directory pages: everyone reads, coordinators change (validated, in the audit
log), listeners refer a young person from the conversation, and close with a profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.db import read_session, write_session
from bot.models import Operator, Referral, utcnow
from bot.models import Service as Row
from bot.runtime import Runtime
from tests.core.test_directory import first_import
from tests.dashboard.conftest import Dash, audit_events, conversation, listener_messages, waiting

Dashes = Callable[[str | None], Dash]
NEW = {
    "name": "Sportello d'ascolto Sarsina",
    "about_it": "Ascolto e orientamento a scuola.",
    "topics": ["scuola", "ansia"],
    "zones": ["Sarsina"],
    "phone": "0547 111222",
    "age_min": "14",
    "age_max": "19",
    "languages": "it, en",
    "checked": "1",
}


@pytest.fixture
def directory(rt: Runtime) -> Runtime:
    first_import(rt)
    return rt


def service(rt: Runtime, service_id: str) -> Row | None:
    with read_session(rt.db) as session:
        return session.get(Row, service_id)


def referrals(rt: Runtime) -> list[Referral]:
    with read_session(rt.db) as session:
        from sqlmodel import select

        return list(session.exec(select(Referral)))


def test_a_listener_reads_the_directory_and_searches_it(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    anna = dash_factory("anna")
    page = anna.get("/services/").text
    assert page.count('data-service="') == 14 and "Caritas" in page
    assert page.count(">Rete</span>") == 11
    assert "Aggiungi un servizio" not in page
    found = anna.get("/services/", query_string={"topic": "migrazione"}).text
    assert found.count('data-service="') == 2 and "Centro Stranieri" in found
    found = anna.get("/services/", query_string={"q": "tratta"}).text
    assert found.count('data-service="') == 1 and "Oltre la Strada" in found
    assert anna.get("/services/caritas").status_code == 200


@pytest.mark.parametrize("path", ["/services/new", "/services/caritas/edit"])
def test_a_listener_cannot_reach_the_edit_pages(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes, path: str
) -> None:
    anna = dash_factory("anna")
    assert anna.get(path).status_code == 403
    assert anna.post(path, {**NEW, "name": "Cambiato"}).status_code == 403
    for action in ("retire", "delete"):
        assert anna.post(f"/services/caritas/{action}").status_code == 403
    row = service(directory, "caritas")
    assert row is not None and row.active and row.name.startswith("Caritas")
    assert not audit_events(directory, "service_changed") + audit_events(directory, "service_added")


def test_a_coordinator_adds_edits_and_sees_the_history(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    carla = dash_factory("carla")
    response = carla.post("/services/new", NEW)
    assert response.status_code == 302, response.text
    row = service(directory, "sportello-d-ascolto-sarsina")
    assert row is not None
    assert (row.topics, row.zones, row.age_min, row.age_max, row.languages) == (
        ["scuola", "ansia"],
        ["Sarsina"],
        14,
        19,
        ["it", "en"],
    )
    assert row.checked_by == "Carla" and row.checked_at is not None and row.active

    edit = {**NEW, "phone": "0547 333444", "checked": ""}
    assert carla.post(f"/services/{row.id}/edit", edit).status_code == 302
    (changed,) = audit_events(directory, "service_changed")
    assert changed.detail == {
        "service": row.id,
        "changes": {"phone": ["0547 111222", "0547 333444"]},
    }
    assert changed.operator_id == team["carla"].id
    page = carla.get(f"/services/{row.id}").text
    assert "0547 111222" in page and "0547 333444" in page and "aggiunto" in page
    assert 'id="stale"' not in page  # checked today


def test_the_form_says_what_is_wrong_and_saves_nothing(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    carla = dash_factory("carla")
    bad = {
        **NEW,
        "name": " ",
        "topics": [],
        "email": "non-una-mail",
        "web": "www.x.it",
        "age_min": "20",
        "age_max": "15",
        "languages": "italiano",
    }
    response = carla.post("/services/new", bad)
    assert response.status_code == 400
    for message in (
        "Scrivi il nome del servizio.",
        "Scegli almeno un tema",
        "E-mail: non sembra un indirizzo valido",
        "deve iniziare con https://",
        "L&#39;età minima è più alta",
        "Lingue: scrivi i codici",
    ):
        assert message in response.text, message
    assert 'value="0547 111222"' in response.text  # what was typed stays in the form
    assert not audit_events(directory, "service_added")


def test_services_not_checked_for_months_are_flagged(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    with write_session(directory.db) as session:
        for service_id, days in (("caritas", 200), ("centro-stranieri", 20)):
            row = session.get(Row, service_id)
            assert row is not None
            row.checked_at = utcnow() - timedelta(days=days)
    page = dash_factory("carla").get("/services/").text
    flagged = {
        chunk.split('"')[0]
        for chunk in page.split('data-service="')[1:]
        if "da verificare" in chunk.split("</tr>")[0]
    }
    assert "caritas" in flagged and "centro-stranieri" not in flagged
    assert "marmotta-rossa" in flagged  # never checked


def test_deleting_a_service_with_referrals_is_refused_and_retiring_keeps_the_count(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    conversation_id = waiting(directory)
    anna = dash_factory("anna")
    anna.post(f"/conversations/{conversation_id}/claim")
    sent = anna.post(
        f"/conversations/{conversation_id}/reply",
        {
            "body": "Ti lascio i contatti della Caritas.",
            "service": "caritas",
            "service_topic": "bisogni",
        },
        fetch=True,
    )
    assert sent.status_code == 200, sent.text
    carla = dash_factory("carla")
    refused = carla.post("/services/caritas/delete", follow_redirects=True)
    assert "non si può eliminare" in refused.text
    assert service(directory, "caritas") is not None
    assert carla.post("/services/caritas/retire").status_code == 302
    row = service(directory, "caritas")
    assert row is not None and not row.active
    page = carla.get("/services/", query_string={"retired": "1"}).text
    assert 'data-referrals="1"' in page.split('data-service="caritas"')[1].split("</tr>")[0]
    assert "caritas" not in carla.get("/services/").text.split("<tbody>")[1]
    assert carla.post("/services/banca-del-tempo/delete").status_code == 302  # no referrals
    assert service(directory, "banca-del-tempo") is None
    assert [e.detail["service"] for e in audit_events(directory, "service_deleted")] == [
        "banca-del-tempo"
    ]


def test_a_listener_refers_from_the_conversation(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    conversation_id = waiting(directory, channel="email")
    anna = dash_factory("anna")
    anna.post(f"/conversations/{conversation_id}/claim")
    page = anna.get(f"/conversations/{conversation_id}").text
    assert 'data-refer="centro-stranieri"' in page
    assert "Per i contatti aggiornati chiedi a un volontario" in page  # the card, no contacts
    card = "*Centro Stranieri*\nInformazioni e orientamento"
    anna.post(
        f"/conversations/{conversation_id}/reply",
        {"body": card, "service": "centro-stranieri", "service_topic": "migrazione"},
        fetch=True,
    )
    (referral,) = referrals(directory)
    assert (
        referral.service_id,
        referral.by,
        referral.channel,
        referral.topic,
        referral.conversation_id,
    ) == ("centro-stranieri", "listener", "email", "migrazione", conversation_id)
    assert listener_messages(directory, conversation_id)[0].body == card
    # a retired service is refused, and the message is not sent either
    dash_factory("carla").post("/services/caritas/retire")
    refused = anna.post(
        f"/conversations/{conversation_id}/reply",
        {"body": "Caritas", "service": "caritas"},
        fetch=True,
    )
    assert refused.status_code == 409 and "non è più nell" in refused.json["message"]
    assert len(listener_messages(directory, conversation_id)) == 1


def test_closing_notes_the_anonymous_profile(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    conversation_id = waiting(directory)
    anna = dash_factory("anna")
    anna.post(f"/conversations/{conversation_id}/claim")
    anna.post(
        f"/conversations/{conversation_id}/reply",
        {"body": "Caritas", "service": "caritas"},
        fetch=True,
    )  # no topic picked
    page = anna.get(f"/conversations/{conversation_id}").text
    assert 'name="age_band"' in page and "Verghereto" in page
    form: dict[str, Any] = {
        "outcome": "orientamento",
        "topics": ["famiglia", "bisogni"],
        "age_band": "18_21",
        "zone": "Nowhere",
        "returning": "first",
    }
    refused = anna.post(f"/conversations/{conversation_id}/close", form, fetch=True)
    assert refused.status_code == 409 and "zona sconosciuti" in refused.json["message"]
    assert conversation(directory, conversation_id).status == "listener"
    closed = anna.post(f"/conversations/{conversation_id}/close", {**form, "zone": "Montiano"})
    assert closed.status_code == 302
    done = conversation(directory, conversation_id)
    assert (done.status, done.age_band, done.zone, done.returning) == (
        "closed",
        "18_21",
        "Montiano",
        False,
    )
    (referral,) = referrals(directory)
    assert referral.topic == "bisogni"  # the first closing topic the service helps with


def test_closing_without_a_profile_keeps_not_stated(
    directory: Runtime, team: dict[str, Operator], dash_factory: Dashes
) -> None:
    conversation_id = waiting(directory)
    anna = dash_factory("anna")
    anna.post(f"/conversations/{conversation_id}/claim")
    anna.post(f"/conversations/{conversation_id}/close", {"outcome": "ascolto"})
    done = conversation(directory, conversation_id)
    assert (done.status, done.age_band, done.zone, done.returning) == (
        "closed",
        "not_stated",
        "not_stated",
        None,
    )
