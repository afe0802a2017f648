"""Crisis detection: lexicon phrases by category, then weighted risk signals, after masking
harmless idioms."""

from __future__ import annotations

from collections.abc import Sequence

from flows.phrases import PhraseBook
from flows.risk import NO_RISK, Risk, RiskScorer


class CrisisCheck:
    """Say which crisis category a message falls in, if any. Errs on the side of escalating."""

    def __init__(
        self, categories: PhraseBook, idioms: PhraseBook, risk: RiskScorer | None = None
    ) -> None:
        self.categories = categories
        self.idioms = idioms  # "muoio dal ridere": masked before looking for crisis phrases
        self.risk = risk  # second layer: wordings the phrases do not know (risk.toml)

    def masked(self, tokens: Sequence[str]) -> frozenset[int]:
        """Token positions inside a harmless idiom."""
        return frozenset(
            i for hit in self.idioms.find_all(tokens) for i in range(hit.start, hit.end)
        )

    def check(self, tokens: Sequence[str]) -> tuple[str | None, Risk]:
        """The crisis category (phrases first, then risk signals) and the risk signals found."""
        masked = self.masked(tokens)
        hit = self.categories.find(tokens, skip=masked)
        if hit:
            return hit.label, NO_RISK
        risk = self.risk.score(tokens, skip=masked) if self.risk else NO_RISK
        return risk.category, risk

    def category(self, tokens: Sequence[str]) -> str | None:
        """The crisis category found in the message tokens, or None."""
        return self.check(tokens)[0]

    def assess(self, tokens: Sequence[str]) -> Risk:
        """The risk signals of the message alone (the phrase layer left out)."""
        return self.risk.score(tokens, skip=self.masked(tokens)) if self.risk else NO_RISK

    def distressed(self, risk: Risk) -> bool:
        """Distress strong enough for a listener whatever the length of the message."""
        return self.risk is not None and risk.distress >= self.risk.human

    def needs_listener(self, tokens: Sequence[str], risk: Risk) -> bool:
        """A long message with strong distress that is not a crisis: a listener."""
        return self.risk is not None and self.risk.needs_listener(tokens, risk)
