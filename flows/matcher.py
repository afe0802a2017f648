"""Match a message to the FAQ: weighted word overlap with typo-tolerant look-up.

Each FAQ has many phrasings. A message is scored against every phrasing that shares a word
with it (token inverted index), as the F1 of the *weights* of the shared words: words that
belong to a single FAQ ("orari", "gratis") weigh a lot, words common to many ("come", "posso")
little. Unknown words are corrected when one typo away from a known word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flows.spelling import Vocabulary

_VOWELS = "aeiouy"


def stem(word: str) -> str:
    """Drop final vowels so "gratuito/gratuita/gratuiti" and "orario/orari" meet."""
    short = word.rstrip(_VOWELS)
    return short if len(short) >= 4 else word


@dataclass(frozen=True)
class Candidate:
    faq_id: str
    score: float  # 0-100
    question: str  # the phrasing that matched best


class FaqMatcher:
    """Rank FAQs for a normalised message."""

    def __init__(
        self,
        questions: Iterable[tuple[str, Sequence[str], str]],
        *,
        stopwords: Iterable[str] = (),
        unknown_weight: float = 1.2,
        typo_factor: float = 0.85,
    ) -> None:
        """`questions` are (faq_id, normalised tokens, original text)."""
        self.stopwords = frozenset(stopwords)
        self.unknown_weight = unknown_weight
        self.typo_factor = typo_factor
        self._faq: list[str] = []
        self._text: list[str] = []
        self._terms: list[frozenset[str]] = []
        seen: dict[str, set[str]] = {}
        for faq_id, tokens, text in questions:
            terms = self.terms(tokens)
            if not terms:
                continue
            self._faq.append(faq_id)
            self._text.append(text)
            self._terms.append(terms)
            for t in terms:
                seen.setdefault(t, set()).add(faq_id)
        n = len(set(self._faq)) or 1
        self.weight = {t: math.log(1 + n / len(ids)) for t, ids in seen.items()}
        self._postings: dict[str, list[int]] = {}
        for i, terms in enumerate(self._terms):
            for t in terms:
                self._postings.setdefault(t, []).append(i)
        self._size = [sum(self.weight[t] for t in terms) for terms in self._terms]
        self.vocabulary = Vocabulary(self.weight)

    def terms(self, tokens: Sequence[str]) -> frozenset[str]:
        """The content words of a message or phrasing, stemmed."""
        return frozenset(stem(t) for t in tokens if t not in self.stopwords)

    def rank(self, tokens: Sequence[str], limit: int = 3) -> list[Candidate]:
        """The best FAQs for the message (best phrasing each), best first."""
        found: dict[str, float] = {}  # known term -> weight it brings
        size = 0.0
        for term in self.terms(tokens):
            near = self.vocabulary.near(term)
            if not near:
                size += self.unknown_weight
                continue
            factor = 1.0 if near == [term] else self.typo_factor
            size += max(self.weight[w] for w in near) * factor
            for w in near:
                found[w] = max(found.get(w, 0.0), self.weight[w] * factor)
        shared: dict[int, float] = {}
        for term, weight in found.items():
            for i in self._postings[term]:
                shared[i] = shared.get(i, 0.0) + weight
        best: dict[str, tuple[float, int]] = {}
        for i, overlap in shared.items():
            score = 200.0 * overlap / (self._size[i] + size)  # F1 of the weighted overlaps
            faq_id = self._faq[i]
            if score > best.get(faq_id, (-1.0, 0))[0]:
                best[faq_id] = (score, i)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        return [Candidate(f, round(min(s, 100.0), 1), self._text[i]) for f, (s, i) in ranked]
