"""The feedback question in the pure engine: a score, then yes or no; anything else is handled as
usual; a crisis always comes first; an old question is forgotten."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flows import Context, Pack, step, timeout
from flows.events import Closed, Escalate, FeedbackGiven, Priority, Reply
from flows.feedback import start
from flows.state import FlowState
from tests.flows.conftest import OPEN

Make = Callable[..., Context]
PENDING = FlowState(feedback=start("ascolto", "2025-03", OPEN + timedelta(hours=24)))


def texts(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, Reply)]


def test_a_score_then_yes_is_stored_and_the_conversation_ends(pack: Pack, context: Make) -> None:
    first = step(pack, PENDING, "4", context())
    assert texts(first.events) == [pack.text("feedback_again", "it")]
    assert not any(isinstance(e, FeedbackGiven) for e in first.events)
    second = step(pack, first.state, "sì", context())
    assert FeedbackGiven("ascolto", "2025-03", 4, True) in second.events
    assert texts(second.events) == [pack.text("feedback_thanks", "it")]
    assert Closed("feedback") in second.events and second.state.feedback is None


def test_no_is_an_answer_too(pack: Pack, context: Make) -> None:
    first = step(pack, PENDING, "5/5", context())
    second = step(pack, first.state, "no", context())
    assert FeedbackGiven("ascolto", "2025-03", 5, False) in second.events


def test_the_questions_follow_the_young_persons_language(pack: Pack, context: Make) -> None:
    first = step(pack, PENDING, "3", context(lang="en"))
    assert texts(first.events) == [pack.text("feedback_again", "en")]


def test_another_message_drops_the_question_and_is_answered_as_usual(
    pack: Pack, context: Make
) -> None:
    result = step(pack, PENDING, "a che ora siete aperti?", context())
    assert result.state.feedback is None
    assert not any(isinstance(e, FeedbackGiven) for e in result.events)
    assert texts(result.events) and pack.text("feedback_again", "it") not in texts(result.events)


def test_a_personal_message_after_the_score_keeps_the_score_and_reaches_a_listener(
    pack: Pack, context: Make
) -> None:
    first = step(pack, PENDING, "2", context())
    second = step(pack, first.state, "a casa litigano sempre e sto male", context())
    assert FeedbackGiven("ascolto", "2025-03", 2, None) in second.events
    assert any(isinstance(e, Escalate) for e in second.events)
    assert second.state.feedback is None


def test_a_crisis_goes_through_safety_first(pack: Pack, context: Make) -> None:
    result = step(pack, PENDING, "voglio morire", context())
    assert Escalate(Priority.CRISIS, "crisis:suicide") in result.events
    assert texts(result.events) == texts(step(pack, None, "voglio morire", context()).events)
    assert result.state.feedback is None
    scored = step(pack, step(pack, PENDING, "4", context()).state, "mi voglio ammazzare", context())
    assert any(isinstance(e, Escalate) and e.priority == "crisis" for e in scored.events)
    assert FeedbackGiven("ascolto", "2025-03", 4, None) in scored.events


def test_a_question_past_its_time_is_forgotten(pack: Pack, context: Make) -> None:
    late = context(now=OPEN + timedelta(hours=25))
    result = step(pack, PENDING, "4", late)
    assert result.state.feedback is None
    assert pack.text("feedback_again", "it") not in texts(result.events)
    assert not any(isinstance(e, FeedbackGiven) for e in result.events)


def test_silence_after_the_score_keeps_it_and_closes_without_a_goodbye(
    pack: Pack, context: Make
) -> None:
    first = step(pack, PENDING, "4", context())
    closed = timeout(pack, first.state, context())
    assert closed.events == [FeedbackGiven("ascolto", "2025-03", 4, None), Closed("feedback")]
