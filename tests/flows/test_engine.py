"""The engine, one behaviour at a time (the transcripts show whole conversations)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from flows import Context, EmergencyNumber, Pack, fallback, step, timeout
from flows.directory import Service
from flows.events import (
    Closed,
    ConsentShown,
    EraseRequested,
    Escalate,
    FaqMatched,
    LanguageSet,
    OptedOut,
    Priority,
    Refer,
    Reply,
)
from flows.hours import OpeningHours
from flows.state import FlowState
from tests.flows.conftest import CLOSED, OPEN, ROME

Make = Callable[..., Context]


def replies(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, Reply)]


def kinds(events: list) -> list[str]:
    return [type(e).__name__ for e in events]


# -- answers that depend on the clock -------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (OPEN, "Adesso i volontari sono online"),
        (datetime(2025, 3, 3, 10, 0, tzinfo=ROME), "tornano oggi alle 15:00"),
        (CLOSED, "tornano domani alle 15:00"),
        (datetime(2025, 3, 8, 18, 0, tzinfo=ROME), "tornano lunedì alle 15:00"),
    ],
)
def test_opening_hours_answer(pack: Pack, context: Make, now: datetime, expected: str) -> None:
    result = step(pack, None, "a che ora siete aperti?", context(now=now, lang="it"))
    (text,) = replies(result.events)
    assert "lunedì-venerdì 15:00-20:00" in text and "sabato 10:00-13:00" in text
    assert expected in text


def test_opening_hours_answer_in_english(pack: Pack, context: Make) -> None:
    result = step(pack, None, "when are you open?", context(now=CLOSED, lang="en"))
    (text,) = replies(result.events)
    assert "Monday-Friday 15:00-20:00" in text and "back tomorrow at 15:00" in text


def test_handover_in_and_out_of_hours(pack: Pack, context: Make) -> None:
    during = step(pack, None, "operatore", context(now=OPEN))
    after = step(pack, None, "operatore", context(now=CLOSED))
    for result in (during, after):  # queued either way, so a listener sees it when back
        assert Escalate(Priority.NORMAL, "asked_for_person") in result.events
    assert "appena si libera" in replies(during.events)[0]
    text = replies(after.events)[0]
    assert "tornano domani alle 15:00" in text and "*19696* Telefono Azzurro" in text


def test_never_open_schedule(pack: Pack, context: Make) -> None:
    result = step(pack, None, "operatore", context(hours=OpeningHours.parse("")))
    assert "gli orari non sono ancora stati fissati" in replies(result.events)[0]
    assert Escalate(Priority.NORMAL, "asked_for_person") in result.events


def test_numbers_come_from_the_configuration(pack: Pack, context: Make) -> None:
    numbers = (EmergencyNumber("Soccorso", "999", "subito"), EmergencyNumber("Linea", "555 01"))
    result = step(pack, None, "voglio morire", context(emergency=numbers))
    text = replies(result.events)[0]
    assert "chiama subito il *999*" in text
    assert "• *555 01* Linea" in text and "112" not in text


# -- safety before everything ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["bot", "waiting"])
def test_crisis_answered_at_once(pack: Pack, context: Make, status: str) -> None:
    ctx = context(status=status, lang="it")
    result = step(pack, FlowState(node="faq"), "non voglio più vivere", ctx)
    assert kinds(result.events) == ["Reply", "Escalate"]
    assert result.events[1] == Escalate(Priority.CRISIS, "crisis:suicide")
    assert "*112*" in replies(result.events)[0]
    assert result.state.node is None


def test_crisis_with_a_listener_is_only_an_alert(pack: Pack, context: Make) -> None:
    result = step(pack, None, "mi taglio di nuovo", context(status="listener"))
    assert result.events == [Escalate(Priority.CRISIS, "crisis:self_harm")]
    quiet = step(pack, None, "ok grazie, ci penso", context(status="listener", lang="it"))
    assert quiet.events == []


# -- the young person's rights, in every status ----------------------------------------------


@pytest.mark.parametrize("status", ["bot", "waiting", "listener"])
def test_stop_acts_in_every_status(pack: Pack, context: Make, status: str) -> None:
    result = step(pack, None, "STOP", context(status=status, lang="it"))
    assert OptedOut() in result.events
    assert "non ti scriveremo più" in replies(result.events)[0]


@pytest.mark.parametrize("status", ["bot", "waiting", "listener"])
def test_erase_acts_in_every_status(pack: Pack, context: Make, status: str) -> None:
    asked = step(pack, None, "CANCELLA", context(status=status, lang="it"))
    assert asked.state.confirm == "erase"
    done = step(pack, asked.state, "sì", context(status=status, lang="it"))
    assert kinds(done.events) == ["EraseRequested", "Reply"]
    assert done.state.confirm is None


def test_asking_for_a_person_is_answered_while_queued_or_held(pack: Pack, context: Make) -> None:
    held = step(pack, None, "operatore", context(status="listener", lang="it"))
    assert replies(held.events) == [
        "Un volontario o una volontaria sta già leggendo i tuoi messaggi e ti risponde qui 🙂"
    ]
    state = step(pack, None, "ci sei?", context(status="waiting", lang="it")).state
    again = step(pack, state, "OPERATORE", context(status="waiting", lang="it"))
    assert replies(again.events) and "Sei in coda" in replies(again.events)[0]


@pytest.mark.parametrize("status", ["bot", "waiting", "listener"])
def test_an_unverified_sender_never_stops_or_erases(pack: Pack, context: Make, status: str) -> None:
    ctx = context(status=status, lang="it", verified=False)
    stopped = step(pack, None, "STOP", ctx)
    assert kinds(stopped.events) == ["Reply"] and "verificare" in replies(stopped.events)[0]
    asked = step(pack, None, "CANCELLA", ctx)
    assert kinds(asked.events) == ["Reply"] and "non cancelliamo niente" in replies(asked.events)[0]
    assert asked.state.confirm is None
    # a confirmation asked from a verified sender, answered from an unverified one
    pending = step(pack, None, "CANCELLA", context(status=status, lang="it")).state
    answered = step(pack, pending, "sì", ctx)
    assert not any(isinstance(e, EraseRequested) for e in answered.events)


def _asked_by_code(pack: Pack, context: Make, code: str = "482913", **kw: object) -> FlowState:
    asked = step(pack, None, "CANCELLA", context(lang="it", erase_code=code, code_key=b"k", **kw))
    (reply,) = [e for e in asked.events if isinstance(e, Reply)]
    assert "*482913*" in reply.text and reply.secret == code
    assert asked.state.confirm == "erase_code"
    assert code not in json.dumps(asked.state.to_json())  # only its HMAC is kept
    return asked.state


def test_erase_by_code_needs_the_code(pack: Pack, context: Make) -> None:
    state = _asked_by_code(pack, context)
    ctx = context(lang="it", erase_code="111111", code_key=b"k")
    assert not any(isinstance(e, EraseRequested) for e in step(pack, state, "sì", ctx).events)
    done = step(pack, state, "Ecco il codice: 482 913", ctx)
    assert kinds(done.events) == ["EraseRequested", "Reply"] and done.state.confirm is None


def test_erase_by_code_limited_tries(pack: Pack, context: Make) -> None:
    state = _asked_by_code(pack, context)
    ctx = context(lang="it", erase_code="111111", code_key=b"k")
    for wrong in ("000000", "123456"):
        result = step(pack, state, wrong, ctx)
        assert "non è giusto" in replies(result.events)[0] and result.state.confirm
        state = result.state
    last = step(pack, state, "654321", ctx)
    assert "tentativi sono finiti" in replies(last.events)[0] and last.state.confirm is None
    late = step(pack, last.state, "482913", ctx)  # the right code, too late
    assert not any(isinstance(e, EraseRequested) for e in late.events)


def test_erase_by_code_expires(pack: Pack, context: Make) -> None:
    state = _asked_by_code(pack, context)
    later = context(lang="it", now=OPEN + timedelta(minutes=31), erase_code="1", code_key=b"k")
    result = step(pack, state, "482913", later)
    assert not any(isinstance(e, EraseRequested) for e in result.events)
    assert "scaduto" in replies(result.events)[0] and result.state.confirm is None


def test_erase_by_code_from_an_unverified_sender_does_nothing(pack: Pack, context: Make) -> None:
    state = _asked_by_code(pack, context)
    forged = context(lang="it", erase_code="1", code_key=b"k", verified=False)
    assert not any(
        isinstance(e, EraseRequested) for e in step(pack, state, "482913", forged).events
    )


def test_crisis_first_then_the_notice(pack: Pack, context: Make) -> None:
    result = step(pack, None, "voglio morire", context(first_contact=True))
    assert kinds(result.events) == ["LanguageSet", "Reply", "Escalate", "Reply", "ConsentShown"]
    assert "Privacy" in replies(result.events)[1]
    assert "*1*" not in replies(result.events)[1]  # no menu after a crisis


def test_a_second_crisis_is_shorter(pack: Pack, context: Make) -> None:
    first = step(pack, None, "voglio morire", context())
    second = step(pack, first.state, "voglio morire", context(status="waiting"))
    assert len(replies(second.events)[0]) < len(replies(first.events)[0])
    assert Escalate(Priority.CRISIS, "crisis:suicide") in second.events


# -- first contact, commands ---------------------------------------------------------------------


def test_first_contact_notice_and_menu(pack: Pack, context: Make) -> None:
    result = step(pack, None, "ciao", context(first_contact=True))
    assert kinds(result.events) == ["LanguageSet", "Reply", "ConsentShown"]
    text = replies(result.events)[0]
    for words in ("volontari", "bot", "periodo limitato", "OPERATORE", "CANCELLA", "*1*", "*4*"):
        assert words in text
    assert result.state.node == "menu"


def test_known_language_wins(pack: Pack, context: Make) -> None:
    result = step(pack, None, "hi is it free", context(lang="it"))
    assert not any(isinstance(e, LanguageSet) for e in result.events)
    assert "gratis" in replies(result.events)[0]


def test_stop(pack: Pack, context: Make) -> None:
    result = step(pack, FlowState(node="faq"), "STOP", context())
    assert kinds(result.events) == ["OptedOut", "Reply"] and result.events[0] == OptedOut()
    assert "basta mandarci un messaggio" in replies(result.events)[0]


@pytest.mark.parametrize("answer", ["SI", "sì", "Si!", "yes"])
def test_erase_confirmed(pack: Pack, context: Make, answer: str) -> None:
    asked = step(pack, None, "cancella", context())
    assert asked.state.confirm == "erase" and "SI" in replies(asked.events)[0]
    done = step(pack, asked.state, answer, context())
    assert kinds(done.events) == ["EraseRequested", "Reply"] and done.events[0] == EraseRequested()
    assert done.state.confirm is None


def test_erase_cancelled_by_anything_else(pack: Pack, context: Make) -> None:
    asked = step(pack, None, "CANCELLA", context())
    result = step(pack, asked.state, "no", context())
    assert replies(result.events) == ["Ok, non cancello niente 🙂"]
    assert result.state.confirm is None


def test_waiting_reminder_once_then_again_after_a_new_queueing(pack: Pack, context: Make) -> None:
    state: FlowState | None = None
    said = []
    for text in ("ci sei?", "ehi", "???"):
        result = step(pack, state, text, context(status="waiting"))
        state = result.state
        said.append(len(replies(result.events)))
    assert said == [1, 0, 0]
    state = step(pack, state, "ciao", context(status="bot")).state
    assert len(replies(step(pack, state, "ci sei?", context(status="waiting")).events)) == 1


def test_media_said_once_and_text_still_read(pack: Pack, context: Make) -> None:
    first = step(pack, None, "", context(lang="it"), media=1)
    assert len(replies(first.events)) == 1 and "solo i messaggi scritti" in replies(first.events)[0]
    second = step(pack, first.state, "è gratis?", context(lang="it"), media=1)
    assert kinds(second.events) == ["Reply", "FaqMatched"]
    third = step(pack, second.state, "voglio morire", context(), media=3)
    assert Escalate(Priority.CRISIS, "crisis:suicide") in third.events


# -- menus, FAQ, services ----------------------------------------------------------------------


def test_numbers_pick_from_the_node_on_screen(pack: Pack, context: Make) -> None:
    menu = step(pack, None, "menu", context())
    faq = step(pack, menu.state, "1", context())
    answer = step(pack, faq.state, "4", context())
    assert answer.events[-1] == FaqMatched("gratuito", 100.0)


def test_a_number_without_a_menu_on_screen_uses_the_main_menu(pack: Pack, context: Make) -> None:
    result = step(pack, None, "3", context())
    assert Escalate(Priority.NORMAL, "asked_for_person") in result.events


def test_a_number_out_of_range(pack: Pack, context: Make) -> None:
    result = step(pack, FlowState(node="menu"), "8", context())
    assert "Quel numero non c'è" in replies(result.events)[0]
    assert result.state.node == "menu"


def test_unknown_is_never_a_dead_end(pack: Pack, context: Make) -> None:
    result = step(pack, None, "asdfgh", context())
    (text,) = replies(result.events)
    assert "non ho capito" in text and "OPERATORE" in text
    assert "*3* Parlare con un volontario" in text


def test_service_without_contacts_never_shows_an_empty_one(pack: Pack, context: Make) -> None:
    result = step(pack, FlowState(node="services-basic"), "3", context())
    assert result.events[-1] == Refer("caritas", "bisogni")
    text = replies(result.events)[0]
    assert "chiedi a un volontario" in text
    assert "Telefono:" not in text and "E-mail:" not in text


def test_service_contacts_filled_by_the_coordinator(pack: Pack, context: Make) -> None:
    caritas = pack.services["caritas"]
    filled = replace(caritas, contacts={**caritas.contacts, "phone": "0547 000000"})
    result = step(pack, FlowState(node="services-basic"), "1", context(directory=(filled,)))
    text = replies(result.events)[0]
    assert "Telefono: 0547 000000" in text and "chiedi a un volontario" not in text


def test_the_services_menu_comes_from_the_directory(pack: Pack, context: Make) -> None:
    added = Service(
        id="sportello-ascolto",
        name="Sportello d'ascolto a scuola",
        about={"it": "Uno spazio di ascolto a scuola."},
        topics=("bisogni",),
    )
    retired = replace(pack.services["caritas"], active=False)
    directory = (pack.services["servizi-sociali"], retired, added)
    shown = step(pack, FlowState(node="services"), "4", context(directory=directory))
    menu = replies(shown.events)[0]
    assert menu.endswith(
        "*1* Servizi Sociali del Comune di Cesena\n*2* Sportello d'ascolto a scuola"
    )
    assert "Caritas" not in menu
    card = step(pack, FlowState(node="services-basic"), "2", context(directory=directory))
    assert card.events[-1] == Refer("sportello-ascolto", "bisogni")
    assert "Uno spazio di ascolto a scuola." in replies(card.events)[0]


def test_english_card_falls_back_to_italian(pack: Pack, context: Make) -> None:
    only_it = Service(id="x", name="X", about={"it": "Solo in italiano."}, topics=("bisogni",))
    result = step(
        pack,
        FlowState(node="services-basic", lang="en"),
        "1",
        context(directory=(only_it,), lang="en"),
    )
    text = replies(result.events)[0]
    assert "Solo in italiano." in text and "ask a volunteer" in text


def test_no_service_on_a_topic_is_never_a_dead_end(pack: Pack, context: Make) -> None:
    result = step(pack, FlowState(node="services"), "4", context(directory=()))
    text = replies(result.events)[0]
    assert "Per ora non ho servizi" in text and "OPERATORE" in text
    again = step(pack, result.state, "1", context(directory=()))
    assert "Quel numero non c'è" in replies(again.events)[0]
    assert not any(isinstance(e, Refer) for e in again.events)


def test_a_personal_difficulty_goes_to_a_listener(pack: Pack, context: Make) -> None:
    result = step(pack, None, "a scuola mi prendono tutti in giro", context())
    assert result.events[-1] == Escalate(Priority.HIGH, "personal:bullying")
    assert not any(isinstance(e, FaqMatched) for e in result.events)


# -- the gentle close ----------------------------------------------------------------------------


def test_timeout_closes_once(pack: Pack, context: Make) -> None:
    result = timeout(pack, FlowState(lang="en", node="menu"), context())
    assert kinds(result.events) == ["Reply", "Closed"] and result.events[1] == Closed("no_response")
    assert "any time" in replies(result.events)[0]
    assert timeout(pack, result.state, context()).events == []


@pytest.mark.parametrize("status", ["waiting", "listener"])
def test_no_close_when_not_with_the_bot(pack: Pack, context: Make, status: str) -> None:
    assert timeout(pack, None, context(status=status)).events == []


def test_state_is_json(pack: Pack, context: Make) -> None:
    state = None
    for text in ("ciao", "1", "dati", "CANCELLA", "no", "operatore"):
        state = step(pack, state, text, context(first_contact=state is None)).state
        stored = json.loads(json.dumps(state.to_json()))
        assert FlowState.from_json(stored) == state


def test_consent_shown_only_on_first_contact(pack: Pack, context: Make) -> None:
    assert ConsentShown() not in step(pack, None, "ciao", context()).events


# -- when step() fails: a listener takes over ------------------------------------------------


def test_fallback_hands_the_conversation_to_a_listener(pack: Pack, context: Make) -> None:
    result = fallback(pack, FlowState(node="faq", choices=[("orari", 60.0)], lang="en"), context())
    assert result.events[-1] == Escalate(Priority.HIGH, "bot_error")
    (text,) = replies(result.events)
    assert text.startswith("Okay! I'm passing you to a volunteer")
    assert result.state.node is None and result.state.choices == []
    assert result.state.lang == "en"


def test_fallback_out_of_hours_gives_the_numbers_and_the_consent_notice(
    pack: Pack, context: Make
) -> None:
    result = fallback(pack, None, context(now=CLOSED, first_contact=True))
    assert kinds(result.events) == ["Reply", "Reply", "ConsentShown", "Escalate"]
    closed, welcome = replies(result.events)
    assert "non sono online" in closed and "19696" in closed
    assert "privacy" in welcome.lower()


def test_fallback_keeps_quiet_while_queued_or_with_a_listener(pack: Pack, context: Make) -> None:
    for status in ("waiting", "listener"):
        result = fallback(pack, None, context(status=status))
        assert result.events == [Escalate(Priority.HIGH, "bot_error")]


def test_fallback_still_hands_over_when_even_the_texts_fail(
    pack: Pack, context: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> str:
        raise KeyError("when_back")

    monkeypatch.setattr("flows.render.fill", broken)
    result = fallback(pack, None, context(first_contact=True))
    assert result.events == [Escalate(Priority.HIGH, "bot_error")]


# -- fail-safe routing ------------------------------------------------------------------------


def test_a_personal_first_message_never_gets_the_menu_alone(pack: Pack, context: Make) -> None:
    result = step(
        pack,
        None,
        "oggi a scuola è andata malissimo e non so con chi parlarne",
        context(first_contact=True),
    )
    assert "Escalate" in kinds(result.events)
    assert not any("Rispondi con un numero" in r for r in replies(result.events))


def test_a_question_and_something_personal_get_the_answer_then_a_listener(
    pack: Pack, context: Make
) -> None:
    result = step(pack, None, "siete aperti stasera? sto malissimo", context())
    assert kinds(result.events) == ["LanguageSet", "Reply", "FaqMatched", "Reply", "Escalate"]
    faq = next(e for e in result.events if isinstance(e, FaqMatched))
    escalate = next(e for e in result.events if isinstance(e, Escalate))
    assert faq.faq_id == "orari" and escalate.priority == "high"
    assert "MENU" not in replies(result.events)[0]  # no menu or footer before the hand-over


def test_second_look_after_a_faq_a_distress_signal_goes_to_a_listener(
    pack: Pack, context: Make
) -> None:
    first = step(pack, None, "non riesco", context())
    assert "Escalate" not in kinds(first.events)  # alone, not enough to call a listener
    answered = step(pack, None, "a che ora aprite?", context())
    assert "FaqMatched" in kinds(answered.events)
    second = step(pack, answered.state, "non riesco", context())
    (escalate,) = [e for e in second.events if isinstance(e, Escalate)]
    assert (escalate.priority, escalate.reason) == ("high", "personal:distress")
    assert "FaqMatched" not in kinds(second.events)


def test_second_look_after_the_menu_too(pack: Pack, context: Make) -> None:
    shown = step(pack, None, "asdfghjkl", context())  # not understood: the menu
    assert any("Rispondi con un numero" in r for r in replies(shown.events))
    second = step(pack, shown.state, "ok ma non riesco", context())
    assert [e.priority for e in second.events if isinstance(e, Escalate)] == ["high"]


def test_a_personal_message_after_a_faq_is_not_answered_by_another_faq(
    pack: Pack, context: Make
) -> None:
    answered = step(pack, None, "quanto costa?", context())
    second = step(
        pack, answered.state, "come faccio a dirlo ai miei che mi hanno bocciato?", context()
    )
    assert "FaqMatched" not in kinds(second.events) and "Escalate" in kinds(second.events)
