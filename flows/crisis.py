"""Crisis detection: lexicon phrases by category, after masking harmless idioms."""

from __future__ import annotations

from collections.abc import Sequence

from flows.phrases import PhraseBook


class CrisisCheck:
    """Say which crisis category a message falls in, if any. Errs on the side of escalating."""

    def __init__(self, categories: PhraseBook, idioms: PhraseBook) -> None:
        self.categories = categories
        self.idioms = idioms  # "muoio dal ridere": masked before looking for crisis phrases

    def category(self, tokens: Sequence[str]) -> str | None:
        """The crisis category found in the message tokens, or None."""
        masked = frozenset(
            i for hit in self.idioms.find_all(tokens) for i in range(hit.start, hit.end)
        )
        hit = self.categories.find(tokens, skip=masked)
        return hit.label if hit else None
