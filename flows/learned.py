"""What the examples teach as a whole: how likely a message is a crisis, word by word.

The nearest examples (flows.examples) decide only when a message is close to a few of them. A
wording nobody wrote yet is close to none, yet its pieces are often telling: "fine", "inutile",
"ponte", "pastiglie", "da sola con lui". This model weighs every piece of every example at once
(a naive Bayes classifier over TF-IDF features, the text classifier that needs no optimiser and
is built in a fraction of a second when the pack loads, so a coordinator's new examples count at
once). Its features are those of the normalised message:
  - character 3- to 5-grams within each word, spaces around it ("tagliuzz", "tajat" and
    "tagliat" share most of theirs);
  - words of two letters or more, and pairs of neighbouring words ("da sola", "sola con").
Each part is weighted TF-IDF (1 + log of the count, times the rarity among the examples) and
scaled to length 1, as scikit-learn's TfidfVectorizer does; the classifier is its MultinomialNB
(additive smoothing ALPHA). Measured against the triage as it was before each crisis split was
written (docs/triage.md), it raised 27 of 50 and 16 of 31 crises nothing else caught, at a cost
of 2 of 60 and 1 of 30 idioms and 2 of 100 personal messages.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

CHARS = (3, 5)  # character n-grams, shortest and longest
ALPHA = 0.1  # additive smoothing
LIKELY = 0.98  # the probability of a crisis from which a person's message is raised

Features = dict[str, float]


def pieces(tokens: Sequence[str]) -> tuple[Counter[str], Counter[str]]:
    """The character n-grams and the words (and pairs of words) of a message, counted."""
    grams: list[str] = []
    low, high = CHARS
    for token in tokens:
        padded = f" {token} "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:  # a short word counts once, whole
                grams.append(padded)
                break
            grams += [padded[i : i + n] for i in range(size - n + 1)]
    words = [t for t in tokens if len(t) > 1]
    counted = Counter(words)
    counted.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return Counter(grams), counted


def _weighted(counts: Counter[str], rarity: dict[str, float]) -> Features:
    """TF-IDF of the known pieces, scaled to length 1."""
    vector = {p: (1.0 + math.log(c)) * rarity[p] for p, c in counts.items() if p in rarity}
    length = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {p: v / length for p, v in vector.items()}


class Learned:
    """A crisis probability for a message (its normalised tokens), from labelled examples."""

    def __init__(self, examples: Iterable[tuple[Sequence[str], bool]]) -> None:
        """`examples`: the normalised tokens of each example, and whether it is a crisis."""
        taught = list(examples)
        n = len(taught)
        # the pieces of each example are read twice rather than kept: a tenth of the memory
        df: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        for tokens, _ in taught:
            for part, counts in enumerate(pieces(tokens)):
                df[part].update(counts.keys())
        self._rarity = tuple(
            {p: math.log((1 + n) / (1 + d)) + 1.0 for p, d in found.items()} for found in df
        )
        del df
        # each class: the summed weight of every piece in its examples
        mass: tuple[Counter[str], Counter[str]] = (Counter(), Counter())  # not crisis, crisis
        for tokens, crisis in taught:
            for part, counts in enumerate(pieces(tokens)):
                mass[crisis].update(_weighted(counts, self._rarity[part]))
        size = sum(len(r) for r in self._rarity)
        totals = [sum(m.values()) + ALPHA * size for m in mass]
        crises = sum(crisis for _, crisis in taught)
        self.usable = 0 < crises < n
        self._prior = math.log(crises / (n - crises)) if self.usable else 0.0
        # each piece: its rarity, and log P(piece | crisis) - log P(piece | not a crisis)
        self._known = tuple(
            {
                p: (
                    r,
                    math.log((mass[True][p] + ALPHA) / totals[1])
                    - math.log((mass[False][p] + ALPHA) / totals[0]),
                )
                for p, r in rarity.items()
            }
            for rarity in self._rarity
        )
        del self._rarity  # kept in _known

    def __len__(self) -> int:
        """The number of pieces known."""
        return sum(len(k) for k in self._known)

    def probability(self, tokens: Sequence[str]) -> float:
        """How likely the message is a crisis (0-1), by the examples' pieces it shares."""
        score = self._prior
        for part, counts in enumerate(pieces(tokens)):
            known = self._known[part]
            dot = length = 0.0
            for p, c in counts.items():
                found = known.get(p)
                if found is not None:
                    rarity, lean = found
                    weight = rarity if c == 1 else (1.0 + math.log(c)) * rarity
                    dot += weight * lean
                    length += weight * weight
            if length:
                score += dot / math.sqrt(length)
        return 1.0 / (1.0 + math.exp(-score)) if score > -700 else 0.0

    def likely(self, tokens: Sequence[str]) -> bool:
        """The examples, taken together, call the message a crisis."""
        return self.usable and self.probability(tokens) >= LIKELY
