"""Classify one message: crisis, a person, a FAQ, a command, a greeting, or unknown.

Order (the first that applies wins):
  1. crisis lexicon (crisis.toml), then risk signals (risk.toml)
                                                          -> "crisis",  priority "crisis"
  2. STOP / CANCELLA (the whole message, or a request that is not a question)
                                                          -> "stop" / "erase"
     OPERATORE, PERSONA (the whole message)               -> "human",   priority "normal"
  3. only greetings, MENU or AIUTO                        -> "greeting"
  4. a personal difficulty (lexicon [personal.*])         -> "human",   priority "high"
  5. asking for a person (lexicon [human])                -> "human",   priority "normal"
  6. a long message with strong distress (risk.toml)     -> "human",   priority "high"
  7. a FAQ scoring at least matching.suggest              -> "faq"
  8. anything else (thanks, "ok", chatter)                -> "unknown"
The engine uses this same function, so `sos-bot triage` and the bot always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process

from flows.pack import Pack

COMMAND_SIMILARITY = 88  # a command with a typo or its words swapped is still the command

Intent = Literal["crisis", "human", "faq", "erase", "stop", "greeting", "unknown"]


@dataclass(frozen=True)
class Triage:
    intent: Intent
    faq_id: str | None = None
    score: float | None = None  # 0-100, for "faq"
    priority: Literal["crisis", "high", "normal"] | None = None
    reason: str | None = None  # e.g. "crisis:suicide", "personal:family", "thanks"
    alternatives: tuple[tuple[str, float], ...] = ()  # close runner-up FAQs (ambiguous match)

    def as_dict(self) -> dict[str, Any]:
        """The four public fields, as printed by `sos-bot triage`."""
        return {
            "intent": self.intent,
            "faq_id": self.faq_id,
            "score": self.score,
            "priority": self.priority,
        }


def _said(text: str, commands: frozenset[str]) -> bool:
    """The whole message is one of the commands, give or take word order and a typo."""
    if text in commands:
        return True
    return len(text) >= 5 and process.extractOne(
        text, commands, scorer=fuzz.token_sort_ratio, score_cutoff=COMMAND_SIMILARITY
    ) is not None


def _command(pack: Pack, text: str, tokens: tuple[str, ...]) -> Triage | None:
    c = pack.commands
    words = " ".join(t for t in tokens if t not in c.filler)
    if _said(words, c.stop):
        return Triage("stop", reason="stop")
    if _said(words, c.erase):
        return Triage("erase", reason="erase")
    if _said(words, c.person):
        return Triage("human", priority="normal", reason="asked_for_person")
    if "?" not in text and not any(t in c.question for t in tokens):
        request = pack.requests.find(tokens)
        if request:
            return Triage("stop" if request.label == "stop" else "erase", reason=request.label)
    greeting = [t for t in tokens if t in c.menu or t in c.hello]
    if greeting and all(t in c.menu or t in c.hello or t in c.filler for t in tokens):
        menu = any(t in c.menu for t in greeting)
        return Triage("greeting", reason="menu" if menu else "hello")
    return None


def triage(pack: Pack, text: str) -> Triage:
    """What the young person needs, from one message."""
    tokens = pack.normalize(text)
    category, risk = pack.crisis.check(tokens)
    if category:
        return Triage("crisis", priority="crisis", reason=f"crisis:{category}")
    command = _command(pack, text, tokens)
    if command:
        return command
    personal = pack.personal.find(tokens)
    if personal:
        return Triage("human", priority="high", reason=personal.label)
    if pack.human.find(tokens):
        return Triage("human", priority="normal", reason="asked_for_person")
    c = pack.commands
    if tokens and all(t in c.thanks or t in c.hello or t in c.filler for t in tokens):
        return Triage("unknown", reason="thanks")
    if pack.crisis.needs_listener(tokens, risk):
        return Triage("human", priority="high", reason="personal:distress")
    m = pack.matching
    ranked = pack.matcher.rank(tokens, floor=m.suggest)
    if ranked and ranked[0].score >= m.suggest:
        best = ranked[0]
        close = best.score - m.margin if best.score >= m.answer else max(m.suggest, best.score - 15)
        others = tuple((c.faq_id, c.score) for c in ranked[1:] if c.score >= close)
        return Triage("faq", best.faq_id, best.score, reason="faq", alternatives=others)
    return Triage("unknown")


def language(pack: Pack, text: str) -> str | None:
    """The language the message is written in, when its words say so clearly."""
    tokens = pack.normalize(text)
    votes = {lang: sum(t in words for t in tokens) for lang, words in pack.language_words.items()}
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
