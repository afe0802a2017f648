"""Typo-tolerant word look-up: one slip of the thumb away from a known word."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import OSA

SHORT = 6


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Known words, indexed by their one-letter deletions for fast one-edit look-ups.

    Most deletions belong to one word only: the index keeps that word itself, and a tuple only
    for the few shared ones (a set per deletion took some 14 MB for the default pack's books).
    """

    def __init__(self, words: Iterable[str], *, min_length: int = 4) -> None:
        self.words = frozenset(words)
        self.min_length = min_length
        index: dict[str, list[str]] = {}
        for word in self.words:
            if len(word) >= min_length:
                for key in _deletes(word) | {word}:
                    index.setdefault(key, []).append(word)
        self._index: dict[str, str | tuple[str, ...]] = {
            key: found[0] if len(found) == 1 else tuple(found) for key, found in index.items()
        }

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def near(self, word: str) -> list[str]:
        """Known words one edit (typo, missing/extra letter, swap) away.

        Short words (under SHORT letters) only match a known word with one letter missing
        ("orai" -> "orari") or two letters swapped: a changed letter makes another real word
        too often ("corti" -> "costi").
        """
        if word in self.words:
            return [word]
        if len(word) < self.min_length:
            return []
        found: set[str] = set()
        for key in _deletes(word) | {word}:
            hit = self._index.get(key)
            if isinstance(hit, str):
                found.add(hit)
            elif hit:
                found.update(hit)
        close = [w for w in found if OSA.distance(word, w, score_cutoff=1) <= 1]
        if len(word) < SHORT:
            close = [w for w in close if len(w) == len(word) + 1 or sorted(w) == sorted(word)]
        return sorted(close)

    def correct(self, word: str) -> str | None:
        """The known word meant by `word`, if exactly one is that close."""
        near = self.near(word)
        return near[0] if len(near) == 1 else None
