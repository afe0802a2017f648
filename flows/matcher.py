"""Match a message to the FAQ: weighted word overlap with typo-tolerant look-up.

Each FAQ has many phrasings. A message is scored against every phrasing that shares a word
with it (token inverted index), as the F1 of the *weights* of the shared words: words that
belong to a single FAQ ("orari", "gratis") weigh a lot, words common to many ("come", "posso")
little. Unknown words are corrected when one typo away from a known word.

A score is not enough to answer: a candidate has *evidence* only when the message holds one of
the FAQ's topical words (its `keywords`, or else the words no other FAQ uses). A high score
built from "come faccio", "posso" and "mi" alone never answers a personal message.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flows.spelling import Vocabulary

_VOWELS = "aeiouy"
_ENDINGS = tuple(
    sorted(
        "issimo issima issimi issime azione azioni amento amenti imento imenti mente iamo ando "
        "endo ono ano are ere ire ato ata ati ate ito ita iti ite uto uta uti ete".split(),
        key=len,
        reverse=True,
    )
)


def stem(word: str) -> str:
    """A light Italian stem: "cancellare/cancellate/cancellato", "orario/orari" meet."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            word = word[: -len(ending)]
            break
    short = word.rstrip(_VOWELS)
    return short if len(short) >= 4 else word


@dataclass(frozen=True)
class Candidate:
    faq_id: str
    score: float  # 0-100
    question: str  # the phrasing that matched best
    evidence: bool = True  # the message holds one of the FAQ's topical words


class FaqMatcher:
    """Rank FAQs for a normalised message."""

    def __init__(
        self,
        questions: Iterable[tuple[str, Sequence[str], str]],
        *,
        stopwords: Iterable[str] = (),
        keywords: Mapping[str, Iterable[str]] | None = None,
        personal: Iterable[str] = (),
        typo_factor: float = 0.8,
        beta: float = 1.3,
    ) -> None:
        """`questions` are (faq_id, normalised tokens, original text); `keywords` the topical
        words of some FAQs (normalised tokens). Every FAQ's topical words also include the words
        only its questions use, except `personal` ones (family, feelings...): those tell
        something about the young person, not about the service."""
        self.stopwords = frozenset(stopwords)
        self.typo_factor = typo_factor
        self.beta2 = beta * beta
        self._f = 100.0 * (1 + self.beta2)
        self._faq: list[str] = []
        self._text: list[str] = []
        self._terms: list[frozenset[str]] = []
        seen: dict[str, set[str]] = {}
        questions_seen = list(questions)
        for faq_id, tokens, text in questions_seen:
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
        self.unknown_weight = math.log(1 + n)  # a word we never saw is as telling as a rare one
        self._postings: dict[str, list[int]] = {}
        for i, terms in enumerate(self._terms):
            for t in terms:
                self._postings.setdefault(t, []).append(i)
        self._size = [sum(self.weight[t] for t in terms) for terms in self._terms]
        self._surface: dict[str, str] = {}  # every written form of a known term -> the term
        for _faq_id, tokens, _text in questions_seen:
            for token in tokens:
                if token not in self.stopwords:
                    self._surface[token] = stem(token)
        self.vocabulary = Vocabulary(self._surface)
        given = {f: self.terms(list(words)) for f, words in (keywords or {}).items()}
        mine = self.terms(list(personal))
        self.topical: dict[str, frozenset[str]] = {
            faq_id: given.get(faq_id, frozenset())
            | frozenset(t for t, ids in seen.items() if ids == {faq_id} and t not in mine)
            for faq_id in dict.fromkeys(self._faq)
        }
        for terms in given.values():  # a keyword found in no phrasing still has a weight
            for t in terms:
                self.weight.setdefault(t, self.unknown_weight)
                self._surface.setdefault(t, t)
        self.vocabulary = Vocabulary(self._surface)

    def terms(self, tokens: Sequence[str]) -> frozenset[str]:
        """The content words of a message or phrasing, stemmed."""
        return frozenset(stem(t) for t in tokens if t not in self.stopwords)

    def rank(self, tokens: Sequence[str], limit: int = 3, floor: float = 0.0) -> list[Candidate]:
        """The best FAQs scoring at least `floor` (best phrasing each), best first."""
        found: dict[str, float] = {}  # known term -> weight it brings
        size = 0.0
        for token in {t for t in tokens if t not in self.stopwords}:
            term = stem(token)
            if term in self.weight:
                near, factor = {term}, 1.0
            else:
                near = {self._surface[w] for w in self.vocabulary.near(token)}
                factor = self.typo_factor
            if not near:
                size += self.unknown_weight
                continue
            size += max(self.weight[w] for w in near) * factor
            for w in near:
                found[w] = max(found.get(w, 0.0), self.weight[w] * factor)
        best: dict[str, tuple[float, int]] = {}
        for i in self._candidates(found, size, floor):
            overlap = sum(w for t, w in found.items() if t in self._terms[i])
            # F-beta of the weighted overlaps: precision over the message, recall over the question
            score = self._f * overlap / (self.beta2 * self._size[i] + size)
            faq_id = self._faq[i]
            if score >= floor and score > best.get(faq_id, (-1.0, 0))[0]:
                best[faq_id] = (score, i)
        ranked = heapq.nsmallest(limit, best.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [
            Candidate(
                f,
                round(min(s, 100.0), 1),
                self._text[i],
                not self.topical.get(f, frozenset()).isdisjoint(found),
            )
            for f, (s, i) in ranked
        ]

    def evidence(self, tokens: Sequence[str], faq_id: str) -> bool:
        """Whether the tokens hold one of the FAQ's topical words (typos allowed)."""
        topical = self.topical.get(faq_id, frozenset())
        for token in tokens:
            if token in self.stopwords:
                continue
            term = stem(token)
            near = (
                {term}
                if term in self.weight
                else {self._surface[w] for w in self.vocabulary.near(token)}
            )
            if not topical.isdisjoint(near):
                return True
        return False

    def _candidates(self, found: dict[str, float], size: float, floor: float) -> set[int]:
        """Phrasings sharing a word with the message, skipping those that cannot reach `floor`.

        A phrasing that shares only words of total weight W scores at most
        (1 + b²)·W / (b²·W + size); the lightest words whose W keeps that under `floor`
        do not bring in phrasings of their own (they still count for the others).
        """
        light = 0.0
        seeds = []
        for term, weight in sorted(found.items(), key=lambda kv: kv[1]):
            if self._f * (light + weight) / (self.beta2 * (light + weight) + size) < floor:
                light += weight
            else:
                seeds.append(term)
        return {i for term in seeds for i in self._postings.get(term, ())}
