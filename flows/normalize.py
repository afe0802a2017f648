"""Turn a message into comparable tokens, the way young people really write."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_CONTRACTIONS = [
    (re.compile(r"\bcan['’]t\b"), "can not"),
    (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"n['’]t\b"), " not"),
    (re.compile(r"\bi['’]m\b"), "i am"),
    (re.compile(r"['’]re\b"), " are"),
    (re.compile(r"['’]ve\b"), " have"),
    (re.compile(r"['’]ll\b"), " will"),
]
_SYMBOLS = str.maketrans({"+": " piu ", "&": " e ", "@": " a "})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")
WORD_CACHE = 50_000  # folded words remembered with their tokens


def fold(text: str) -> str:
    """Lower-case, strip accents, emoji and punctuation; one space between words."""
    text = text.casefold()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = text.translate(_SYMBOLS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text).strip()


def collapse(word: str) -> str:
    """Collapse repeated letters: "aiutooo" -> "aiuto", "ammazzare" -> "amazare"."""
    return _REPEATS.sub(r"\1", word)


def unstretch(word: str) -> str:
    """Squeeze a letter written three times or more: "aiutooo" -> "aiuto"; "ammazzare" stays
    (the dictionaries behind flows.lemmas know Italian double letters)."""
    return _STRETCHED.sub(r"\1", word)


class Normalizer:
    """Fold, squeeze stretched letters, expand abbreviations ("nn" -> "non", "kms" -> ...) and
    read emoji that stand for a word ("🩸" -> "sangue"). Abbreviations are looked up with every
    repeated letter collapsed ("nnn" is "nn")."""

    def __init__(
        self,
        abbreviations: Mapping[str, str] | None = None,
        symbols: Mapping[str, str] | None = None,
    ) -> None:
        # emoji and signs that stand for a word ("🩸" -> "sangue"), read before folding
        self.symbols = str.maketrans({s: f" {w} " for s, w in (symbols or {}).items()})
        self.abbreviations: dict[str, tuple[str, ...]] = {}
        # a word spelt with its double letter is that word, not a short form it collapses
        # onto: "tell" is no "tel" (telefono), "all" no "al"
        self._exact: dict[str, tuple[str, ...]] = {}
        for short, full in (abbreviations or {}).items():
            folded = fold(short)
            key = collapse(folded)
            value = tuple(unstretch(w) for w in fold(full).split())
            self._exact[folded] = value
            if key == folded or key not in self.abbreviations:
                self.abbreviations[key] = value

        self._seen: dict[str, tuple[str, ...]] = {}

    def __call__(self, text: str) -> tuple[str, ...]:
        """The tokens of one message."""
        out: list[str] = []
        for word in fold(text.translate(self.symbols)).split():
            tokens = self._seen.get(word)
            if tokens is None:
                if len(self._seen) > WORD_CACHE:
                    self._seen.clear()
                tokens = self._exact.get(word) or self.abbreviations.get(
                    collapse(word), (unstretch(word),)
                )
                self._seen[word] = tokens
            out.extend(tokens)
        return tuple(out)

    def text(self, text: str) -> str:
        """The normalised message as one string."""
        return " ".join(self(text))
