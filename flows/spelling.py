"""Typo-tolerant word look-up: one slip of the thumb away from a known word."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import OSA


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Vocabulary:
    """Known words, indexed by their one-letter deletions for fast one-edit look-ups."""

    def __init__(self, words: Iterable[str], *, min_length: int = 4) -> None:
        self.words = frozenset(words)
        self.min_length = min_length
        self._index: dict[str, set[str]] = {}
        for word in self.words:
            if len(word) >= min_length:
                for key in _deletes(word) | {word}:
                    self._index.setdefault(key, set()).add(word)

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def near(self, word: str) -> list[str]:
        """Known words at most one edit (typo, missing/extra letter, swap) away, nearest first."""
        if word in self.words:
            return [word]
        if len(word) < self.min_length:
            return []
        found: set[str] = set()
        for key in _deletes(word) | {word}:
            found |= self._index.get(key, set())
        return sorted((w for w in found if OSA.distance(word, w, score_cutoff=1) <= 1))

    def correct(self, word: str) -> str | None:
        """The known word meant by `word`, if exactly one is that close."""
        near = self.near(word)
        return near[0] if len(near) == 1 else None
