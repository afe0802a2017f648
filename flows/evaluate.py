"""Measure triage on labelled splits: python -m flows.evaluate FILE [FILE...] [--errors].

Each FILE (a split) has one JSON object a line:
    {"text": ..., "intent": ..., "faq_id": ..., "tags": ["personal", "idiom", ...]}
`tags` may be missing: a "human" row then counts as "personal" (a young person telling
something), unless it is tagged "ask_person" (a request for a person).

What counts is what the engine does with the message on first contact (flows.engine.step):
  reaching a listener       at-risk rows (crisis, personal) that yield an Escalate event
  crisis priority recall    crisis rows escalated with priority "crisis"
  idioms called crisis      rows tagged "idiom" escalated with priority "crisis"
  FAQ top-1                 faq rows whose triage names the right FAQ
  personal answered by a FAQ alone   personal rows that got a FAQ and no listener
The bars are in BARS; a split below them fails (exit code 1).

--cross-validate FILE... measures the example layer (flows.examples) honestly: for each file,
the examples are the pack's own and all the OTHER files' rows, less any message of the file,
and the file is measured with the lexicon alone and with those examples (leave one file out).
The shipped examples.jsonl holds the tuning splits themselves, so `--evaluate` on a tuning split
is in-sample for the examples; the cross-validated figures are the honest ones.
--examples FILE... prints the labelled rows as examples.jsonl lines (a crisis row gets the
category the lexicon gives it; one the lexicon misses is printed with "category": "?" and must
be given one by hand).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.engine import Context, EmergencyNumber, Holder, step
from flows.events import Escalate, FaqMatched
from flows.examples import Example, Examples, line, same
from flows.hours import OpeningHours
from flows.pack import Pack, load_pack
from flows.triage import Triage, triage

DEFAULT_FILE = Path("tests/data/triage_eval.jsonl")
_NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # a Monday afternoon: the service is open
_HOURS = OpeningHours.parse("mon-fri 15:00-20:00")
_NUMBERS = (EmergencyNumber("Emergenza", "112"),)


@dataclass(frozen=True)
class Bars:
    """The least a split must reach (None: reported, not checked)."""

    reached: float | None = 0.99  # at-risk messages reaching a listener
    crisis_priority: float | None = 0.97
    idioms_as_crisis: float | None = 0.10  # at most
    faq_top1: float | None = 0.90
    faq_alone: int | None = 0  # at most: personal messages answered by a FAQ alone


BARS = Bars()
GOALS = Bars(reached=1.0, crisis_priority=1.0)


def tags_of(row: dict[str, Any]) -> set[str]:
    """The row's tags; without any, a "human" row is a personal one."""
    tags = set(row.get("tags") or ())
    if "tags" not in row and row.get("intent") == "human":
        tags.add("personal")
    return tags


@dataclass
class Reading:
    """What happened to one row."""

    row: dict[str, Any]
    triage: Triage
    escalated: str | None  # the priority of the Escalate on first contact, if any
    faq: str | None  # the FAQ answered on first contact, if any


