"""The headline figures of `make bench`, each beside the target we promise.

Every benchmark records its headline rows with `record()`: they are appended, one JSON object per
line, to the file named by the environment variable SOS_BENCH_SUMMARY (nothing is written when it
is not set). `make bench` empties that file, runs every benchmark, then prints the table:

    python benchmarks/summary.py FILE [--ran bench_a.py bench_b.py ...]

A benchmark named with --ran that recorded nothing shows as "no figure" (it stopped early).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "SOS_BENCH_SUMMARY"


@dataclass(frozen=True)
class Headline:
    """One promised figure: what was measured, the figure, the target, and whether it is met."""

    benchmark: str
    measure: str
    figure: str
    target: str
    met: bool | None  # None: a figure we report but promise nothing about


def record(benchmark: str, measure: str, figure: str, target: str, met: bool | None) -> None:
    """Append a headline to the file named by $SOS_BENCH_SUMMARY, when it is set."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps(asdict(Headline(Path(benchmark).name, measure, figure, target, met)))
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def read(path: Path) -> list[Headline]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Headline(**json.loads(line)) for line in lines if line.strip()]


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "(no target)"}[met]


def render(rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: the first row is the header, a rule of dashes below it."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def table(headlines: Sequence[Headline], ran: Sequence[str] = ()) -> str:
    rows = [("benchmark", "measure", "figure", "target", "verdict")]
    rows += [(h.benchmark, h.measure, h.figure, h.target, verdict(h.met)) for h in headlines]
    recorded = {h.benchmark for h in headlines}
    rows += [
        (Path(name).name, "-", "no figure", "-", "did not finish")
        for name in ran
        if Path(name).name not in recorded
    ]
    return render(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the headline figures of `make bench`.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--ran", nargs="*", default=[], help="the benchmarks that were run")
    args = parser.parse_args(argv)
    headlines = read(args.file)
    print("\nSummary: each benchmark's headline figure beside its target")
    print(table(headlines, args.ran))
    missing = {Path(n).name for n in args.ran} - {h.benchmark for h in headlines}
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
