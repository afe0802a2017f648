"""Find lexicon phrases in a message: lemmas in order with small gaps, prefixes, typos.

A phrase is written in plain words: "mi voglio ammazzare". Each word stands for its lemma
(flows.lemmas), so the entry covers every inflection: "mi taglio" also finds "mi sto
tagliando", "mi sono tagliata" and "voglio tagliarmi". In a phrase,
  "a|b"   either word in this place,   "suicid*"  any word starting so (as written),
  "=uccido"  this very form only (where the person matters: "mi =uccido" is not "mi uccide"),
  "..."   up to WIDE_GAP other words here,
and elsewhere the words may have up to `gap` other words between them. A rule is one phrase, or
several phrases ("together") that must all occur anywhere in the message.
Phrases go through the same normalisation as messages, so "ammazzà" and "amazzare" match.
A word that no dictionary knows (a typo, dialect) also matches a lexicon word one letter away,
or one that it starts with; a real word never does.
Positions (hits, `skip`) count the pieces of flows.lemmas: a verb with a joined pronoun
("tagliarmi") is two.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from flows.lemmas import LEMMAS, Lemmatizer, Piece, written
from flows.normalize import Normalizer
from flows.spelling import Vocabulary

Slot = frozenset[int]  # the atoms (key or prefix ids) accepted in one place of a phrase
Phrase = tuple[tuple[Slot, int | None], ...]  # each slot with its own gap before it, if "..."
Variants = tuple[Phrase, ...]  # one written phrase: any of these (pronouns joined or not)

FUZZY_WORD = 7  # unknown words this long also match a lexicon word with one typo
FUZZY_PREFIX = 6  # prefixes this long also match with one typo
FUZZY_KEY = 4  # unknown words may start with a lexicon key this long ("tagliadno": "tagl")
WIDE_GAP = 6
MAX_VARIANTS = 32

REMEMBERED = 5_000  # words a phrase book remembers (memory: a few MB at most)


class PhraseSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    label: str
    phrases: tuple[Variants, ...]  # all must occur (one phrase = an ordinary phrase)
    source: str


@dataclass(frozen=True)
class Hit:
    label: str
    start: int
    end: int  # piece span of the (first) phrase, end exclusive
    source: str


class PhraseBook:
    """Compiled rules, checked in order; the first rule that matches wins."""

    def __init__(
        self,
        normalize: Normalizer,
        *,
        gap: int = 2,
        known: Iterable[str] = (),
        lemmas: Lemmatizer = LEMMAS,
        loose: bool = True,
    ) -> None:
        """`loose`: an unknown word may also match a lexicon key it starts with."""
        self.normalize = normalize
        self.lemmas = lemmas
        self.gap = gap
        self.loose = loose
        self.rules: list[Rule] = []
        self._atoms: dict[tuple[str, bool], int] = {}  # (key, prefix) -> atom id
        self._known = set(known)
        self._fuzzy: Vocabulary | None = None
        self._read: dict[Piece, frozenset[int]] = {}  # atoms_of, per word (cleared on change)

    # building -----------------------------------------------------------------------------

    def add(self, label: str, phrase: str | Sequence[str]) -> None:
        """Add a rule: a phrase, or a list of phrases that must occur together."""
        parts = [phrase] if isinstance(phrase, str) else list(phrase)
        if not parts:
            raise PhraseSyntaxError("empty list of phrases")
        compiled = tuple(self._compile(p) for p in parts)
        self.rules.append(Rule(label, compiled, " + ".join(parts)))
        self._fuzzy = None
        self._read.clear()

    def _compile(self, phrase: str) -> Variants:
        places: list[list[list[Slot]]] = []  # each place: its options, each a run of slots
        gaps: list[int | None] = []
        wide: int | None = None
        for place in phrase.split():
            if place == "...":
                wide = WIDE_GAP
                continue
            places.append(self._place(place, phrase))
            gaps.append(wide)
            wide = None
        if not places:
            raise PhraseSyntaxError("empty phrase")
        variants = []
        for choice in itertools.islice(itertools.product(*places), MAX_VARIANTS + 1):
            slots: list[tuple[Slot, int | None]] = []
            for run, gap in zip(choice, gaps, strict=True):
                slots += [(slot, gap if i == 0 else None) for i, slot in enumerate(run)]
            variants.append(tuple(slots))
        if len(variants) > MAX_VARIANTS:
            raise PhraseSyntaxError(f"too many ways to read {phrase!r}: split it in several")
        return tuple(variants)

    def _place(self, place: str, phrase: str) -> list[list[Slot]]:
        """The options of one place: alternatives grouped by the words joined before them."""
        alternatives = [a for a in place.split("|") if a]
        groups: dict[tuple[Slot, ...], set[int]] = {}
        for alt in alternatives:
            prefix = alt.endswith("*")
            exact = alt.startswith("=")
            words = self.normalize(alt.strip("*="))
            if not words:
                raise PhraseSyntaxError(f"{alt!r} has no letters in phrase {phrase!r}")
            if len(words) > 1 and len(alternatives) > 1:
                raise PhraseSyntaxError(f"{alt!r} is several words inside an 'a|b' choice")
            run: list[Slot] = []
            for n, w in enumerate(words):
                if prefix and n == len(words) - 1:
                    run.append(frozenset({self._atom(w, True)}))
                elif exact:
                    run.append(frozenset({self._atom(written(w), False)}))
                else:  # a joined verb ("uccidermi") keeps its person: only its written forms
                    pieces = self.lemmas.pieces(w)
                    run += [
                        frozenset(self._atom(k, False) for k in (p.forms if p.joined else p.keys))
                        for p in pieces
                    ]
                    if len(words) == 1 and len(pieces) > 1:  # as one word, for typos in it
                        groups.setdefault((), set()).add(self._atom(written(w), False))
            *lead, last = run
            groups.setdefault(tuple(lead), set()).update(last)
        if not groups:
            raise PhraseSyntaxError(f"empty place in phrase {phrase!r}")
        return [[*lead, frozenset(last)] for lead, last in groups.items()]

    def _atom(self, key: str, prefix: bool) -> int:
        return self._atoms.setdefault((key, prefix), len(self._atoms))

    def protect(self, words: Iterable[str]) -> None:
        """Real words that must never be read as a typo of a lexicon word ("dormire")."""
        self._known.update(words)
        self._fuzzy = None
        self._read.clear()

    def words(self) -> set[str]:
        """Every key the rules use."""
        return {w for (w, prefix) in self._atoms if not prefix}

    def _prepare(self) -> Vocabulary:
        if self._fuzzy is None:
            self._exact = {w: a for (w, p), a in self._atoms.items() if not p}
            self._prefixes = {w: a for (w, p), a in self._atoms.items() if p}
            self._fuzzy_prefixes: dict[str, list[tuple[str, int]]] = {}  # by first letter
            for w, a in self._prefixes.items():
                if len(w) >= FUZZY_PREFIX:
                    self._fuzzy_prefixes.setdefault(w[0], []).append((w, a))
            self._key_lengths = sorted({len(w) for w in self._exact if len(w) >= FUZZY_KEY})
            self._fuzzy = Vocabulary(
                (w for w in self._exact if len(w) >= FUZZY_KEY), min_length=FUZZY_KEY
            )
            self._starts: dict[int, list[int]] = {}
            for index, rule in enumerate(self.rules):
                for variant in rule.phrases[0]:
                    for atom in variant[0][0]:
                        self._starts.setdefault(atom, []).append(index)
            for index_list in self._starts.values():
                index_list[:] = sorted(set(index_list))
        return self._fuzzy

    # matching -----------------------------------------------------------------------------

    def read(self, tokens: Sequence[str]) -> list[Piece]:
        """The pieces of a message's tokens (see flows.lemmas)."""
        return [piece for token in tokens for piece in self.lemmas.pieces(token)]

    def atoms_of(self, piece: Piece) -> frozenset[int]:
        """The atoms a piece stands for: its keys, prefixes, or (unknown words) one typo away.

        Remembered per word: every phrase book reads the same common words again and again.
        """
        found = self._read.get(piece)
        if found is None:
            if len(self._read) > REMEMBERED:
                self._read.clear()
            found = self._read[piece] = frozenset(self._atoms_of(piece))
        return found

    def _atoms_of(self, piece: Piece) -> set[int]:
        fuzzy = self._prepare()
        found = {self._exact[k] for k in piece.keys if k in self._exact}
        word = piece.surface
        for k in range(1, len(word) + 1):
            atom = self._prefixes.get(word[:k])
            if atom is not None:
                found.add(atom)
        if piece.known or word in self._known or len(word) < FUZZY_PREFIX:
            return found
        for key in piece.keys:
            found.update(self._exact[w] for w in fuzzy.near(key) if len(key) >= FUZZY_KEY)
        for n in self._key_lengths if self.loose else ():
            if n + 2 <= len(word) and word[:n] in self._exact:
                found.add(self._exact[word[:n]])
        for stem, atom in self._fuzzy_prefixes.get(word[0], ()):  # typos rarely hit letter one
            n = len(stem)
            if any(OSA.distance(stem, word[:m], score_cutoff=1) <= 1 for m in (n - 1, n, n + 1)):
                found.add(atom)
        return found

    def find(self, tokens: Sequence[str], *, skip: frozenset[int] = frozenset()) -> Hit | None:
        """The first rule found in the tokens (pieces in `skip` are ignored)."""
        hits = self.find_all(tokens, skip=skip, first=True)
        return hits[0] if hits else None

    def find_all(
        self, tokens: Sequence[str], *, skip: frozenset[int] = frozenset(), first: bool = False
    ) -> list[Hit]:
        """Every rule found in the tokens, in rule order."""
        self._prepare()
        pieces = self.read(tokens)
        atoms = [frozenset() if i in skip else self.atoms_of(p) for i, p in enumerate(pieces)]
        present = set().union(*atoms)
        candidates = sorted({r for a in present for r in self._starts.get(a, ())})
        out: list[Hit] = []
        for rule in (self.rules[r] for r in candidates):
            spans = []
            for variants in rule.phrases:
                span = self._first_span(atoms, present, variants)
                if span is None:
                    break
                spans.append(span)
            else:
                start, end = spans[0]
                out.append(Hit(rule.label, start, end, rule.source))
                if first:
                    break
        return out

    def _first_span(
        self, atoms: list[frozenset[int]], present: set[int], variants: Variants
    ) -> tuple[int, int] | None:
        """The span of the first variant of a phrase found in the message, if any."""
        for phrase in variants:
            span = self._span(atoms, present, phrase)
            if span is not None:
                return span
        return None

    def _span(
        self, atoms: list[frozenset[int]], present: set[int], phrase: Phrase
    ) -> tuple[int, int] | None:
        for slot, _ in phrase:
            if present.isdisjoint(slot):
                return None  # a word of the phrase is missing altogether

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
