"""Triage measured on labelled messages: crisis recall must be 100%, FAQ top-1 at least 90%.

Run with -s to see the figures. The independent set is tests/data/triage_eval.jsonl; the
dev_triage*.jsonl files next to this test are the sets used while writing the lexicons.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import Pack
from flows.evaluate import Report, evaluate, main, read

EVAL = Path(__file__).parents[1] / "data" / "triage_eval.jsonl"
DEV = sorted(Path(__file__).parent.glob("dev_triage*.jsonl"))


def check(report: Report, name: str) -> None:
    print(f"\n{name} ({report.total} messages)\n{report.table()}")
    missed = [row["text"] for row, got in report.errors if row["intent"] == "crisis"]
    assert report.crisis_recall == 1.0, f"missed crises: {missed}"
    assert report.faq_accuracy >= 0.9


def test_independent_evaluation_set(pack: Pack) -> None:
    if not EVAL.exists():
        pytest.skip(f"{EVAL} is not there yet")
    check(evaluate(pack, read(EVAL)), EVAL.name)


@pytest.mark.parametrize("path", DEV, ids=[p.stem for p in DEV])
def test_development_sets(pack: Pack, path: Path) -> None:
    check(evaluate(pack, read(path)), path.name)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DEV[0]), "--errors"]) == 0
    out = capsys.readouterr().out
    for measure in ("crisis recall", "false-crisis rate", "FAQ top-1 accuracy", "intent accuracy"):
        assert measure in out
