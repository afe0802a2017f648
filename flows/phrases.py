"""Find lexicon phrases in a message: words in order with small gaps, prefixes, typos.

A phrase is written in plain words: "mi voglio ammazzare". In a phrase,
  "a|b"   either word in this place,   "suicid*"  any word starting so,
  "..."   up to WIDE_GAP other words here,
and elsewhere the words may have up to `gap` other words between them. A rule is one phrase, or
several phrases ("together") that must all occur anywhere in the message.
Phrases go through the same normalisation as messages, so "ammazzà" and "amazzare" match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from flows.normalize import Normalizer
from flows.spelling import Vocabulary

Slot = frozenset[int]  # the atoms (word ids) accepted in one place of a phrase
Phrase = tuple[tuple[Slot, int | None], ...]  # each slot with its own gap before it, if "..."

FUZZY_WORD = 7  # whole words this long (after normalisation) also match with one typo
FUZZY_PREFIX = 6  # prefixes this long also match with one typo
WIDE_GAP = 6


class PhraseSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    label: str
    phrases: tuple[Phrase, ...]  # all must occur (one phrase = an ordinary phrase)
    source: str


@dataclass(frozen=True)
class Hit:
    label: str
    start: int
    end: int  # token span of the (first) phrase, end exclusive
    source: str


class PhraseBook:
    """Compiled rules, checked in order; the first rule that matches wins."""

    def __init__(self, normalize: Normalizer, *, gap: int = 2, known: Iterable[str] = ()) -> None:
        self.normalize = normalize
        self.gap = gap
        self.rules: list[Rule] = []
        self._atoms: dict[tuple[str, bool], int] = {}
        self._known = set(known)
        self._fuzzy: Vocabulary | None = None

    # building -----------------------------------------------------------------------------

    def add(self, label: str, phrase: str | Sequence[str]) -> None:
        """Add a rule: a phrase, or a list of phrases that must occur together."""
        parts = [phrase] if isinstance(phrase, str) else list(phrase)
        if not parts:
            raise PhraseSyntaxError("empty list of phrases")
        compiled = tuple(self._compile(p) for p in parts)
        self.rules.append(Rule(label, compiled, " + ".join(parts)))
        self._fuzzy = None

    def _compile(self, phrase: str) -> Phrase:
        slots: list[tuple[Slot, int | None]] = []
        wide: int | None = None
        for place in phrase.split():
            if place == "...":
                wide = WIDE_GAP
                continue
            alternatives = [a for a in place.split("|") if a]
            atoms: set[int] = set()
            for alt in alternatives:
                prefix = alt.endswith("*")
                words = self.normalize(alt.rstrip("*"))
                if not words:
                    raise PhraseSyntaxError(f"{alt!r} has no letters in phrase {phrase!r}")
                if len(words) > 1 and len(alternatives) > 1:
                    raise PhraseSyntaxError(f"{alt!r} is several words inside an 'a|b' choice")
                for w in words[:-1]:
                    slots.append((frozenset({self._atom(w, False)}), wide))
                    wide = None
                atoms.add(self._atom(words[-1], prefix))
            if not atoms:
                raise PhraseSyntaxError(f"empty place in phrase {phrase!r}")
            slots.append((frozenset(atoms), wide))
            wide = None
        if not slots:
            raise PhraseSyntaxError("empty phrase")
        return tuple(slots)

    def _atom(self, word: str, prefix: bool) -> int:
        return self._atoms.setdefault((word, prefix), len(self._atoms))

    def protect(self, words: Iterable[str]) -> None:
        """Real words that must never be read as a typo of a lexicon word ("dormire")."""
        self._known.update(words)
        self._fuzzy = None

    def words(self) -> set[str]:
        """Every whole word the rules use (to protect real words from typo matching)."""
        return {w for (w, prefix) in self._atoms if not prefix}

    def _prepare(self) -> Vocabulary:
        if self._fuzzy is None:
            self._exact = {w: a for (w, p), a in self._atoms.items() if not p}
            self._prefixes = {w: a for (w, p), a in self._atoms.items() if p}
            self._fuzzy_prefixes: dict[str, list[tuple[str, int]]] = {}  # by first letter
            for w, a in self._prefixes.items():
                if len(w) >= FUZZY_PREFIX:
                    self._fuzzy_prefixes.setdefault(w[0], []).append((w, a))
            self._protected = self._known | set(self._exact)
            self._fuzzy = Vocabulary(
                (w for w in self._exact if len(w) >= FUZZY_WORD), min_length=FUZZY_WORD - 1
            )
            self._starts: dict[int, list[int]] = {}
            for index, rule in enumerate(self.rules):
                for atom in rule.phrases[0][0][0]:
                    self._starts.setdefault(atom, []).append(index)
        return self._fuzzy

    # matching -----------------------------------------------------------------------------

    def atoms_of(self, token: str) -> set[int]:
        """The atoms a message token stands for: exact, prefix, or one typo away."""
        fuzzy = self._prepare()
        found: set[int] = set()
        if token in self._exact:
            found.add(self._exact[token])
        for k in range(1, len(token) + 1):
            atom = self._prefixes.get(token[:k])
            if atom is not None:
                found.add(atom)
        if token in self._protected or len(token) < FUZZY_PREFIX:
            return found
        found.update(self._exact[w] for w in fuzzy.near(token))
        for stem, atom in self._fuzzy_prefixes.get(token[0], ()):  # typos rarely hit letter one
            n = len(stem)
            if any(OSA.distance(stem, token[:m], score_cutoff=1) <= 1 for m in (n - 1, n, n + 1)):
                found.add(atom)
        return found

    def find(self, tokens: Sequence[str], *, skip: frozenset[int] = frozenset()) -> Hit | None:
        """The first rule found in the tokens (positions in `skip` are ignored)."""
        hits = self.find_all(tokens, skip=skip, first=True)
        return hits[0] if hits else None

    def find_all(
        self, tokens: Sequence[str], *, skip: frozenset[int] = frozenset(), first: bool = False
    ) -> list[Hit]:
        """Every rule found in the tokens, in rule order."""
        self._prepare()
        atoms = [set() if i in skip else self.atoms_of(t) for i, t in enumerate(tokens)]
        present = set().union(*atoms)
        candidates = sorted({r for a in present for r in self._starts.get(a, ())})
        out: list[Hit] = []
        for rule in (self.rules[r] for r in candidates):
            if any(present.isdisjoint(slot) for phrase in rule.phrases for slot, _ in phrase):
                continue  # a word of the rule is missing altogether
            spans = []
            for phrase in rule.phrases:
                span = self._span(atoms, phrase)
                if span is None:
                    break
                spans.append(span)
            else:
                start, end = spans[0]
                out.append(Hit(rule.label, start, end, rule.source))
                if first:
                    break
        return out

    def _span(self, atoms: list[set[int]], phrase: Phrase) -> tuple[int, int] | None:
        def walk(k: int, after: int, start: int) -> tuple[int, int] | None:
            if k == len(phrase):
                return start, after
            slot, wide = phrase[k]
            lo = after if k else 0
            gap = self.gap if wide is None else wide
            hi = min(len(atoms), after + gap + 1) if k else len(atoms)
            for i in range(lo, hi):
                if atoms[i] & slot:
                    found = walk(k + 1, i + 1, i if k == 0 else start)
                    if found:
                        return found
            return None

        return walk(0, 0, 0)
