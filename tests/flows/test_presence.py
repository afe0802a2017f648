"""What the bot says depends on who is really on shift (ctx.presence), in and out of hours."""

from __future__ import annotations

from collections.abc import Callable

from flows import Context, Pack, render, step
from flows.events import Escalate, Priority
from flows.presence import Presence
from tests.flows.conftest import CLOSED, OPEN
from tests.flows.test_engine import replies

Make = Callable[..., Context]
CRISIS = "non ce la faccio più, voglio morire"
PERSON = "voglio parlare con un operatore"
PERSONAL = "i miei litigano sempre e non ce la faccio a stare a casa"

NOBODY = Presence(on_shift=0, free=0)
FREE = Presence(
    on_shift=2, free=3, ahead={"crisis": 0, "high": 1, "normal": 2}, minutes_per_place=10.0
)
BUSY = Presence(
    on_shift=2, free=0, ahead={"crisis": 1, "high": 2, "normal": 4}, minutes_per_place=7.5
)


def only_reply(events: list) -> str:
    (text,) = replies(events)
    return text


def test_a_crisis_in_opening_hours_with_nobody_on_shift_gets_its_own_text(
    pack: Pack, context: Make
) -> None:
    result = step(pack, None, CRISIS, context(presence=NOBODY, lang="it"))
    text = only_reply(result.events)
    assert "nessun volontario è collegato" in text
    assert "*112*" in text and "*19696*" in text and "*1522*" in text
    assert "il prima possibile" not in text  # no promise nobody can keep
    assert Escalate(Priority.CRISIS, "crisis:suicide") in result.events


def test_a_crisis_with_a_free_listener_gets_the_usual_answer(pack: Pack, context: Make) -> None:
    ctx = context(presence=FREE, lang="it")
    text = only_reply(step(pack, None, CRISIS, ctx).events)
    assert text == render.fill(pack, "crisis", ctx, "it")


def test_presence_unknown_keeps_the_opening_hours_answer(pack: Pack, context: Make) -> None:
    with_nobody = only_reply(step(pack, None, CRISIS, context(presence=None, lang="it")).events)
    assert "ti scrive qui il prima possibile" in with_nobody


def test_a_crisis_when_everyone_is_busy_says_the_place_and_the_wait(
    pack: Pack, context: Make
) -> None:
    text = only_reply(step(pack, None, CRISIS, context(presence=BUSY, lang="it")).events)
    assert "*112*" in text
    # one crisis waits before this one: place 2, two places of 7.5 minutes
    assert text.endswith("sei in coda al posto n. 2, tocca a te tra circa 15 minuti ⏳")


def test_asking_for_a_person_with_nobody_on_shift(pack: Pack, context: Make) -> None:
    result = step(pack, None, PERSON, context(presence=NOBODY, lang="it"))
    text = only_reply(result.events)
    assert text.startswith("In questo momento nessun volontario è collegato")
    assert "*19696* Telefono Azzurro" in text
    assert Escalate(Priority.NORMAL, "asked_for_person") in result.events


def test_a_personal_difficulty_with_nobody_on_shift(pack: Pack, context: Make) -> None:
    result = step(pack, None, PERSONAL, context(presence=NOBODY, lang="it"))
    text = only_reply(result.events)
    assert "Grazie per avermelo raccontato" in text and "nessun volontario è collegato" in text
    assert any(isinstance(e, Escalate) and e.priority == "high" for e in result.events)


def test_asking_for_a_person_when_everyone_is_busy(pack: Pack, context: Make) -> None:
    text = only_reply(step(pack, None, PERSON, context(presence=BUSY, lang="it")).events)
    assert text.startswith(pack.text("handover_open", "it"))
    assert text.endswith("sei in coda al posto n. 5, tocca a te tra circa 38 minuti ⏳")


def test_the_place_without_an_estimate_when_nothing_was_handled_yet(
    pack: Pack, context: Make
) -> None:
    unsure = Presence(on_shift=1, free=0, ahead={"normal": 0})
    text = only_reply(step(pack, None, PERSON, context(presence=unsure, lang="en")).events)
    assert text.endswith("Our volunteers are all busy right now: you're number 1 in the queue ⏳")


def test_a_free_place_for_this_priority_means_no_queue_text(pack: Pack, context: Make) -> None:
    # two places free: a crisis (nobody ahead) is taken at once; a normal request (2 ahead) waits
    some = Presence(on_shift=1, free=2, ahead={"crisis": 0, "normal": 2}, minutes_per_place=4)
    crisis = only_reply(step(pack, None, CRISIS, context(presence=some, lang="it")).events)
    assert "coda al posto" not in crisis
    person = only_reply(step(pack, None, PERSON, context(presence=some, lang="it")).events)
    assert person.endswith("al posto n. 3, tocca a te tra circa 4 minuti ⏳")


def test_out_of_hours_with_nobody_on_shift_the_bot_says_when_they_are_back(
    pack: Pack, context: Make
) -> None:
    text = only_reply(
        step(pack, None, CRISIS, context(now=CLOSED, presence=NOBODY, lang="it")).events
    )
    assert "tornano domani alle 15:00" in text
    assert "nessun volontario è collegato" not in text


def test_out_of_hours_a_listener_on_shift_answers(pack: Pack, context: Make) -> None:
    text = only_reply(
        step(pack, None, PERSON, context(now=CLOSED, presence=FREE, lang="it")).events
    )
    assert text == pack.text("handover_open", "it")


def test_the_waiting_reminder_tells_the_place_of_the_conversation(
    pack: Pack, context: Make
) -> None:
    waiting = Presence(on_shift=1, free=0, ahead={"high": 3}, minutes_per_place=5, priority="high")
    result = step(pack, None, "ci siete?", context(status="waiting", presence=waiting, lang="it"))
    text = only_reply(result.events)
    assert text.startswith(pack.text("waiting_reminder", "it"))
    assert text.endswith("al posto n. 4, tocca a te tra circa 20 minuti ⏳")


def test_the_wait_estimate() -> None:
    presence = Presence(on_shift=3, free=1, ahead={"normal": 4}, minutes_per_place=3.2)
    assert presence.position("normal") == 5
    assert presence.queued("normal")
    assert presence.wait_minutes("normal") == 13  # 4 places after the free one, 3.2 each
    assert presence.position("crisis") == 1 and not presence.queued("crisis")
    assert Presence(on_shift=1, free=0, minutes_per_place=0.2).wait_minutes("crisis") == 2
    assert Presence(on_shift=1, free=0).wait_minutes("crisis") is None


def test_opening_hours_alone_still_decide_when_presence_is_not_given(
    pack: Pack, context: Make
) -> None:
    text = only_reply(step(pack, None, PERSON, context(now=OPEN, lang="it")).events)
    assert text == pack.text("handover_open", "it")
