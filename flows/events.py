"""What the engine decides: events the caller applies (store, send, escalate)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Priority(StrEnum):
    """How soon a listener must answer: crisis before high before normal."""

    CRISIS = "crisis"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        """Its order in the queue, highest first (0 is left for "no priority")."""
        return _RANK[self]


_RANK = {Priority.CRISIS: 3, Priority.HIGH: 2, Priority.NORMAL: 1}


@dataclass(frozen=True)
class Reply:
    """Send this text to the young person (through the outbox)."""

    text: str
    secret: str = ""  # a one-time code in the text: kept only until the message has left


@dataclass(frozen=True)
class Escalate:
    """Put the conversation in the listeners' queue (or raise its priority)."""

    priority: Priority
    reason: str  # e.g. "crisis:suicide", "asked_for_person", "personal:family"


@dataclass(frozen=True)
class FaqMatched:
    faq_id: str
    score: float


@dataclass(frozen=True)
class Refer:
    """The bot pointed the young person to a local service (the caller counts a referral)."""

    service_id: str
    topic: str | None = None  # the closing topic it was listed under


@dataclass(frozen=True)
class LanguageSet:
    lang: str  # "it" | "en"


@dataclass(frozen=True)
class ConsentShown:
    """The first-contact privacy notice was sent."""


@dataclass(frozen=True)
class OptedOut:
    """STOP: no more messages at all (the listeners' too) until the young person writes again."""


@dataclass(frozen=True)
class EraseRequested:
    """The young person confirmed CANCELLA (a verified sender): erase their data."""


@dataclass(frozen=True)
class Closed:
    """The bot closed the conversation (e.g. gentle close after no response)."""

    reason: str


@dataclass(frozen=True)
class FeedbackGiven:
    """The young person answered the question after a listener's close (stored anonymously:
    the outcome and the month, never the conversation)."""

    outcome: str
    month: str  # "2026-11"
    score: int  # 1-5
    again: bool | None  # "would you write to us again?"; None: not answered


Event = (
    Reply
    | Escalate
    | FaqMatched
    | Refer
    | LanguageSet
    | ConsentShown
    | OptedOut
    | EraseRequested
    | Closed
    | FeedbackGiven
)
