"""A location shared on WhatsApp in a crisis: one audited click from the queue card and the
conversation, with the label, the coordinates and a map link; in the export; gone on erasure."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from bot import privacy
from bot.channels.whatsapp.inbound import media
from bot.db import read_session, write_session
from bot.models import Contact, Message, utcnow
from bot.runtime import Runtime
from tests.dashboard.conftest import Dash, audit_events, conversation, waiting
from tests.whatsapp.conftest import message_form

COORDINATES = "45.464200, 9.190000"
MAP = "https://www.openstreetmap.org/?mlat=45.464200&amp;mlon=9.190000#map=17/45.464200/9.190000"


def shared_location() -> list[dict[str, object]]:
    """The media of a WhatsApp message with a location, as the webhook adapter reads them."""
    form = message_form("")
    form.update(Latitude="45.4642", Longitude="9.19", Label="Stazione Centrale, binario 3")
    return media(form)


def crisis_with_location(rt: Runtime) -> tuple[str, str]:
    cid = waiting(rt, "non ce la faccio più, sono qui", priority="crisis", media=shared_location())
    with read_session(rt.db) as session:
        [message] = session.exec(
            select(Message).where(Message.conversation_id == cid, Message.direction == "in")
        )
    return cid, message.id


def test_a_listener_opens_a_shared_location_with_one_audited_click(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, object]
) -> None:
    cid, mid = crisis_with_location(rt)
    anna = dash_factory("anna")
    page = anna.get(f"/conversations/{cid}").text
    assert "Posizione condivisa" in page and "Mostra la posizione" in page
    assert COORDINATES not in page and "Stazione Centrale" not in page  # not before the click
    opened = anna.post(f"/conversations/{cid}/places/{mid}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"#m-{mid}")
    page = anna.get(f"/conversations/{cid}").text
    assert "Stazione Centrale, binario 3" in page and COORDINATES in page and MAP in page
    assert "Allegato: location" not in page
    [event] = audit_events(rt, "location_opened")
    assert event.conversation_id == cid and event.operator_id == team["anna"].id  # type: ignore[attr-defined]
    assert "45.46" not in str(event.detail) and "Stazione" not in str(event.detail)
    live = anna.get(f"/conversations/{cid}/live").text  # the page's refresh keeps it open
    assert COORDINATES in live


def test_the_queue_card_of_a_crisis_opens_the_location(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, object]
) -> None:
    cid, mid = crisis_with_location(rt)
    bruno = dash_factory("bruno")
    queue = bruno.get("/").text
    assert "Posizione condivisa" in queue and f"/conversations/{cid}/places/{mid}" in queue
    assert COORDINATES not in queue
    opened = bruno.post(f"/conversations/{cid}/places/{mid}", {"back": "queue"})
    assert opened.headers["Location"].endswith(f"/#place-{mid}")
    queue = bruno.get("/").text
    assert COORDINATES in queue and MAP in queue
    assert len(audit_events(rt, "location_opened")) == 1


def test_the_export_carries_the_location(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, object]
) -> None:
    cid, _ = crisis_with_location(rt)
    text = dash_factory("carla").get(f"/conversations/{cid}/export").text
    assert "posizione: Stazione Centrale, binario 3 — 45.464200, 9.190000" in text
    assert MAP.replace("&amp;", "&") in text


def test_a_location_only_a_listener_who_may_read_the_conversation_can_open(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, object]
) -> None:
    cid, mid = crisis_with_location(rt)
    anna, bruno = dash_factory("anna"), dash_factory("bruno")
    assert anna.post(f"/conversations/{cid}/claim").status_code == 302
    assert bruno.post(f"/conversations/{cid}/places/{mid}").status_code == 403
    assert bruno.post(f"/conversations/{cid}/places/nope").status_code == 404
    assert audit_events(rt, "location_opened") == []


def test_erasure_removes_the_location(rt: Runtime, team: dict[str, object]) -> None:
    cid, mid = crisis_with_location(rt)
    with write_session(rt.db) as session:
        contact = session.get(Contact, conversation(rt, cid).contact_id)
        assert contact is not None
        privacy.erase_contact(session, contact, utcnow())
    with read_session(rt.db) as session:
        assert session.get(Message, mid) is None
        left = [m.media for m in session.exec(select(Message))]
    assert not any(item.get("type") == "location" for items in left for item in items)
