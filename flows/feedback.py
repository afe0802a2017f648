"""The optional question after a listener's close: "was it useful? 1-5", then "would you write
to us again?". Pure: what is pending is FlowState.feedback (flows.state.PendingFeedback).

The core asks the first question when a listener closes (bot.feedback) and, when the young
person writes again within the answer window, opens the new conversation with `start(...)`.
The engine calls `answer(...)` after the crisis check (safety first, always) and before the
rest of the flow: a score, then yes or no, is taken; any other message drops the question and
goes through the flow as usual. Past `until` the question is simply forgotten.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from flows import render
from flows.events import Closed, Event, FeedbackGiven, Reply
from flows.pack import Pack
from flows.state import FlowState, PendingFeedback

if TYPE_CHECKING:  # the engine imports this module: only its types are needed here
    from flows.engine import Context

_SCORE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|su\s*5|out of\s*5)?\s*[.!]*\s*$", re.IGNORECASE)
NO = frozenset({"no", "nope", "no grazie", "non credo", "mai", "no thanks", "nah", "noo"})


def question(pack: Pack, ctx: Context, lang: str) -> str:
    """The first question, in the young person's language."""
    return render.fill(pack, "feedback_ask", ctx, lang if lang in render.LANGUAGES else "it")


def start(outcome: str, month: str, until: datetime) -> PendingFeedback:
    """The question pending in a new conversation that may bring the answer."""
    return PendingFeedback(outcome=outcome, month=month, until=until)


def drop(state: FlowState) -> list[Event]:
    """Forget the question; a score already given is kept (without the second answer)."""
    pending, state.feedback = state.feedback, None
    if pending is not None and pending.score:
        return [FeedbackGiven(pending.outcome, pending.month, pending.score, None)]
    return []


def answer(
    pack: Pack, state: FlowState, text: str, ctx: Context, lang: str
) -> tuple[bool, list[Event]]:
    """Take an answer to a pending question. (True, events): the message was the answer;
    (False, events): it was not, the question is dropped and the flow handles the message."""
    pending = state.feedback
    if pending is None:
        return False, []
    if ctx.now > pending.until:
        return False, drop(state)
    if pending.ask == "score":
        found = _SCORE.match(text)
        if found is None:
            return False, drop(state)
        state.feedback = replace(pending, ask="again", score=int(found.group(1)))
        return True, [Reply(render.fill(pack, "feedback_again", ctx, lang))]
    words = pack.normalize.text(text)
    if pending.score is not None and (words in pack.commands.yes or words in NO):
        state.feedback = None
        given = FeedbackGiven(
            pending.outcome, pending.month, pending.score, words in pack.commands.yes
        )
        return True, [
            given,
            Reply(render.fill(pack, "feedback_thanks", ctx, lang)),
            Closed("feedback"),
        ]
    return False, drop(state)
