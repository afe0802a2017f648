"""The pure flow engine: (pack, state, inbound text, context) -> (new state, events).

No database, no network, no clock of its own. The caller (bot.inbox) stores the state and
applies the events. CONTRACT (used by bot.inbox, bot.worker, the CLI and the tests):

    step(pack, state, text, ctx, *, media=0) -> Step
    timeout(pack, state, ctx) -> Step      # called when the young person has not answered
                                           # for pack.no_response_minutes while with the bot

`state` is a JSON-serialisable dict (None for a new conversation); `Step.state` replaces it.
ctx.status says who holds the conversation:
  "bot"      the bot answers (menu, FAQ, services, hand-over...)
  "waiting"  in the listeners' queue: no menu; crisis still answered with the numbers;
  "listener" a volunteer holds it: the bot stays silent, but a crisis still yields
             Escalate("crisis", ...) so the dashboard is alerted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from flows.events import Event, Reply
from flows.hours import OpeningHours

Status = Literal["bot", "waiting", "listener"]


@dataclass(frozen=True)
class EmergencyNumber:
    name: str
    number: str
    note: str = ""


@dataclass(frozen=True)
class Context:
    now: datetime  # timezone-aware
    hours: OpeningHours
    emergency: tuple[EmergencyNumber, ...]
    status: Status = "bot"
    first_contact: bool = False  # no consent notice shown to this contact yet
    lang: str | None = None  # the contact's known language, if any


@dataclass(frozen=True)
class Step:
    state: dict[str, Any]
    events: list[Event] = field(default_factory=list)


def step(pack: Any, state: dict[str, Any] | None, text: str, ctx: Context, *, media: int = 0) -> Step:
    """Advance the conversation by one inbound message (placeholder, replaced by the real engine)."""
    return Step(dict(state or {}), [Reply(text="Ciao!")])


def timeout(pack: Any, state: dict[str, Any] | None, ctx: Context) -> Step:
    """The young person did not answer: a gentle close."""
    return Step(dict(state or {}), [])
