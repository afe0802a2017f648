"""Labelled examples: a message going to a person is a crisis when the closest examples are.

The lexicons (crisis.toml, risk.toml) know the wordings their authors thought of. The examples
(examples.jsonl, one labelled message a line) know the wordings young people actually used:

    {"text": "ho già scelto il posto", "label": "crisis", "category": "suicide"}
    {"text": "mi butto giù dal letto alle 6", "label": "not_crisis"}

A message is compared with every example as character 4-grams of its normalised words, each
4-gram weighted by how rare it is among the examples (TF-IDF, cosine similarity): "tagliuzzo",
"tajato" and "tagliata" share most of their 4-grams, "mi" and "non" weigh little.

The examples can only RAISE a message the triage already sends to a person (flows.triage) to
priority "crisis"; they never send a message to the FAQ or lower a priority. A message is
raised when
  - the closest example is at least CLOSENESS similar, each of the NEIGHBOURS closest at
    least FLOOR (one shared word is no neighbourhood), and
  - of the NEIGHBOURS closest examples, crises hold at least SHARE of the similarity
    (a non-crisis example among them weighs as much as it is close),
  - or the closest example is nearly the same message (SAME): that example's label decides,
    so adding a listener's "not a crisis" correction silences that wording for good.
  - or, failing both, the examples taken together call it a crisis (flows.learned: a wording
    close to no single example whose pieces, "ponte", "pastiglie", "da sola con lui", lean to
    crisis across all of them), and a crisis example is among its closest few.
A message holding an idiom the lexicon knows to be harmless ("muoio dal ridere") is never
raised by examples. The category is the closest crisis example's.

The thresholds were chosen by cross-validation on the tuning splits (docs/triage.md):
`sos-bot triage --cross-validate FILE...` builds the examples from all files but one and
measures on the one left out.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from flows.learned import Learned
from flows.source import PackError

FILE = "examples.jsonl"
LABELS = ("crisis", "not_crisis")
KEYS = ("text", "label", "category", "note")
GRAM = 4  # characters
NEIGHBOURS = 8
SHARE = 0.8  # of the neighbours' similarity, held by crisis examples
CLOSENESS = 0.2  # the closest example must be at least this similar (cosine, 0-1)
FLOOR = 0.1  # and every one of the NEIGHBOURS at least this: a neighbourhood, not one word
SAME = 0.9  # an example this similar is the same message, give or take a word
FEW = 4 * NEIGHBOURS  # where a message the examples together call a crisis looks for a category


@dataclass(frozen=True)
class Example:
    text: str
    category: str | None  # the crisis category; None: not a crisis
    line: int = 0  # in examples.jsonl


def grams(tokens: Sequence[str]) -> set[str]:
    """The character 4-grams of the words, spaces around each."""
    padded = f" {' '.join(tokens)} "
    return {padded[i : i + GRAM] for i in range(len(padded) - GRAM + 1)}


class Examples:
    """Find the examples closest to a message (its normalised tokens)."""

    def __init__(self, examples: Iterable[tuple[Example, Sequence[str]]]) -> None:
        """`examples`: each example with the normalised tokens of its text."""
        self.examples: list[Example] = []
        found: list[set[str]] = []
        self._tokens: list[Sequence[str]] = []
        for example, tokens in examples:
            self.examples.append(example)
            found.append(grams(tokens))
            self._tokens.append(tokens)
        n = len(self.examples)
        seen: dict[str, list[int]] = defaultdict(list)
        for i, these in enumerate(found):
            for gram in these:
                seen[gram].append(i)
        # each 4-gram: its squared weight (rare ones weigh more) and the examples that hold it
        self._postings = {
            gram: (math.log((n + 1) / (len(ids) + 1)) + 1.0) ** 2 for gram, ids in seen.items()
        }
        self._holders = {gram: tuple(ids) for gram, ids in seen.items()}
        self._unknown = (math.log(n + 1) + 1.0) ** 2  # a 4-gram no example has
        self._norms = [math.sqrt(sum(self._postings[g] for g in these)) or 1.0 for these in found]

    def __len__(self) -> int:
        return len(self.examples)

    @cached_property
    def learned(self) -> Learned:
        """What the examples teach together (built on first use: half a second)."""
        return Learned(
            zip(self._tokens, (e.category is not None for e in self.examples), strict=True)
        )

    @property
    def crises(self) -> int:
        return sum(e.category is not None for e in self.examples)

    def nearest(self, tokens: Sequence[str], k: int = NEIGHBOURS) -> list[tuple[float, Example]]:
        """The k closest examples with their similarity (0-1), closest first."""
        dot: dict[int, float] = defaultdict(float)
        size = 0.0
        for gram in grams(tokens):
            weight = self._postings.get(gram)
            if weight is None:
                size += self._unknown
                continue
            size += weight
            for i in self._holders[gram]:
                dot[i] += weight
        if not dot:
            return []
        size = math.sqrt(size)
        # the most similar first, then the earliest example; no key function: one call fewer
        # per example sharing a 4-gram
        ranked = [(-d / self._norms[i], i, d) for i, d in dot.items()]
        best = heapq.nsmallest(k, ranked)
        return [(d / (size * self._norms[i]), self.examples[i]) for _, i, d in best]

    def crisis(self, tokens: Sequence[str]) -> str | None:
        """The crisis category when the closest examples are crises (see the module)."""
        near = self.nearest(tokens)
        if not near:
            return None
        closest, example = near[0]
        if closest >= SAME:
            return example.category
        if self._neighbourhood(near):
            return next(e.category for _, e in near if e.category is not None)
        if self.learned.likely(tokens):
            return next((e.category for _, e in self.nearest(tokens, FEW) if e.category), None)
        return None

    @staticmethod
    def _neighbourhood(near: list[tuple[float, Example]]) -> bool:
        """The closest examples are close enough, and crises hold SHARE of their similarity."""
        if near[0][0] < CLOSENESS or len(near) < NEIGHBOURS or near[-1][0] < FLOOR:
            return False
        total = sum(s for s, _ in near)
        crisis = sum(s for s, e in near if e.category is not None)
        return crisis >= SHARE * total


def same(text: str) -> str:
    """What two messages share when they are the same message (case and spaces aside)."""
    return " ".join(text.casefold().split())


def parse(path: Path, categories: Collection[str]) -> list[Example]:
    """Read examples.jsonl; every problem names the file and line."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"{name}: cannot read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise PackError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    out: list[Example] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        where = f"{name}:{number}:"
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PackError(f"{where} not a JSON object ({exc.msg}, column {exc.colno})") from exc
        if not isinstance(row, dict):
            raise PackError(f"{where} not a JSON object")
        unknown = sorted(set(row) - set(KEYS))
        if unknown:
            raise PackError(f"{where} unknown key {unknown[0]!r} (expected {', '.join(KEYS)})")
        message = row.get("text")
        if not isinstance(message, str) or not message.strip():
            raise PackError(f"{where} 'text' must be a non-empty string")
        label = row.get("label")
        if label not in LABELS:
            raise PackError(f"{where} 'label' must be one of {', '.join(LABELS)}")
        category = row.get("category")
        if label == "crisis" and category not in categories:
            raise PackError(
                f"{where} a crisis example needs a 'category' of crisis.toml "
                f"({', '.join(sorted(categories))})"
            )
        if label == "not_crisis" and category is not None:
            raise PackError(f"{where} only a crisis example has a 'category'")
        if "note" in row and not isinstance(row["note"], str):
            raise PackError(f"{where} 'note' must be a string")
        key = same(message)
        if key in seen:
            raise PackError(f"{where} the same message as line {seen[key]}")
        seen[key] = number
        out.append(Example(message, category if label == "crisis" else None, number))
    return out


def line(example: Example, note: str | None = None) -> str:
    """An example as a line of examples.jsonl."""
    row: dict[str, str] = {"text": example.text}
    if example.category is None:
        row["label"] = "not_crisis"
    else:
        row["label"], row["category"] = "crisis", example.category
    if note:
        row["note"] = note
    return json.dumps(row, ensure_ascii=False)