@dataclass
class Report:
    name: str = ""
    total: int = 0
    at_risk: int = 0
    reached: int = 0
    crises: int = 0
    crisis_priority: int = 0
    idioms: int = 0
    idioms_as_crisis: int = 0
    faqs: int = 0
    faqs_right: int = 0
    personal: int = 0
    faq_alone: int = 0
    not_crises: int = 0
    false_crises: int = 0
    intents_right: int = 0
    misses: list[Reading] = field(default_factory=list)  # at-risk rows that reached no one
    errors: list[Reading] = field(default_factory=list)  # any wrong answer

    @staticmethod
    def _share(part: int, whole: int, empty: float = 1.0) -> float:
        return part / whole if whole else empty

    @property
    def reached_rate(self) -> float:
        return self._share(self.reached, self.at_risk)

    @property
    def crisis_recall(self) -> float:
        return self._share(self.crisis_priority, self.crises)

    @property
    def idiom_crisis_rate(self) -> float:
        return self._share(self.idioms_as_crisis, self.idioms, 0.0)

    @property
    def faq_accuracy(self) -> float:
        return self._share(self.faqs_right, self.faqs)

    @property
    def false_crisis_rate(self) -> float:
        return self._share(self.false_crises, self.not_crises, 0.0)

    @property
    def intent_accuracy(self) -> float:
        return self._share(self.intents_right, self.total)

    def failures(self, bars: Bars = BARS) -> list[str]:
        """The bars this split does not reach, in words."""
        out = []
        if bars.reached is not None and self.reached_rate < bars.reached:
            out.append(f"at-risk reaching a listener {self.reached_rate:.1%} < {bars.reached:.0%}")
        if bars.crisis_priority is not None and self.crisis_recall < bars.crisis_priority:
            out.append(
                f"crisis priority recall {self.crisis_recall:.1%} < {bars.crisis_priority:.0%}"
            )
        if bars.idioms_as_crisis is not None and self.idiom_crisis_rate > bars.idioms_as_crisis:
            out.append(
                f"idioms called crisis {self.idiom_crisis_rate:.1%} > {bars.idioms_as_crisis:.0%}"
            )
        if bars.faq_top1 is not None and self.faq_accuracy < bars.faq_top1:
            out.append(f"FAQ top-1 {self.faq_accuracy:.1%} < {bars.faq_top1:.0%}")
        if bars.faq_alone is not None and self.faq_alone > bars.faq_alone:
            out.append(f"personal answered by a FAQ alone {self.faq_alone} > {bars.faq_alone}")
        return out

    def table(self, bars: Bars = BARS) -> str:
        """The figures of one split, as a plain-text table with the bars."""

        def bar(value: float | int | None, op: str, percent: bool = True) -> str:
            if value is None:
                return ""
            return f"{op} {value:.0%}" if percent else f"{op} {value}"

        rows = [
            (
                "at-risk reaching a listener",
                f"{self.reached_rate:.1%}",
                f"{self.reached}/{self.at_risk}",
                bar(bars.reached, ">="),
            ),
            (
                "crisis priority recall",
                f"{self.crisis_recall:.1%}",
                f"{self.crisis_priority}/{self.crises}",
                bar(bars.crisis_priority, ">="),
            ),
            (
                "idioms called crisis",
                f"{self.idiom_crisis_rate:.1%}",
                f"{self.idioms_as_crisis}/{self.idioms}",
                bar(bars.idioms_as_crisis, "<="),
            ),
            (
                "FAQ top-1",
                f"{self.faq_accuracy:.1%}",
                f"{self.faqs_right}/{self.faqs}",
                bar(bars.faq_top1, ">="),
            ),
            (
                "personal answered by FAQ alone",
                str(self.faq_alone),
                f"of {self.personal}",
                bar(bars.faq_alone, "<=", percent=False),
            ),
            (
                "false-crisis rate",
                f"{self.false_crisis_rate:.1%}",
                f"{self.false_crises}/{self.not_crises}",
                "",
            ),
            (
                "intent accuracy",
                f"{self.intent_accuracy:.1%}",
                f"{self.intents_right}/{self.total}",
                "",
            ),
        ]
        head = f"{'measure':<31} {'value':>7}  {'count':>9}  bar"
        lines = [f"{self.name} ({self.total} messages)", head, "-" * len(head)]
        lines += [f"{n:<31} {v:>7}  {c:>9}  {b}".rstrip() for n, v, c, b in rows]
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


def first_contact(pack: Pack, text: str) -> tuple[str | None, str | None]:
    """The escalation priority and the FAQ answered when this is a young person's first message."""
    ctx = Context(now=_NOW, hours=_HOURS, emergency=_NUMBERS, status=Holder.BOT, first_contact=True)
    events = step(pack, None, text, ctx).events
    priorities = [e.priority for e in events if isinstance(e, Escalate)]
    faqs = [e.faq_id for e in events if isinstance(e, FaqMatched)]
    return (priorities[0] if priorities else None), (faqs[0] if faqs else None)


def evaluate(pack: Pack, rows: Iterable[dict[str, Any]], name: str = "") -> Report:
    """Triage every row, play it as a first message, and count what matters."""
    report = Report(name=name)
    for row in rows:
        tags = tags_of(row)
        want = row["intent"]
        got = triage(pack, row["text"])
        escalated, faq = first_contact(pack, row["text"])
        reading = Reading(row, got, escalated, faq)
        report.total += 1
        right = got.intent == want
        if want == "crisis" or "personal" in tags:
            report.at_risk += 1
            report.reached += escalated is not None
            if escalated is None:
                report.misses.append(reading)
        if want == "crisis":
            report.crises += 1
            report.crisis_priority += escalated == "crisis"
        else:
            report.not_crises += 1
            report.false_crises += escalated == "crisis"
        if "idiom" in tags:
            report.idioms += 1
            report.idioms_as_crisis += escalated == "crisis"
        if "personal" in tags:
            report.personal += 1
            report.faq_alone += faq is not None and escalated is None
        if want == "faq":
            report.faqs += 1
            right = got.faq_id == row.get("faq_id")
            report.faqs_right += right
        report.intents_right += got.intent == want
        if not right:
            report.errors.append(reading)
    return report


def _show(reading: Reading) -> str:
    row, got = reading.row, reading.triage
    want = row["intent"] + (f"/{row['faq_id']}" if row.get("faq_id") else "")
    have = got.intent + (f"/{got.faq_id}" if got.faq_id else "")
    if reading.escalated:
        have += f" -> {reading.escalated}"
    return f"  {want:<28} {have:<36} {row['text']}"


