"""Measure triage on a labelled set: python -m flows.evaluate [FILE] [--errors] [--pack DIR].

FILE has one JSON object a line: {"text": ..., "intent": ..., "faq_id": ...}
(default: tests/data/triage_eval.jsonl).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.pack import Pack, load_pack
from flows.triage import Triage, triage

DEFAULT_FILE = Path("tests/data/triage_eval.jsonl")


@dataclass
class Report:
    total: int = 0
    crises: int = 0
    crises_found: int = 0
    not_crises: int = 0
    false_crises: int = 0
    faqs: int = 0
    faqs_right: int = 0
    intents_right: int = 0
    errors: list[tuple[dict[str, Any], Triage]] = field(default_factory=list)

    @property
    def crisis_recall(self) -> float:
        return self.crises_found / self.crises if self.crises else 1.0

    @property
    def false_crisis_rate(self) -> float:
        return self.false_crises / self.not_crises if self.not_crises else 0.0

    @property
    def faq_accuracy(self) -> float:
        return self.faqs_right / self.faqs if self.faqs else 1.0

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.total if self.total else 1.0

    def table(self) -> str:
        """The figures, as a plain-text table."""
        rows = [
            ("crisis recall", self.crisis_recall, f"{self.crises_found}/{self.crises}"),
            ("false-crisis rate", self.false_crisis_rate, f"{self.false_crises}/{self.not_crises}"),
            ("FAQ top-1 accuracy", self.faq_accuracy, f"{self.faqs_right}/{self.faqs}"),
            ("intent accuracy", self.intent_accuracy, f"{self.intents_right}/{self.total}"),
        ]
        lines = [f"{'measure':<20} {'value':>7}  {'count':>9}", "-" * 39]
        lines += [f"{name:<20} {value:>7.1%}  {count:>9}" for name, value, count in rows]
        return "\n".join(lines)


def read(path: Path) -> list[dict[str, Any]]:
    """The labelled rows of a JSON-lines file (blank lines skipped)."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path.name}:{number}: {exc}") from exc
    return rows


def evaluate(pack: Pack, rows: Iterable[dict[str, Any]]) -> Report:
    """Triage every row and count what matters."""
    report = Report()
    for row in rows:
        got = triage(pack, row["text"])
        want = row["intent"]
        report.total += 1
        right = got.intent == want
        if want == "crisis":
            report.crises += 1
            report.crises_found += got.intent == "crisis"
        else:
            report.not_crises += 1
            report.false_crises += got.intent == "crisis"
        if want == "faq":
            report.faqs += 1
            right = right and got.faq_id == row.get("faq_id")
            report.faqs_right += right
        report.intents_right += got.intent == want
        if not right:
            report.errors.append((row, got))
    return report


def main(argv: list[str] | None = None) -> int:
    """Print the figures for a labelled file; exit 1 if a crisis was missed."""
    parser = argparse.ArgumentParser(prog="python -m flows.evaluate", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--pack", type=Path, default=None, help="content pack folder")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    args = parser.parse_args(argv)
    report = evaluate(load_pack(args.pack), read(args.file))
    print(f"{args.file} ({report.total} messages)\n")
    print(report.table())
    if args.errors and report.errors:
        print("\nwrong answers (expected -> got):")
        for row, got in report.errors:
            want = row["intent"] + (f"/{row['faq_id']}" if row.get("faq_id") else "")
            have = got.intent + (f"/{got.faq_id}" if got.faq_id else "")
            print(f"  {want:<28} -> {have:<28} {row['text']}")
    return 0 if report.crisis_recall == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
