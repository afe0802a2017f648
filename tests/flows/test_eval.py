"""Triage measured on labelled messages: crisis recall must be 100%, FAQ top-1 at least 90%.

Run with -s to see the figures. The independent set is tests/data/triage_eval.jsonl; the
dev_triage*.jsonl files next to this test are the sets used while writing the lexicons.

tests/data/triage_holdout.jsonl is a blind set, written by someone who saw neither the lexicons
nor the other sets, and never used for tuning: it measures how triage does on wordings it was not
built for. Its floor guards against regressions; do not tune the lexicons on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import Pack
from flows.evaluate import Report, evaluate, main, read

EVAL = Path(__file__).parents[1] / "data" / "triage_eval.jsonl"
HOLDOUT = Path(__file__).parents[1] / "data" / "triage_holdout.jsonl"
# Measured once, blind, on 2026-11-22: crisis recall 41/45, false-crisis 1/115, FAQ top-1 43/50.
HOLDOUT_FLOOR = {"crisis_recall": 0.91, "false_crisis_rate": 0.05, "faq_accuracy": 0.85}
DEV = sorted(Path(__file__).parent.glob("dev_triage*.jsonl"))


def check(report: Report, name: str) -> None:
    print(f"\n{name} ({report.total} messages)\n{report.table()}")
    missed = [row["text"] for row, got in report.errors if row["intent"] == "crisis"]
    assert report.crisis_recall == 1.0, f"missed crises: {missed}"
    assert report.faq_accuracy >= 0.9


def test_the_evaluation_data_is_there() -> None:
    """A gate whose data is missing fails: it never passes or skips unseen."""
    for path in (EVAL, HOLDOUT):
        assert path.is_file() and read(path), f"{path} is missing or empty"
    assert DEV, "no development sets (dev_triage*.jsonl) next to this test"


def test_independent_evaluation_set(pack: Pack) -> None:
    check(evaluate(pack, read(EVAL)), EVAL.name)


def test_blind_holdout_set_does_not_regress(pack: Pack) -> None:
    report = evaluate(pack, read(HOLDOUT))
    print(f"\n{HOLDOUT.name} ({report.total} messages, blind)\n{report.table()}")
    assert report.crisis_recall >= HOLDOUT_FLOOR["crisis_recall"]
    assert report.false_crisis_rate <= HOLDOUT_FLOOR["false_crisis_rate"]
    assert report.faq_accuracy >= HOLDOUT_FLOOR["faq_accuracy"]


@pytest.mark.parametrize("path", DEV, ids=[p.stem for p in DEV])
def test_development_sets(pack: Pack, path: Path) -> None:
    check(evaluate(pack, read(path)), path.name)


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DEV[0]), "--errors"]) == 0
    out = capsys.readouterr().out
    for measure in ("crisis recall", "false-crisis rate", "FAQ top-1 accuracy", "intent accuracy"):
        assert measure in out
