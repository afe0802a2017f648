"""Every benchmark still starts, runs its code paths and prints its table (`--smoke`).

Only that it runs is checked, never its figures: a loaded machine must not fail the tests. A new
`benchmarks/bench_*.py` is picked up by the glob. The soak with faults (`benchmarks/soak.py`) runs
too; its short form does fail when a message is lost, duplicated or left stuck.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import summary

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = [*sorted((ROOT / "benchmarks").glob("bench_*.py")), ROOT / "benchmarks" / "soak.py"]
RULE = re.compile(r"^[\s|]*-{10,}[-\s|]*$", re.MULTILINE)  # the line under a table's header


def test_there_are_benchmarks() -> None:
    assert len(BENCHMARKS) >= 5, BENCHMARKS


# The soak's short form and the WhatsApp benchmark start servers and run for a minute alone; on a
# machine shared with the other test workers that can take several times as long. The script's
# own limit comes first, so that a run that is really stuck fails with what it printed so far.
SCRIPT_SECONDS = 480


@pytest.mark.timeout(SCRIPT_SECONDS + 60)
@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_runs_and_prints_its_table(script: Path, tmp_path: Path) -> None:
    headlines = tmp_path / "headlines.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOS_")}
    env[summary.ENV] = str(headlines)
    try:
        done = subprocess.run(
            [sys.executable, str(script), "--smoke"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=SCRIPT_SECONDS,
        )
    except subprocess.TimeoutExpired as stuck:
        pytest.fail(
            f"{script.name} still running after {SCRIPT_SECONDS} s:\n"
            f"{_text(stuck.stdout)}\n{_text(stuck.stderr)[-3000:]}"
        )
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert RULE.search(done.stdout), f"{script.name} printed no table:\n{done.stdout}"
    recorded = summary.read(headlines)
    assert recorded and {h.benchmark for h in recorded} == {script.name}, recorded


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def test_summary_marks_each_figure_against_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "headlines.jsonl"
    monkeypatch.setenv(summary.ENV, str(path))
    summary.record("benchmarks/bench_a.py", "speed", "12 ms", "< 100 ms", True)
    summary.record("benchmarks/bench_a.py", "throughput", "0.4x", ">= 0.6x", False)
    summary.record("benchmarks/bench_b.py", "cost", "3 ms", "-", None)
    text = summary.table(summary.read(path), ran=["bench_a.py", "bench_b.py", "bench_c.py"])
    lines = text.splitlines()
    assert lines[0].split() == ["benchmark", "measure", "figure", "target", "verdict"]
    assert RULE.match(lines[1])
    assert lines[2].split()[-1] == "met" and lines[3].endswith("NOT met")
    assert lines[4].endswith("(no target)")
    assert lines[5].startswith("bench_c.py") and lines[5].endswith("did not finish")


def test_summary_exits_non_zero_when_a_benchmark_recorded_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "headlines.jsonl"
    path.write_text(
        '{"benchmark": "bench_a.py", "measure": "m", "figure": "1", "target": "< 2", "met": true}\n'
    )
    assert summary.main([str(path), "--ran", "benchmarks/bench_a.py"]) == 0
    assert summary.main([str(path), "--ran", "bench_a.py", "bench_b.py"]) == 1
    assert "bench_b.py" in capsys.readouterr().out


def test_nothing_is_recorded_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(summary.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    summary.record("bench_a.py", "speed", "1 ms", "< 2 ms", True)
    assert list(tmp_path.iterdir()) == []


def test_each_webhook_phase_has_message_sids_of_its_own() -> None:
    """A MessageSid sent in an earlier phase comes back as a duplicate: the in-process cost would
    then measure the dedupe's second try, not a message's work."""
    from benchmarks.bench_whatsapp import FIRST_SID, SID_SPAN, signed_requests

    starts = sorted(FIRST_SID.values())
    assert all(b - a >= SID_SPAN for a, b in zip(starts, starts[1:], strict=False))
    sids = [
        {body.split(b"MessageSid=")[1].split(b"&")[0] for body, _ in signed_requests(1, 50, s, 5)}
        for s in starts
    ]
    assert len(set().union(*sids)) == 50 * len(starts)
