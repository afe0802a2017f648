"""A conversation: who may read it, claim (atomic), reply through the outbox, notes, transfer,
release, give back to the bot, close; the audit log and the change feed for each."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import activity, conversations
from bot.db import read_session, write_session
from bot.inbox import receive
from bot.models import Contact, Conversation, Message, Note, Operator, utcnow
from bot.runtime import Runtime
from tests.conftest import make_settings
from tests.dashboard.conftest import (
    Dash,
    activity_kinds,
    add_operator,
    audit_actions,
    audit_events,
    conversation,
    listener_messages,
    waiting,
    young,
)

XSS = "<img src=x onerror=alert(1)>"


def _contact(rt: Runtime, conversation_id: str) -> Contact:
    with read_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None and found.contact_id
        contact = session.get(Contact, found.contact_id)
        assert contact is not None
        return contact


@pytest.fixture
def anna(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("anna")


@pytest.fixture
def bruno(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("bruno")


@pytest.fixture
def carla(dash_factory: Callable[..., Dash], team: dict[str, Operator]) -> Dash:
    return dash_factory("carla")


# --- reading --------------------------------------------------------------------------------


def test_history_shows_young_person_bot_and_listener_with_ticks(
    rt: Runtime, anna: Dash, team: dict[str, Operator]
) -> None:
    cid = waiting(rt, "ciao, ho un problema")
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/reply", {"body": "Ciao, sono Anna. Ti ascolto."})
    with write_session(rt.db) as session:
        bot_reply = session.exec(
            select(Message).where(Message.conversation_id == cid, Message.author == "bot")
        ).first()
        assert bot_reply is not None
        bot_reply.status = "delivered"
        session.add(bot_reply)
        failed = Message(
            conversation_id=cid,
            channel="whatsapp",
            direction="out",
            author="listener",
            operator_id=team["anna"].id,
            body="non arrivato",
            status="failed",
            error_code="63016",
            error_message="finestra chiusa",
        )
        session.add(failed)
    page = anna.get(f"/conversations/{cid}").text
    assert "ciao, ho un problema" in page
    assert "Ciao, sono Anna. Ti ascolto." in page and "Anna" in page
    assert "author-bot" in page and "consegnato" in page  # the bot's message, delivered
    assert "in coda di invio" in page  # Anna's reply, not sent yet
    assert "non inviato" in page and "finestra chiusa" in page  # a failure, with the reason


def test_listener_reads_waiting_and_own_but_not_others(
    rt: Runtime, anna: Dash, bruno: Dash, carla: Dash
) -> None:
    cid = waiting(rt, "sono in coda")
    assert anna.get(f"/conversations/{cid}").status_code == 200  # in the queue: anyone
    bruno.post(f"/conversations/{cid}/claim")
    assert bruno.get(f"/conversations/{cid}").status_code == 200
    refused = anna.get(f"/conversations/{cid}")
    assert refused.status_code == 403 and "sono in coda" not in refused.text
    assert (
        anna.get(f"/conversations/{cid}/live", headers={"X-Requested-With": "fetch"}).status_code
        == 403
    )
    assert carla.get(f"/conversations/{cid}").status_code == 200  # coordinators see everything
    assert anna.get("/conversations/" + "0" * 32).status_code == 404


def test_listener_cannot_read_conversations_with_the_bot(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    receipt = receive(rt, young("ciao"))
    assert receipt.conversation_id
    if conversation(rt, receipt.conversation_id).status == "bot":
        assert anna.get(f"/conversations/{receipt.conversation_id}").status_code == 403
    assert carla.get(f"/conversations/{receipt.conversation_id}").status_code == 200


def test_viewing_is_audited(rt: Runtime, anna: Dash, team: dict[str, Operator]) -> None:
    cid = waiting(rt)
    anna.get(f"/conversations/{cid}")
    (event,) = audit_events(rt, "viewed")
    assert event.operator_id == team["anna"].id and event.conversation_id == cid


def test_everything_shown_is_text_not_markup(rt: Runtime, anna: Dash, carla: Dash) -> None:
    cid = waiting(
        rt,
        XSS,
        channel="email",
        meta={"subject": "<script>alert(2)</script>"},
        display_name="<b>Giulia</b>",
        media=[
            {
                "url": "javascript:alert(3)",
                "name": "<i>foto</i>.jpg",
                "type": "image/jpeg",
                "size": 2048,
            },
            {
                "url": "https://media.example.org/a.pdf",
                "name": "compito.pdf",
                "type": "application/pdf",
                "size": 1000,
            },
        ],
    )
    for dash in (anna, carla):
        for path in ("/", f"/conversations/{cid}", f"/conversations/{cid}/live", "/queue"):
            page = dash.get(path).text
            assert XSS not in page and "<script>alert(2)" not in page, path
            assert "<i>foto" not in page and "javascript:" not in page, path
        page = dash.get(f"/conversations/{cid}").text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page  # the e-mail subject, as text
        assert "&lt;i&gt;foto&lt;/i&gt;.jpg" in page  # a dangerous link is not a link
        assert 'href="https://media.example.org/a.pdf"' in page and "noopener" in page


def test_pseudonym_only_the_address_is_for_coordinators_and_audited(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    cid = waiting(rt, "ciao", address="whatsapp:+393471234567", display_name="Giulia Rossi")
    contact = _contact(rt, cid)
    listener_page = anna.get(f"/conversations/{cid}").text
    assert contact.pseudonym in listener_page
    assert "1234567" not in listener_page and "Giulia Rossi" not in listener_page
    assert "Mostra il contatto reale" not in listener_page
    assert anna.post(f"/conversations/{cid}/reveal").status_code == 403
    coordinator_page = carla.get(f"/conversations/{cid}").text
    assert "1234567" not in coordinator_page  # not until asked
    response = carla.post(f"/conversations/{cid}/reveal")
    assert response.status_code == 302 and "+39347" not in response.headers["Location"]
    revealed = carla.get(response.headers["Location"]).text
    assert "whatsapp:+393471234567" in revealed and "Giulia Rossi" in revealed
    assert "whatsapp:+393471234567" not in carla.get(f"/conversations/{cid}").text  # once
    assert "address_revealed" in audit_actions(rt, cid)
    assert any(e.detail.get("address_shown") for e in audit_events(rt, "viewed"))


def test_previous_conversations_of_the_same_person_are_shown(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    first = waiting(rt, "la prima volta che scrivo", address="whatsapp:+393330001111")
    carla.post(f"/conversations/{first}/close", {"outcome": "ascolto", "topics": ["scuola"]})
    second = waiting(rt, "sono tornata", address="whatsapp:+393330001111")
    assert second != first
    page = anna.get(f"/conversations/{second}").text
    assert "Conversazioni precedenti" in page and "la prima volta che scrivo" in page
    assert "Scuola e studio" in page


def test_coordinator_exports_the_transcript_without_the_address(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    cid = waiting(rt, "testo da esportare", address="whatsapp:+393335550000")
    assert anna.get(f"/conversations/{cid}/export").status_code == 403
    response = carla.get(f"/conversations/{cid}/export")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert "testo da esportare" in response.text and "5550000" not in response.text
    assert _contact(rt, cid).pseudonym in response.text
    assert "exported" in audit_actions(rt, cid)


# --- claim ----------------------------------------------------------------------------------


def test_claim_takes_the_conversation(rt: Runtime, anna: Dash, team: dict[str, Operator]) -> None:
    cid = waiting(rt)
    response = anna.post(f"/conversations/{cid}/claim")
    assert response.status_code == 302 and response.headers["Location"].endswith(cid)
    held = conversation(rt, cid)
    assert held.status == "listener" and held.listener_id == team["anna"].id and held.claimed_at
    assert "claimed" in audit_actions(rt, cid) and "claimed" in activity_kinds(rt, cid)


def test_second_claim_is_told_who_was_quicker(rt: Runtime, anna: Dash, bruno: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    response = bruno.post(f"/conversations/{cid}/claim")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert "Anna l&#39;ha già presa in carico" in bruno.get("/").text
    as_script = bruno.post(f"/conversations/{cid}/claim", fetch=True)
    assert as_script.status_code == 409 and "Anna" in as_script.json["message"]


def test_two_listeners_claiming_at_once_exactly_one_wins(
    rt: Runtime, team: dict[str, Operator]
) -> None:
    """The compare-and-set itself, from many threads (each its own transaction)."""
    from bot.db import write_session as ws

    listeners = [team["anna"], team["bruno"]] + [add_operator(rt, f"vol{i}") for i in range(4)]
    for _ in range(3):
        cid = waiting(rt)
        barrier = threading.Barrier(len(listeners))
        results: list[Any] = []

        def claim(
            operator: Operator,
            cid: str = cid,
            barrier: threading.Barrier = barrier,
            results: list[Any] = results,
        ) -> None:
            barrier.wait()
            try:
                with ws(rt.db) as session:
                    conversations.claim(session, cid, operator, 3, utcnow())
                results.append(operator.id)
            except conversations.Refused as exc:
                results.append(exc)

        threads = [threading.Thread(target=claim, args=(o,)) for o in listeners]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, conversations.Refused)]
        assert len(winners) == 1 and len(losers) == len(listeners) - 1
        assert conversation(rt, cid).listener_id == winners[0]
        names = {o.id: o.display_name or o.username for o in listeners}
        assert all(e.holder == names[winners[0]] for e in losers)
        assert audit_actions(rt, cid).count("claimed") == 1


def test_capacity_limits_claims(rt: Runtime, dash_factory: Callable[..., Dash]) -> None:
    add_operator(rt, "dario", capacity=2)
    dario = dash_factory("dario")
    ids = [waiting(rt) for _ in range(3)]
    for cid in ids[:2]:
        assert dario.post(f"/conversations/{cid}/claim").headers["Location"].endswith(cid)
    refused = dario.post(f"/conversations/{ids[2]}/claim", fetch=True)
    assert refused.status_code == 409 and "massimo 2" in refused.json["message"]
    assert conversation(rt, ids[2]).status == "waiting"


def test_claim_of_a_conversation_no_longer_waiting(rt: Runtime, anna: Dash, carla: Dash) -> None:
    cid = waiting(rt)
    carla.post(f"/conversations/{cid}/close", {"outcome": "non-pertinente"})
    response = anna.post(f"/conversations/{cid}/claim", fetch=True)
    assert response.status_code == 409 and "non è più in coda" in response.json["message"]


# --- replies --------------------------------------------------------------------------------


def test_reply_goes_through_the_outbox_and_wakes_the_worker(
    rt: Runtime, anna: Dash, team: dict[str, Operator]
) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    rt.outbox_ready.clear()
    response = anna.post(f"/conversations/{cid}/reply", {"body": "  Ciao, sono qui.  "})
    assert response.status_code == 302
    (row,) = listener_messages(rt, cid)
    assert row.body == "Ciao, sono qui." and row.direction == "out" and row.status == "queued"
    assert row.operator_id == team["anna"].id and row.channel == "whatsapp"
    assert rt.outbox_ready.is_set()
    (event,) = audit_events(rt, "replied")
    assert event.detail["messages"] == [row.id] and "Ciao" not in str(event.detail)
    assert "message" in activity_kinds(rt, cid)


def test_reply_from_the_page_script_answers_json(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    ok = anna.post(f"/conversations/{cid}/reply", {"body": "ciao"}, fetch=True)
    assert ok.status_code == 200 and ok.json["ok"]
    empty = anna.post(f"/conversations/{cid}/reply", {"body": "   "}, fetch=True)
    assert empty.status_code == 409 and "vuoto" in empty.json["message"]


def test_only_the_holder_replies(rt: Runtime, anna: Dash, bruno: Dash, carla: Dash) -> None:
    cid = waiting(rt)
    before = anna.post(f"/conversations/{cid}/reply", {"body": "prima"}, fetch=True)
    assert before.status_code == 409
    anna.post(f"/conversations/{cid}/claim")
    assert bruno.post(f"/conversations/{cid}/reply", {"body": "x"}).status_code == 403
    assert carla.post(f"/conversations/{cid}/reply", {"body": "x"}, fetch=True).status_code == 409
    assert listener_messages(rt, cid) == []


def test_quick_reply_is_sent_as_data_in_the_young_persons_language(rt: Runtime, anna: Dash) -> None:
    from operators import catalog

    replies = catalog.load(rt.settings).quick_replies
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    assert all(q.label in page for q in replies)
    anna.post(f"/conversations/{cid}/reply", {"body": "", "quick": "ci-sono"})
    with write_session(rt.db) as session:
        contact = session.get(Contact, _contact(rt, cid).id)
        assert contact is not None
        contact.language = "en"
        session.add(contact)
    anna.post(f"/conversations/{cid}/reply", {"body": "", "quick": "ci-sono"})
    italian, english = listener_messages(rt, cid)
    ci_sono = next(q for q in replies if q.id == "ci-sono")
    assert italian.body == ci_sono.text and english.body == ci_sono.text_en
    assert [e.detail.get("quick_reply") for e in audit_events(rt, "replied")] == ["ci-sono"] * 2


def test_quick_replies_use_the_configured_numbers(rt: Runtime) -> None:
    from operators import catalog

    numbers = next(q for q in catalog.load(rt.settings).quick_replies if q.id == "numeri-utili")
    assert all(n.number in numbers.text for n in rt.emergency) and "{" not in numbers.text


def test_past_the_whatsapp_window_only_the_template_is_offered(
    database_url: str, rt: Runtime, team: dict[str, Operator]
) -> None:
    from bot.app import create_app

    settings = make_settings(database_url, SOS_TWILIO_REENGAGE_CONTENT_SID="HX" + "a" * 32)
    app = create_app(rt=Runtime.create(settings, engine=rt.db))
    anna = Dash(app.test_client())
    anna.login("anna")
    cid = waiting(rt, "ciao", at=utcnow() - timedelta(hours=25))
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    assert 'id="reply-body"' not in page and "Invia il messaggio di ricontatto" in page
    assert "Finestra WhatsApp chiusa" in page
    refused = anna.post(f"/conversations/{cid}/reply", {"body": "ci sei?"}, fetch=True)
    assert refused.status_code == 409 and "24 ore" in refused.json["message"]
    assert anna.post(f"/conversations/{cid}/reengage").status_code == 302
    (template,) = listener_messages(rt, cid)
    assert template.kind == "template" and template.meta["content_sid"] == "HX" + "a" * 32


def test_within_the_window_the_closing_time_is_shown(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt, "ciao", at=utcnow() - timedelta(hours=23))
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    assert "chiude tra" in page and "window-closing" in page and 'id="reply-body"' in page
    refused = anna.post(f"/conversations/{cid}/reengage", fetch=True)
    assert refused.status_code == 409 and "ancora aperta" in refused.json["message"]


def test_no_reply_after_stop(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    with write_session(rt.db) as session:
        contact = session.get(Contact, _contact(rt, cid).id)
        assert contact is not None
        contact.opted_out_at = utcnow()
        session.add(contact)
    assert "Ha scritto STOP" in anna.get(f"/conversations/{cid}").text
    refused = anna.post(f"/conversations/{cid}/reply", {"body": "ciao"}, fetch=True)
    assert refused.status_code == 409 and listener_messages(rt, cid) == []


def test_email_replies_go_to_the_email_outbox(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt, "ciao via mail", channel="email")
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/reply", {"body": "Risposta per e-mail " * 200})
    rows = listener_messages(rt, cid)
    assert len(rows) == 1 and rows[0].channel == "email"  # no WhatsApp splitting


# --- notes, transfer, release, give back, close ---------------------------------------------


def test_private_notes_are_stored_never_sent(rt: Runtime, anna: Dash, bruno: Dash) -> None:
    cid = waiting(rt)
    refused = anna.post(f"/conversations/{cid}/note", {"body": "prima di prenderla"}, fetch=True)
    assert refused.status_code == 409
    anna.post(f"/conversations/{cid}/claim")
    anna.post(f"/conversations/{cid}/note", {"body": "ha nominato la scuola <b>X</b>"})
    with read_session(rt.db) as session:
        (note,) = session.exec(select(Note)).all()
    assert note.body == "ha nominato la scuola <b>X</b>"
    assert listener_messages(rt, cid) == []
    page = anna.get(f"/conversations/{cid}").text
    assert "ha nominato la scuola &lt;b&gt;X&lt;/b&gt;" in page
    (event,) = audit_events(rt, "noted")
    assert "scuola" not in str(event.detail)


def test_transfer_to_another_listener(
    rt: Runtime, anna: Dash, bruno: Dash, team: dict[str, Operator]
) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    assert "Bruno (0/3)" in page
    response = anna.post(f"/conversations/{cid}/transfer", {"to": team["bruno"].id})
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert conversation(rt, cid).listener_id == team["bruno"].id
    assert anna.get(f"/conversations/{cid}").status_code == 403
    assert bruno.get(f"/conversations/{cid}").status_code == 200
    (event,) = audit_events(rt, "transferred")
    assert event.detail == {"from": team["anna"].id, "to": team["bruno"].id}
    assert "transferred" in activity_kinds(rt, cid)


def test_transfer_respects_the_receivers_capacity(
    rt: Runtime, anna: Dash, dash_factory: Callable[..., Dash]
) -> None:
    full = add_operator(rt, "elena", name="Elena", capacity=1)
    elena = dash_factory("elena")
    elena.post(f"/conversations/{waiting(rt)}/claim")
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    refused = anna.post(f"/conversations/{cid}/transfer", {"to": full.id}, fetch=True)
    assert refused.status_code == 409 and "Elena ha già 1" in refused.json["message"]


def test_only_holder_or_coordinator_transfers(
    rt: Runtime, anna: Dash, bruno: Dash, carla: Dash, team: dict[str, Operator]
) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    assert bruno.post(f"/conversations/{cid}/transfer", {"to": team["bruno"].id}).status_code == 403
    carla.post(f"/conversations/{cid}/transfer", {"to": team["carla"].id})
    assert conversation(rt, cid).listener_id == team["carla"].id


def test_release_puts_it_back_in_its_place(rt: Runtime, anna: Dash) -> None:
    older = waiting(rt, at=utcnow() - timedelta(minutes=30))
    newer = waiting(rt, at=utcnow() - timedelta(minutes=1))
    anna.post(f"/conversations/{older}/claim")
    assert anna.post(f"/conversations/{older}/release").status_code == 302
    back = conversation(rt, older)
    assert back.status == "waiting" and back.listener_id is None
    page = anna.get("/").text
    assert page.index(older) < page.index(newer)  # it keeps its waiting time
    assert "released" in audit_actions(rt, older) and "released" in activity_kinds(rt, older)


def test_give_back_to_the_bot(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt, priority="high")
    anna.post(f"/conversations/{cid}/claim")
    assert anna.post(f"/conversations/{cid}/bot").status_code == 302
    back = conversation(rt, cid)
    assert back.status == "bot" and back.listener_id is None and back.priority is None
    assert "returned_to_bot" in audit_actions(rt, cid)
    before = len(listener_messages(rt, cid))
    receipt = receive(rt, young("grazie, un'altra domanda", address=_contact(rt, cid).address))
    assert receipt.conversation_id == cid and len(listener_messages(rt, cid)) == before


def test_bot_stays_silent_while_a_listener_holds(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    receipt = receive(rt, young("ci sei ancora?", address=_contact(rt, cid).address))
    assert receipt.conversation_id == cid and receipt.replies == []


def test_close_with_outcome_and_topics(rt: Runtime, anna: Dash, team: dict[str, Operator]) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    missing = anna.post(f"/conversations/{cid}/close", {"topics": ["scuola"]}, fetch=True)
    assert missing.status_code == 409 and "esito" in missing.json["message"]
    unknown = anna.post(
        f"/conversations/{cid}/close", {"outcome": "ascolto", "topics": ["inventato"]}, fetch=True
    )
    assert unknown.status_code == 409
    response = anna.post(
        f"/conversations/{cid}/close",
        {"outcome": "orientamento", "topics": ["scuola", "ansia", "scuola"]},
    )
    assert response.status_code == 302
    closed = conversation(rt, cid)
    assert closed.status == "closed" and closed.closed_at is not None
    assert closed.outcome == "orientamento" and closed.topics == ["scuola", "ansia"]
    (event,) = audit_events(rt, "closed")
    assert event.detail == {"outcome": "orientamento", "topics": ["scuola", "ansia"]}
    assert "closed" in activity_kinds(rt, cid)
    assert anna.get(f"/conversations/{cid}").status_code == 200  # she can read what she closed
    again = anna.post(f"/conversations/{cid}/close", {"outcome": "ascolto"}, fetch=True)
    assert again.status_code == 409


def test_listener_cannot_close_or_release_what_they_do_not_hold(
    rt: Runtime, anna: Dash, bruno: Dash
) -> None:
    cid = waiting(rt)
    assert (
        anna.post(f"/conversations/{cid}/close", {"outcome": "ascolto"}, fetch=True).status_code
        == 409
    )
    assert anna.post(f"/conversations/{cid}/bot", fetch=True).status_code == 409
    bruno.post(f"/conversations/{cid}/claim")
    for action in ("close", "release", "bot"):
        assert (
            anna.post(f"/conversations/{cid}/{action}", {"outcome": "ascolto"}).status_code == 403
        )
    assert conversation(rt, cid).status == "listener"


def test_a_crisis_while_held_raises_priority_and_alerts(rt: Runtime, anna: Dash) -> None:
    cid = waiting(rt)
    anna.post(f"/conversations/{cid}/claim")
    with write_session(rt.db) as session:
        found = session.get(Conversation, cid)
        assert found is not None
        from bot.conversations import Priority, escalate

        escalate(rt, session, found, Priority.CRISIS, "crisis:test", utcnow())
    assert conversation(rt, cid).status == "listener"
    assert "crisis" in activity_kinds(rt, cid)
    assert 'class="card prio-crisis"' in anna.get("/queue").text


def test_email_full_text_for_all_raw_mail_only_for_coordinators(
    rt: Runtime, anna: Dash, carla: Dash
) -> None:
    cid = waiting(
        rt,
        "la parte nuova",
        channel="email",
        meta={
            "subject": "Aiuto",
            "mail_kind": "person",
            "full_text": "la parte nuova\n> citazione",
            "raw": "From: ragazza@example.org\n\n<b>illeggibile</b>",
        },
    )
    listener_page = anna.get(f"/conversations/{cid}").text
    assert "Testo completo dell'e-mail" in listener_page and "&gt; citazione" in listener_page
    assert "ragazza@example.org" not in listener_page and "illeggibile" not in listener_page
    coordinator_page = carla.get(f"/conversations/{cid}").text
    assert "From: ragazza@example.org" in coordinator_page
    assert "&lt;b&gt;illeggibile&lt;/b&gt;" in coordinator_page
    auto = waiting(rt, "Sono in ferie", channel="email", meta={"mail_kind": "auto_reply"})
    assert "risposta automatica" in anna.get(f"/conversations/{auto}").text


def test_erasure_while_held_reaches_the_open_page_live(rt: Runtime, anna: Dash) -> None:
    """The listener's open page learns of the erasure from the change feed and shows why."""
    cid = waiting(rt, address="whatsapp:+393339990001")
    anna.post(f"/conversations/{cid}/claim")
    page = anna.get(f"/conversations/{cid}").text
    state = re.search(r'data-state="([^"]*)"', page)
    assert state and "rights-notice" not in page
    with read_session(rt.db) as session:
        seen = activity.latest_id(session)
    for text in ("CANCELLA", "sì"):
        receive(rt, young(text, address="whatsapp:+393339990001"))
    with read_session(rt.db) as session:
        changes = [(a.kind, a.conversation_id) for a in activity.since(session, seen)]
    assert ("closed", cid) in changes
    live = anna.get(f"/conversations/{cid}/live").text
    assert "Ha chiesto di cancellare i suoi dati" in live
    assert f'data-state="{state.group(1)}"' not in live  # the page reloads as a whole
    refused = anna.post(f"/conversations/{cid}/note", {"body": "nota"}, fetch=True)
    assert refused.status_code == 409