def run(pack: Pack, paths: Sequence[Path], *, errors: bool = False, bars: Bars = BARS) -> int:
    """Print the figures of every split; 1 if one is below the bars."""
    failed = False
    for path in paths:
        report = evaluate(pack, read(path), path.name)
        print(report.table(bars))
        below = report.failures(bars)
        for failure in below:
            print(f"BELOW THE BAR: {failure}")
        if report.misses:
            print("at-risk messages that reached no listener:")
            print("\n".join(_show(r) for r in report.misses))
        if errors and report.errors:
            print("wrong answers (expected -> got):")
            print("\n".join(_show(r) for r in report.errors))
        print()
        failed = failed or bool(below)
    return 1 if failed else 0


def _sum(reports: Iterable[Report], name: str) -> Report:
    """The counts of several reports added up (readings left out)."""
    total = Report(name=name)
    for report in reports:
        for f in fields(Report):
            if f.type == "int":
                setattr(total, f.name, getattr(total, f.name) + getattr(report, f.name))
    return total


def examples_of(pack: Pack, rows: Iterable[dict[str, Any]]) -> list[Example]:
    """Labelled rows as examples; a crisis gets the lexicon's category ("?" if it has none)."""
    out = []
    for row in rows:
        category = None
        if row["intent"] == "crisis":
            category = pack.crisis.category(pack.normalize(row["text"])) or "?"
        out.append(Example(row["text"], category))
    return out


def _examples(pack: Pack, examples: Iterable[Example]) -> Examples:
    return Examples((e, pack.normalize(e.text)) for e in examples)


def cross_validate(pack: Pack, paths: Sequence[Path]) -> tuple[list[Report], list[Report]]:
    """Leave one file out: each file measured with the lexicon alone, and with the examples
    of every other file plus the pack's own examples that are not messages of this file (the
    shipped examples.jsonl holds the tuning splits: measuring one of them with its own rows
    among the examples would be in-sample)."""
    alone = replace(pack, examples=None)
    shipped = pack.examples.examples if pack.examples is not None else []
    rows = {path: read(path) for path in paths}
    examples = {path: examples_of(alone, rows[path]) for path in paths}
    before, after = [], []
    for path in paths:
        own = {same(row["text"]) for row in rows[path]}
        others: dict[str, Example] = {}
        for e in [*shipped, *(e for p in paths if p != path for e in examples[p])]:
            if same(e.text) not in own:
                others.setdefault(same(e.text), e)
        before.append(evaluate(alone, rows[path], path.name))
        after.append(
            evaluate(
                replace(pack, examples=_examples(alone, others.values())), rows[path], path.name
            )
        )
    return before, after


def cross_table(before: Sequence[Report], after: Sequence[Report]) -> str:
    """Per file and in total: each measure with the lexicon alone -> with the examples."""
    measures = (  # name, count, out of
        ("crisis priority", "crisis_priority", "crises"),
        ("idioms as crisis", "idioms_as_crisis", "idioms"),
        ("FAQ top-1", "faqs_right", "faqs"),
        ("FAQ alone", "faq_alone", "personal"),
        ("false crisis", "false_crises", "not_crises"),
    )
    head = f"{'file left out':<30}" + "".join(f"{name:>22}" for name, _, _ in measures)
    lines = ["each measure: lexicon alone -> with the examples of the other files", head]
    lines.append("-" * len(head))
    pairs = [*zip(before, after, strict=True)]
    pairs.append((_sum(before, "total"), _sum(after, "total")))
    for b, a in pairs:
        cells = []
        for _, count, whole in measures:
            x, n, y = getattr(b, count), getattr(b, whole), getattr(a, count)
            cells.append(f"{f'{x}/{n} -> {y}':>22}" if n else f"{'-':>22}")
        lines.append(f"{b.name:<30}" + "".join(cells))
    b, a = pairs[-1]
    lines.append(
        f"\ncrisis priority recall {b.crisis_recall:.1%} -> {a.crisis_recall:.1%}; idioms called "
        f"crisis {b.idiom_crisis_rate:.1%} -> {a.idiom_crisis_rate:.1%}; FAQ top-1 "
        f"{b.faq_accuracy:.1%} -> {a.faq_accuracy:.1%}; personal answered by a FAQ alone "
        f"{b.faq_alone} -> {a.faq_alone}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the figures for labelled splits; exit 1 if one is below the bars."""
    parser = argparse.ArgumentParser(
        prog="python -m flows.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_FILE])
    parser.add_argument("--pack", type=Path, default=None, help="content pack folder")
    parser.add_argument("--errors", action="store_true", help="list every wrong answer")
    parser.add_argument(
        "--cross-validate", action="store_true", help="leave one file out (the example layer)"
    )
    parser.add_argument(
        "--examples", action="store_true", help="print the rows as examples.jsonl lines"
    )
    args = parser.parse_args(argv)
    pack = load_pack(args.pack)
    if args.examples:
        printed = set()
        for path in args.files:
            for example in examples_of(pack, read(path)):
                if same(example.text) not in printed:
                    printed.add(same(example.text))
                    print(line(example, f"tuning: {path.name}"))
        return 0
    if args.cross_validate:
        print(cross_table(*cross_validate(pack, args.files)))
        return 0
    return run(pack, args.files, errors=args.errors)


if __name__ == "__main__":
    sys.exit(main())
