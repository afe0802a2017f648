"""The state of one conversation with the bot: typed, versioned, and stored as JSON.

The engine reads and writes a FlowState; the core keeps it in the conversation's JSON column
(`to_json` / `from_json`). Content changes while conversations are open, so a stored state can
point at a node or a FAQ that a coordinator has since removed or renamed: `fitted(pack)` sends
such a state back to the start node, dropping its choices. The engine fits every state it is
given, so stale content can never make a message fail; the core also repairs every open
conversation when the pack is loaded (bot.conversations.repair_states), counting them.

Versions: `from_json` migrates what older versions wrote, then drops the keys it does not
know. Version 0 is the untyped dict written before the version number: the same keys, the
code's expiry as ISO text. To add a field: give it a default (an old state reads as "not
yet"), write it in to_json, read it in _read; bump VERSION and add a step to _MIGRATIONS only
when a value written by an older version must change meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.pack import Pack

VERSION = 1


@dataclass(frozen=True)
class ErasureCode:
    """A one-time code sent to confirm CANCELLA: only its HMAC is kept."""

    digest: str
    until: datetime  # timezone-aware
    tries: int = 0


@dataclass(frozen=True)
class PendingFeedback:
    """The optional question after a listener's close, waiting for its answer (flows.feedback)."""

    outcome: str  # the closed conversation's outcome: the answer is kept with it, and the month
    month: str  # "2026-11"
    until: datetime  # timezone-aware: past it, the question is forgotten
    ask: str = "score"  # "score" (1-5), then "again" (would you write again?)
    score: int | None = None


@dataclass
class FlowState:
    """What the bot remembers of a conversation between two messages."""

    version: int = VERSION
    lang: str | None = None  # the language the young person writes in, once known
    node: str | None = None  # the node on screen: a number picks one of its options
    choices: list[tuple[str, float]] = field(default_factory=list)  # FAQ offered by number
    answered: bool = False  # the bot answered a FAQ or the menu (a "second look" follows)
    crisis: int = 0  # crisis answers given so far
    media: bool = False  # "I only read text" was said
    confirm: str | None = None  # a pending CANCELLA: "erase" (yes/no) or "erase_code"
    code: ErasureCode | None = None  # with confirm == "erase_code"
    reminded: bool = False  # while waiting: "a volunteer will write" was said
    raised: bool = False  # while waiting: the priority was raised once
    closed: bool = False  # the bot said goodbye after silence
    feedback: PendingFeedback | None = None  # the question after a listener's close

    # serialisation -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the conversation (defaults left out)."""
        data: dict[str, Any] = {"version": self.version}
        if self.lang:
            data["lang"] = self.lang
        if self.node:
            data["node"] = self.node
        if self.choices:
            data["choices"] = [[faq_id, score] for faq_id, score in self.choices]
        for name in ("answered", "media", "reminded", "raised", "closed"):
            if getattr(self, name):
                data[name] = True
        if self.crisis:
            data["crisis"] = self.crisis
        if self.confirm:
            data["confirm"] = self.confirm
        if self.code is not None:
            data["code"] = {
                "digest": self.code.digest,
                "until": self.code.until.isoformat(),
                "tries": self.code.tries,
            }
        if self.feedback is not None:
            f = self.feedback
            data["feedback"] = {
                "outcome": f.outcome,
                "month": f.month,
                "until": f.until.isoformat(),
                "ask": f.ask,
                "score": f.score,
            }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FlowState:
        """A stored state, migrated to this version; None or {} is a new conversation."""
        raw = dict(data or {})
        version = raw.get("version", 0)
        version = version if isinstance(version, int) and 0 <= version <= VERSION else 0
        for step in _MIGRATIONS[version:]:
            raw = step(raw)
        return _read(raw)

    # content changes ---------------------------------------------------------------------

    def fits(self, pack: Pack) -> bool:
        """Whether every node and FAQ the state points at is in the pack."""
        node_known = self.node is None or self.node in pack.nodes
        return node_known and all(faq_id in pack.faqs for faq_id, _ in self.choices)

    def fitted(self, pack: Pack) -> FlowState:
        """The state itself if it fits the pack, else a copy back at the start node."""
        if self.fits(pack):
            return self
        return replace(self, node=None, choices=[])


def _read(raw: Mapping[str, Any]) -> FlowState:
    """The current version's keys, each checked for its type; anything else is dropped."""
    return FlowState(
        lang=_text(raw.get("lang")),
        node=_text(raw.get("node")),
        choices=_choices(raw.get("choices")),
        answered=raw.get("answered") is True,
        crisis=_count(raw.get("crisis")),
        media=raw.get("media") is True,
        confirm=_text(raw.get("confirm")),
        code=_code(raw.get("code")),
        reminded=raw.get("reminded") is True,
        raised=raw.get("raised") is True,
        closed=raw.get("closed") is True,
        feedback=_feedback(raw.get("feedback")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _choices(value: object) -> list[tuple[str, float]]:
    if not isinstance(value, list):
        return []
    found = []
    for item in value:
        if (
            isinstance(item, list | tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], int | float)
        ):
            found.append((item[0], float(item[1])))
    return found


def _code(value: object) -> ErasureCode | None:
    if not isinstance(value, Mapping):
        return None
    digest, until, tries = value.get("digest"), value.get("until"), value.get("tries", 0)
    if not isinstance(digest, str) or not isinstance(until, str) or not isinstance(tries, int):
        return None
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        return None
    return ErasureCode(digest, moment, tries) if moment.tzinfo is not None else None


def _feedback(value: object) -> PendingFeedback | None:
    if not isinstance(value, Mapping):
        return None
    outcome, month, until = value.get("outcome"), value.get("month"), value.get("until")
    ask, score = value.get("ask"), value.get("score")
    if not (
        isinstance(outcome, str)
        and isinstance(month, str)
        and isinstance(until, str)
        and ask in ("score", "again")
        and (score is None or _count(score))
    ):
        return None
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return PendingFeedback(outcome, month, moment, str(ask), score)


def _from_untyped(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (no version key) to 1: the same keys; only the number is new."""
    return {**raw, "version": 1}


# _MIGRATIONS[n] turns a version-n state into version n + 1
_MIGRATIONS: list[Callable[[dict[str, Any]], dict[str, Any]]] = [_from_untyped]
assert len(_MIGRATIONS) == VERSION
