"""Risk signals: a weighted second layer for crisis wordings the phrase lexicon has not seen.

risk.toml lists signals (means, farewells, injuries, coercion, ...), each a set of lexicon
phrases with a weight, and combinations of signals that earn a bonus. A message scores the
weight of every signal found (up to `max` different phrases of the same signal) plus the bonus
of every combination whose signals are all there:

    "ho contato le pastiglie, sono abbastanza"   means 3 + intent 3 + quantity 3 + 4 + 4 = 17

It is a crisis from `threshold` on, when a combination or a signal names a crisis category; the
category is the one of the strongest combination found, else of the strongest signal.
A combination with `words` holds only in a message of at most that many words: "basta,
stanotte" is a last word, "basta compiti stasera, esco" is not.
Signal kinds:
  risk       names a crisis category ("means" -> suicide)
  modifier   no category, only adds weight (time, quantity, intent)
  distress   counts only toward `human`: a long message that scores that much goes to a listener
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from flows.phrases import PhraseBook

Kind = Literal["risk", "modifier", "distress"]
KINDS: tuple[Kind, ...] = ("risk", "modifier", "distress")


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    kind: Kind = "risk"
    category: str | None = None  # for kind "risk"
    most: int = 1  # different phrases of this signal that count


@dataclass(frozen=True)
class Combination:
    signals: frozenset[str]
    bonus: float
    category: str
    words: int | None = None  # holds only in a message of at most this many words


@dataclass(frozen=True)
class Risk:
    score: float  # signals that count toward a crisis, with the combination bonuses
    distress: float  # distress signals plus score (0 when no distress signal is found)
    category: str | None  # the crisis category, when score reaches the threshold
    signals: tuple[str, ...] = ()  # found, strongest first (for explanations and tests)


NO_RISK = Risk(0.0, 0.0, None)


class RiskScorer:
    """Score the risk signals of a message (tokens already normalised)."""

    def __init__(
        self,
        book: PhraseBook,
        signals: Mapping[str, Signal],
        combinations: Iterable[Combination],
        *,
        threshold: float,
        human: float,
        long: int,
    ) -> None:
        self.book = book  # one rule per phrase, labelled with the signal name
        self.signals = dict(signals)
        self.combinations = sorted(combinations, key=lambda c: -c.bonus)
        self.threshold = threshold
        self.human = human  # distress score that sends a long message to a listener
        self.long = long  # words from which a message is long

    def score(self, tokens: Sequence[str], *, skip: frozenset[int] = frozenset()) -> Risk:
        """The risk of one message; positions in `skip` (idioms) are ignored."""
        # one hit per signal and place: phrases of a signal may share a lemma ("treno", "treni")
        places = {(hit.label, hit.start) for hit in self.book.find_all(tokens, skip=skip)}
        hits = Counter(label for label, _ in places)
        if not hits:
            return NO_RISK
        points = {
            name: self.signals[name].weight * min(n, self.signals[name].most)
            for name, n in hits.items()
        }
        score = distress = 0.0
        for name, value in points.items():
            if self.signals[name].kind == "distress":
                distress += value
            else:
                score += value
        found = [
            c
            for c in self.combinations
            if c.signals <= hits.keys() and (c.words is None or len(tokens) <= c.words)
        ]
        score += sum(c.bonus for c in found)
        if distress:  # only a message that says distress counts toward a listener
            distress += score
        ranked = tuple(sorted(points, key=lambda n: -points[n]))
        risky = [n for n in ranked if self.signals[n].kind == "risk"]
        category = None
        if score >= self.threshold and (found or risky):
            category = found[0].category if found else self.signals[risky[0]].category
        return Risk(score, distress, category, ranked)

    def needs_listener(self, tokens: Sequence[str], risk: Risk) -> bool:
        """A long message with strong distress (but no crisis): a listener, not "unknown"."""
        return len(tokens) >= self.long and risk.distress >= self.human
