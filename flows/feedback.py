"""The optional question after a listener's close: "was it useful? 1-5", then "would you write
to us again?". Pure: the state is a small dict under the conversation state's "feedback" key.

The core asks the first question when a listener closes (bot.feedback) and, when the young
person writes again within the answer window, opens the new conversation with `start(...)`.
The engine calls `answer(...)` after the crisis check (safety first, always) and before the
rest of the flow: a score, then yes or no, is taken; any other message drops the question and
goes through the flow as usual. Past `until` the question is simply forgotten.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flows import render
from flows.events import Closed, Event, FeedbackGiven, Reply
from flows.pack import Pack

if TYPE_CHECKING:  # the engine imports this module: only its types are needed here
    from flows.engine import Context

KEY = "feedback"
_SCORE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|su\s*5|out of\s*5)?\s*[.!]*\s*$", re.IGNORECASE)
NO = frozenset({"no", "nope", "no grazie", "non credo", "mai", "no thanks", "nah", "noo"})


def question(pack: Pack, ctx: Context, lang: str) -> str:
    """The first question, in the young person's language."""
    return render.fill(pack, "feedback_ask", ctx, lang if lang in render.LANGUAGES else "it")


def start(outcome: str, month: str, until: datetime) -> dict[str, Any]:
    """The state of a new conversation that may bring the answer (the question is pending)."""
    return {KEY: {"outcome": outcome, "month": month, "until": until.isoformat(),
                  "ask": "score"}}


def drop(state: dict[str, Any]) -> list[Event]:
    """Forget the question; a score already given is kept (without the second answer)."""
    pending = state.pop(KEY, None)
    if isinstance(pending, dict) and pending.get("score"):
        return [FeedbackGiven(str(pending["outcome"]), str(pending["month"]),
                              int(pending["score"]), None)]
    return []


def answer(pack: Pack, state: dict[str, Any], text: str, ctx: Context,
           lang: str) -> tuple[bool, list[Event]]:
    """Take an answer to a pending question. (True, events): the message was the answer;
    (False, events): it was not, the question is dropped and the flow handles the message."""
    pending = state.get(KEY)
    if not isinstance(pending, dict):
        return False, []
    if ctx.now > datetime.fromisoformat(str(pending.get("until"))):
        return False, drop(state)
    if pending.get("ask") == "score":
        found = _SCORE.match(text)
        if found is None:
            return False, drop(state)
        state[KEY] = {**pending, "ask": "again", "score": int(found.group(1))}  # never in place
        return True, [Reply(render.fill(pack, "feedback_again", ctx, lang))]
    words = pack.normalize.text(text)
    if words in pack.commands.yes or words in NO:
        state.pop(KEY, None)
        given = FeedbackGiven(str(pending["outcome"]), str(pending["month"]),
                              int(pending["score"]), words in pack.commands.yes)
        return True, [given, Reply(render.fill(pack, "feedback_thanks", ctx, lang)),
                      Closed("feedback")]
    return False, drop(state)
