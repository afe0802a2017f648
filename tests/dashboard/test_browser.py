"""The dashboard in a real browser (Debian's chromium through Playwright), against the app on a
loopback port, the worker, and a local server that speaks Twilio's API: a young person writes on
WhatsApp (signed webhook) → the queue updates live → a listener claims and replies → the reply
reaches Twilio."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot import arrivals
from bot.channels import registry
from bot.cli import cli
from bot.db import read_session, write_session
from bot.models import Conversation, Operator, Referral, utcnow
from bot.runtime import Runtime
from bot.worker import receive_due
from tests.core.test_directory import first_import
from tests.dashboard import browser
from tests.dashboard.conftest import PASSWORD, add_operator, waiting
from tests.whatsapp.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    message_form,
    sign,
    twilio_env,
    wait_until,
    wired_runtime,
)
from tests.whatsapp.fake_twilio import FakeTwilio, http_post

pytestmark = [pytest.mark.browser]
if browser.missing():
    pytestmark.append(pytest.mark.skip(reason=browser.missing() or ""))

CRISIS = "stasera non ce la faccio più, mi voglio ammazzare"
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 60_000


@dataclass
class Shift:
    """The running service and two listeners on shift."""

    url: str
    rt: Runtime
    twilio: FakeTwilio
    anna: Operator
    bruno: Operator

    def whatsapp(self, body: str, sender: str = "whatsapp:+393331234567") -> int:
        """A young person writes: Twilio's signed webhook over HTTP, then the worker's reading."""
        form = message_form(body, sender=sender)
        url = f"{self.url}/twilio/whatsapp"
        status = http_post(url, form, {"X-Twilio-Signature": sign(url, form)})

        def read() -> bool:  # by us, or by a worker that took it first
            receive_due(self.rt)
            return arrivals.count(self.rt) == 0

        wait_until(read, 30, "the message read")
        return status

    def conversation_of(self, status: str) -> Conversation:
        def find() -> Conversation | None:
            with read_session(self.rt.db) as session:
                return session.exec(
                    select(Conversation).where(Conversation.status == status)
                ).first()

        found: Conversation = wait_until(find, 60, f"a conversation {status}")
        return found


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def shift(database_url: str) -> Iterator[Shift]:
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    rt = wired_runtime(
        database_url,
        twilio_env(
            twilio.base_url, public_url="http://placeholder", SOS_DASHBOARD_LIVE_POLL_SECONDS="0.2"
        ),
    )
    anna = add_operator(rt, "anna", name="Anna")
    bruno = add_operator(rt, "bruno", name="Bruno")
    try:
        with browser.serving(rt) as (_server, url):
            registry.configure_senders(rt)  # again, now that the public URL is known
            yield Shift(url, rt, twilio, anna, bruno)
    finally:
        twilio.stop()
        rt.db.dispose()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=browser.DESKTOP, locale="it-IT")
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.dialogs = dialogs
    yield opened
    context.close()


def test_login_crisis_appears_live_then_claim_and_reply_reach_twilio(
    shift: Shift, page: Any
) -> None:
    browser.login(page, shift.url, "anna", PASSWORD)
    assert page.locator("text=Nessuno in attesa").is_visible()
    assert not page.locator("#crisis-alert").is_visible()
    page.evaluate("window.__sameDocument = true")

    assert shift.whatsapp(CRISIS) == 200
    card = page.locator("#waiting-list .card.prio-crisis")
    card.wait_for()
    assert page.evaluate("window.__sameDocument") is True  # no reload: it came live
    assert "ammazzare" in card.inner_text() and "Crisi" in card.inner_text()
    alert = page.locator("#crisis-alert")
    alert.wait_for(state="visible")
    assert "Crisi segnalata" in alert.inner_text()
    page.wait_for_function("Number(document.body.dataset.sounds || 0) >= 1")  # the chime played
    assert page.title().startswith("⚠ CRISI")

    card.locator("button[data-claim]").click()
    page.wait_for_url(re.compile(r"/conversations/[0-9a-f]{32}$"))
    assert "Conversazione presa in carico" in page.locator(".flash").inner_text()
    assert CRISIS in page.locator("#thread").inner_text()
    page.wait_for_selector("body[data-live-ready='1']")
    assert not page.locator("#crisis-alert").is_visible()  # an old crisis is not replayed

    shift.twilio.auto_status = ["sent", "delivered"]
    reply = "Ciao, sono Anna. Sono qui con te: sei al sicuro in questo momento?"
    page.fill("#reply-body", reply)
    page.click("#send")
    shift.twilio.wait_for(lambda: any(m["body"] == reply for m in shift.twilio.messages), 60)
    sent = next(m for m in shift.twilio.messages if m["body"] == reply)
    assert sent["to"] == "whatsapp:+393331234567"
    mine = page.locator("#thread .msg.author-listener").last
    assert reply in mine.inner_text()
    mine.locator(".tick-delivered").wait_for()  # the delivery tick arrived live
    assert page.locator("#reply-body").input_value() == ""
    assert page.dialogs == []


def test_a_message_with_markup_shows_as_text_and_runs_nothing(shift: Shift, page: Any) -> None:
    browser.login(page, shift.url, "anna", PASSWORD)
    page.evaluate("window.__sameDocument = true")
    assert shift.whatsapp(XSS + " aiutatemi, voglio parlare con un operatore") == 200
    conversation = _only_conversation(shift)
    if conversation.status != "waiting":  # the bot asked first; the queue gets it when escalated
        _escalate(shift.rt, conversation.id)
    card = page.locator(f"[data-conversation='{conversation.id}']").first
    card.wait_for()
    assert XSS in card.locator(".preview").inner_text()
    assert page.locator("img").count() == 0
    page.goto(f"{shift.url}/conversations/{conversation.id}")
    assert XSS in page.locator("#thread").inner_text()
    assert page.locator("img").count() == 0
    page.wait_for_load_state("load")  # an image's onerror would have run by then
    assert page.dialogs == []


def _only_conversation(shift: Shift) -> Conversation:
    with read_session(shift.rt.db) as session:
        (found,) = session.exec(select(Conversation)).all()
        return found


def _escalate(rt: Runtime, conversation_id: str) -> None:
    from bot.conversations import Priority, escalate
    from bot.db import write_session
    from bot.models import utcnow

    with write_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        escalate(rt, session, found, Priority.NORMAL, "asked_for_person", utcnow())


def test_two_listeners_claim_at_once_exactly_one_gets_it(shift: Shift, chromium: Any) -> None:
    assert shift.whatsapp(CRISIS) == 200
    conversation = shift.conversation_of("waiting")
    pages = []
    for username in ("anna", "bruno"):
        context = chromium.new_context(viewport=browser.PHONE, locale="it-IT")
        opened = context.new_page()
        opened.set_default_timeout(TIMEOUT_MS)
        browser.login(opened, shift.url, username, PASSWORD)
        opened.goto(f"{shift.url}/conversations/{conversation.id}")
        pages.append(opened)
    for opened in pages:  # both press "Prendi in carico" at the same moment
        opened.evaluate("document.querySelector('button[data-claim]').form.requestSubmit()")
    for opened in pages:
        opened.wait_for_load_state()
        opened.locator(".flash").wait_for()
    flashes = [opened.locator(".flash").inner_text() for opened in pages]
    won = [i for i, text in enumerate(flashes) if "Conversazione presa in carico" in text]
    assert len(won) == 1, flashes
    winner = ("Anna", "Bruno")[won[0]]
    loser_text = flashes[1 - won[0]]
    assert f"{winner} l'ha già presa in carico" in loser_text
    with read_session(shift.rt.db) as session:
        held = session.get(Conversation, conversation.id)
        assert held is not None and held.status == "listener"
        assert held.listener_id == (shift.anna.id, shift.bruno.id)[won[0]]
    for opened in pages:
        opened.context.close()


def test_a_support_request_rings_on_the_coordinators_open_dashboard(
    shift: Shift, chromium: Any
) -> None:
    add_operator(shift.rt, "carla", "coordinator", name="Carla")
    assert shift.whatsapp(CRISIS) == 200
    conversation = shift.conversation_of("waiting")
    pages = {}
    for username in ("carla", "anna"):
        context = chromium.new_context(viewport=browser.DESKTOP, locale="it-IT")
        opened = context.new_page()
        opened.set_default_timeout(TIMEOUT_MS)
        browser.login(opened, shift.url, username, PASSWORD)
        pages[username] = opened
    carla, anna = pages["carla"], pages["anna"]
    carla.evaluate("window.__sameDocument = true")

    anna.goto(f"{shift.url}/conversations/{conversation.id}")
    anna.locator("button[data-claim]").click()
    anna.wait_for_url(re.compile(r"/conversations/[0-9a-f]{32}$"))
    anna.wait_for_selector("body[data-live-ready='1']")
    anna.click("#ask-support")
    anna.locator("#support-requests li").wait_for()  # her own page shows the request

    carla.wait_for_selector("body[data-support-alerts='1']")  # (the page's CSP forbids eval)
    box = carla.locator("#crisis-alert")
    box.wait_for(state="visible")
    assert "Richiesta di supporto" in box.inner_text()
    assert carla.evaluate("window.__sameDocument") is True  # it came live, no reload
    assert int(carla.evaluate("document.body.dataset.sounds || '0'")) >= 1  # the chime played
    assert carla.title().startswith("🆘 SUPPORTO")
    carla.click("#crisis-alert-link")
    carla.wait_for_url(f"{shift.url}/conversations/{conversation.id}")
    assert "Anna ha chiesto supporto" in carla.locator("#support-requests").inner_text()
    assert not anna.locator("#crisis-alert").is_visible()  # listeners are not rung for it
    for opened in pages.values():
        opened.context.close()


def test_listener_marks_the_bots_reading_as_wrong(shift: Shift, page: Any) -> None:
    """The correction form of the conversation view: chosen in the browser, stored with the
    message, audited."""
    from bot.models import AuditEvent, TriageCorrection

    assert shift.whatsapp("ho tanti lividi, a casa è un casino") == 200
    conversation = shift.conversation_of("waiting")
    browser.login(page, shift.url, "anna", PASSWORD)
    page.goto(f"{shift.url}/conversations/{conversation.id}")
    page.locator("button[data-claim]").click()
    page.wait_for_url(re.compile(r"/conversations/[0-9a-f]{32}$"))
    form = page.locator("#correction-form")
    assert "ho tanti lividi" in form.locator("#correction-message").inner_text()
    form.locator("input[value='should_be_crisis']").check()
    form.locator("#correction-send").click()
    # the claim's flash may still be on the page: wait for the correction's own
    thanks = page.locator(".flash", has_text="la correzione aiuta a migliorare il bot")
    thanks.wait_for()
    assert thanks.count() == 1
    with read_session(shift.rt.db) as session:
        (found,) = session.exec(select(TriageCorrection)).all()
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert found.category == "should_be_crisis"
    assert found.text == "ho tanti lividi, a casa è un casino"
    assert found.operator_id == shift.anna.id and "triage_corrected" in actions


def _refer(page: Any, url: str, conversation_id: str, service_id: str) -> str:
    """Claim, pick the service by topic and zone, send its card; the text that was sent."""
    page.goto(f"{url}/conversations/{conversation_id}")
    page.locator("button[data-claim]").click()
    page.wait_for_url(re.compile(r"/conversations/[0-9a-f]{32}$"))
    page.click("#refer summary")
    page.select_option("#refer-filter-topic", "scuola")
    page.select_option("#refer-filter-zone", "Sarsina")
    visible = page.locator("#refer-list li[data-topics]:visible")
    assert visible.count() == 1 and "Sportello Giovani Sarsina" in visible.inner_text()
    page.click(f"[data-refer={service_id}]")
    card = page.input_value("#reply-body")
    page.click("#send")
    page.locator("#thread li", has_text="0547 111222").wait_for()  # sent, shown in the thread
    return card


def test_a_coordinator_adds_a_service_and_listeners_refer_to_it_counted_after_purge(
    shift: Shift, chromium: Any, page: Any
) -> None:
    rt = shift.rt
    first_import(rt)  # the directory as `sos-bot db upgrade` leaves it
    add_operator(rt, "carla", "coordinator", name="Carla")
    browser.login(page, shift.url, "carla", PASSWORD)
    page.click("nav >> text=Servizi")
    assert page.locator("#services tr[data-service]").count() == 14
    page.click("#add-service")
    page.fill("#service-name", "Sportello Giovani Sarsina")
    page.fill("#service-about", "Ascolto e orientamento per chi va a scuola.")
    page.check("input[name=topics][value=scuola]")
    page.check("input[name=zones][value=Sarsina]")
    page.fill("#service-phone", "0547 111222")
    page.check("#service-checked")
    page.click("#save-service")
    page.wait_for_url(re.compile(r"/services/sportello-giovani-sarsina$"))
    assert "Servizio aggiunto" in page.locator(".flash").inner_text()

    listener = chromium.new_context(viewport=browser.PHONE, locale="it-IT").new_page()
    listener.set_default_timeout(TIMEOUT_MS)
    browser.login(listener, shift.url, "anna", PASSWORD)
    assert shift.whatsapp("vorrei parlare con un volontario") == 200
    on_whatsapp = shift.conversation_of("waiting")
    card = _refer(listener, shift.url, on_whatsapp.id, "sportello-giovani-sarsina")
    assert "*Sportello Giovani Sarsina*" in card and "Telefono: 0547 111222" in card
    shift.twilio.wait_for(
        lambda: any("0547 111222" in m["body"] for m in shift.twilio.messages), 60
    )

    by_email = waiting(rt, channel="email")  # a mail, as the IMAP listener hands it in
    _refer(listener, shift.url, by_email, "sportello-giovani-sarsina")

    def counted() -> list[Referral]:
        with read_session(rt.db) as session:
            found = list(session.exec(select(Referral)))
        return found if len(found) == 2 else []

    made = wait_until(counted, 60, "two referrals")
    assert sorted(r.channel for r in made) == ["email", "whatsapp"]
    assert {(r.service_id, r.by, r.topic) for r in made} == {
        ("sportello-giovani-sarsina", "listener", "scuola")
    }

    with write_session(rt.db) as session:  # both closed long ago: past the retention period
        for conversation_id in (on_whatsapp.id, by_email):
            closed = session.get(Conversation, conversation_id)
            assert closed is not None
            closed.status, closed.closed_at = "closed", utcnow() - timedelta(days=400)
    result = CliRunner().invoke(cli, ["purge"], env={"SOS_DATABASE_URL": rt.settings.database.url})
    assert result.exit_code == 0 and "anonymised 2 conversations" in result.output, result.output
    with read_session(rt.db) as session:
        kept = list(session.exec(select(Referral)))
    assert len(kept) == 2 and all(r.conversation_id is None for r in kept)
    page.goto(f"{shift.url}/services/sportello-giovani-sarsina")
    assert page.locator("#referral-count").inner_text() == "2"
