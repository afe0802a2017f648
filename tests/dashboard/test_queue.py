"""The queue: order, what each line shows, flags, who sees which conversations."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from bot import arrivals
from bot.channel import Inbound
from bot.db import write_session
from bot.models import Contact, Conversation, Operator, utcnow
from bot.runtime import Runtime
from bot.worker import receive_due
from tests.dashboard.conftest import Dash, conversation, waiting


def _order(html: str, ids: list[str]) -> list[str]:
    """The given conversations in the order the page shows them (each once)."""
    seen = [m for m in re.findall(r'data-conversation="([0-9a-f]{32})"', html) if m in ids]
    return list(dict.fromkeys(seen))


def _claim(rt: Runtime, conversation_id: str, operator: Operator) -> None:
    with write_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        found.status, found.listener_id, found.claimed_at = "listener", operator.id, utcnow()
        session.add(found)


def test_queue_orders_by_priority_then_waiting_time(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    now = utcnow()
    normal_old = waiting(rt, "vorrei un consiglio", at=now - timedelta(minutes=40))
    high = waiting(rt, "litigo sempre con i miei", priority="high", at=now - timedelta(minutes=5))
    normal_new = waiting(rt, "una domanda", at=now - timedelta(minutes=2))
    crisis = waiting(rt, "non ce la faccio più", priority="crisis", at=now - timedelta(minutes=1))
    high_old = waiting(
        rt, "a scuola mi prendono in giro", priority="high", at=now - timedelta(minutes=30)
    )
    page = dash_factory("anna").get("/").text
    assert _order(page, [normal_old, high, normal_new, crisis, high_old]) == [
        crisis,
        high_old,
        high,
        normal_old,
        normal_new,
    ]


def test_each_line_shows_channel_pseudonym_first_words_wait_and_flags(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    long_text = "mi sento molto solo ultimamente " * 10
    cid = waiting(
        rt,
        long_text,
        priority="crisis",
        at=utcnow() - timedelta(minutes=12),
        address="whatsapp:+393339998877",
    )
    with write_session(rt.db) as session:
        found = session.get(Conversation, cid)
        assert found is not None
        found.out_of_hours = True
        session.add(found)
    page = dash_factory("anna").get("/").text
    person = conversation(rt, cid)
    assert "WhatsApp" in page
    with write_session(rt.db) as session:
        contact = session.get(Contact, person.contact_id)
        assert contact is not None
        pseudonym = contact.pseudonym
    assert pseudonym in page and "+393339998877" not in page and "9998877" not in page
    assert "mi sento molto solo ultimamente" in page and long_text.strip() not in page  # cut
    assert "attende da" in page and "12 min" in page
    card = _card(page, cid)
    assert 'class="badge prio-crisis">Crisi' in card and "Fuori orario" in card
    assert "crisi: pensieri suicidari" in card  # why the bot handed it over, in words


def test_whatsapp_window_closing_is_flagged(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    now = utcnow()
    closing = waiting(rt, "ci sei?", at=now - timedelta(hours=23))
    fresh = waiting(rt, "ci sei?", at=now - timedelta(minutes=5))
    closed = waiting(rt, "ci sei?", at=now - timedelta(hours=30))
    email = waiting(rt, "ci sei?", channel="email", at=now - timedelta(hours=30))
    page = dash_factory("anna").get("/").text
    cards = {cid: _card(page, cid) for cid in (closing, fresh, closed, email)}
    assert "Finestra WhatsApp: chiude tra" in cards[closing]
    assert "Finestra" not in cards[fresh]
    assert "Finestra WhatsApp chiusa" in cards[closed]
    assert "Finestra" not in cards[email] and "E-mail" in cards[email]


def _card(page: str, conversation_id: str) -> str:
    start = page.index(f'data-conversation="{conversation_id}"')
    end = page.find('<li class="card', start)
    return page[start : end if end > 0 else len(page)]


def test_listener_sees_queue_and_own_conversations_not_others(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    queued = waiting(rt, "sono in coda")
    mine = waiting(rt, "sono di anna")
    theirs = waiting(rt, "sono di bruno")
    _claim(rt, mine, team["anna"])
    _claim(rt, theirs, team["bruno"])
    page = dash_factory("anna").get("/").text
    assert queued in page and mine in page and theirs not in page
    assert "Le mie conversazioni" in page and "1/3" in page
    assert "In carico ad altri" not in page
    coordinator = dash_factory("carla").get("/").text
    assert queued in coordinator and theirs in coordinator and "In carico a Bruno" in coordinator


def test_capacity_shown_is_the_operators_own(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    with write_session(rt.db) as session:
        anna = session.get(Operator, team["anna"].id)
        assert anna is not None
        anna.capacity = 5
        session.add(anna)
    assert "0/5" in dash_factory("anna").get("/").text
    assert f"0/{rt.settings.service.listener_capacity}" in dash_factory("bruno").get("/").text


def test_new_messages_in_my_conversations_are_flagged_until_i_answer(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    cid = waiting(rt, "ciao")
    dash = dash_factory("anna")
    dash.post(f"/conversations/{cid}/claim")
    assert "Da rispondere" in dash.get("/queue").text
    dash.post(f"/conversations/{cid}/reply", {"body": "Ciao, ti ascolto."})
    assert "Da rispondere" not in dash.get("/queue").text


def test_the_fragment_is_the_lists_alone(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    cid = waiting(rt, "ciao")
    fragment = dash_factory("anna").get("/queue", headers={"X-Requested-With": "fetch"})
    assert fragment.status_code == 200 and cid in fragment.text
    assert "<html" not in fragment.text and 'id="queue-waiting"' in fragment.text


def test_out_of_hours_note_when_the_service_is_closed(
    database_url: str, rt: Runtime, team: dict[str, Operator]
) -> None:
    from zoneinfo import ZoneInfo

    from bot.app import create_app
    from tests.conftest import make_settings

    today = utcnow().astimezone(ZoneInfo(rt.settings.service.timezone)).weekday()
    other_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(today + 3) % 7]
    settings = make_settings(database_url, SOS_SERVICE_HOURS=f"{other_day} 10:00-11:00")
    app = create_app(rt=Runtime.create(settings, engine=rt.db))
    dash = Dash(app.test_client())
    dash.login("anna")
    assert "fuori orario" in dash.get("/").text


def test_messages_no_worker_reads_are_announced_on_the_queue_and_in_the_health_check(
    dash_factory: Callable[..., Dash], rt: Runtime, team: dict[str, Operator]
) -> None:
    """Answer first: if no worker reads what the webhook kept, a crisis cannot reach the queue.
    Listeners and the monitor are told."""
    anna = dash_factory("anna")
    arrivals.accept(rt, Inbound("whatsapp", "whatsapp:+393330009999", "ciao", "SM-fresh"))
    assert 'id="unread-warning"' not in anna.get("/").text  # a moment old: the worker is on it
    came = utcnow() - timedelta(seconds=arrivals.STALE_SECONDS + 60)
    arrivals.accept(rt, Inbound("whatsapp", "whatsapp:+393330009998", "aiuto", "SM-old"), came)
    page = anna.get("/").text
    assert 'id="unread-warning"' in page and "2 in attesa" in page
    assert "aiuto" not in page and "393330009998" not in page  # the warning counts, never shows
    health = anna.get("/healthz").json
    assert health["unread"] == 2 and health["unread_seconds"] >= arrivals.STALE_SECONDS + 60
    receive_due(rt)
    assert 'id="unread-warning"' not in anna.get("/").text
    assert anna.get("/healthz").json["unread"] == 0
