"""The sos-bot command, as a newcomer and a coordinator use it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli

ENV = {"SOS_SERVICE_HOURS": "mon-sun 00:00-24:00"}


def run(args: list[str], database_url: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, args, input=stdin, env={**ENV, "SOS_DATABASE_URL": database_url}
    )
    return result.exit_code, result.output


def test_triage_prints_one_json_object(database_url: str) -> None:
    code, out = run(["triage", "voglio morire"], database_url)
    assert code == 0, out
    data = json.loads(out)
    assert set(data) == {"intent", "faq_id", "score", "priority"}
    assert data["intent"] == "crisis" and data["priority"] == "crisis"


def test_triage_reads_lines_from_stdin(database_url: str) -> None:
    code, out = run(["triage"], database_url, stdin="a ke ora siete aperti?\nSTOP\nciao\n")
    assert code == 0, out
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["intent"] for a in answers] == ["faq", "stop", "greeting"]
    assert answers[0]["faq_id"] == "orari" and answers[0]["score"] > 0


def test_flows_check_accepts_the_default_pack(database_url: str) -> None:
    code, out = run(["flows", "check"], database_url)
    assert code == 0 and out.startswith("ok"), out


def test_flows_check_names_file_and_line_of_an_error(database_url: str, tmp_path: Path) -> None:
    default = Path(__file__).parents[2] / "flows" / "default"
    for f in default.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    faq = next(tmp_path.glob("faq*.toml"))
    faq.write_text(faq.read_text() + "\n[[[broken\n")
    code, out = run(["flows", "check", str(tmp_path)], database_url)
    assert code != 0 and faq.name in out and "line" in out, out


def test_flows_check_names_the_line_of_a_broken_example(database_url: str, tmp_path: Path) -> None:
    default = Path(__file__).parents[2] / "flows" / "default"
    for f in default.iterdir():
        if f.is_file():
            (tmp_path / f.name).write_bytes(f.read_bytes())
    examples = tmp_path / "examples.jsonl"
    examples.write_text(
        '{"text": "voglio sparire", "label": "crisis", "category": "suicide"}\n'
        '{"text": "muoio dal ridere", "label": "idiom"}\n'
    )
    code, out = run(["flows", "check", str(tmp_path)], database_url)
    assert code != 0 and "examples.jsonl:2: 'label' must be one of" in out, out


def test_triage_cross_validates_the_examples(database_url: str, tmp_path: Path) -> None:
    rows = {
        "a.jsonl": ["il ponte l'ho già scelto"],
        "b.jsonl": [f"il ponte l'ho già scelto {n}" for n in range(9)],
    }
    for name, texts in rows.items():
        (tmp_path / name).write_text(
            "".join(json.dumps({"text": t, "intent": "crisis"}) + "\n" for t in texts)
        )
    files = [str(tmp_path / name) for name in rows]
    code, out = run(["triage", "--cross-validate", *files], database_url)
    assert code == 0, out
    assert "a.jsonl" in out and "0/1 -> 1" in out and "total" in out
    code, out = run(["triage", "--cross-validate", files[0]], database_url)
    assert code != 0 and "two files" in out


def test_bad_configuration_stops_with_the_key(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[server]\nport = 'x'\n")
    code, out = run(["--config", str(bad), "db", "upgrade"], database_url)
    assert code != 0 and "server.port" in out


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.sqlite"
    assert run(["db", "upgrade"], url)[0] == 0
    code, out = run(["db", "upgrade"], url)
    assert code == 0 and "up to date" in out


def test_chat_talks_with_the_bot_in_the_terminal(database_url: str) -> None:
    code, out = run(["chat", "--as", "prova"], database_url, stdin="ciao\nvoglio morire\n")
    assert code == 0, out
    assert out.count("bot> ") >= 2
    assert "112" in out and "priorità crisis" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serves_healthz(command: list[str], tmp_path: Path) -> int:
    """Start `sos-bot COMMAND` on a free port, wait for /healthz to answer ok, stop it."""
    port = _free_port()
    env = {
        **os.environ,
        **ENV,
        "SOS_DATABASE_URL": f"sqlite:///{tmp_path}/run.sqlite",
        "SOS_SERVER_PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200 and json.load(r)["status"] == "ok"
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"sos-bot {command[0]} did not come up:\n"
                        f"{proc.stdout.read() if proc.stdout else ''}"
                    )
                time.sleep(0.2)
        assert (tmp_path / "run.sqlite").exists()
    finally:
        proc.terminate()
        proc.wait(20)
    return proc.returncode


def test_run_starts_everything_and_answers_healthz(tmp_path: Path) -> None:
    assert _serves_healthz(["run"], tmp_path) == 0


def test_web_serves_the_app_under_gunicorn(tmp_path: Path) -> None:
    assert _serves_healthz(["web", "--workers", "1", "--threads", "4"], tmp_path) == 0


# What `sos-bot run` does before it serves, in a fresh interpreter: which libraries it keeps.
STARTED = """
import sys
from bot import cli, config
from bot.app import create_app
from bot.runtime import Runtime

settings = config.load()
cli._upgrade(settings, apart=True)
create_app(rt=Runtime.create(settings))
print(" ".join(sorted({m.split(".")[0] for m in sys.modules} & {"alembic", "mako", "pygal"})))
"""


def test_a_started_process_keeps_neither_migrations_nor_the_chart_library(tmp_path: Path) -> None:
    """alembic and mako (migrations, in a child process) and pygal (drawn when statistics are
    first shown) are not loaded by run, web and worker at start: some 18 MB each."""
    env = {**os.environ, **ENV, "SOS_DATABASE_URL": f"sqlite:///{tmp_path}/run.sqlite"}
    started = subprocess.run(
        [sys.executable, "-c", STARTED], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == ""
    code, out = run(["db", "upgrade"], f"sqlite:///{tmp_path}/run.sqlite")
    assert code == 0 and "up to date" in out  # the child migrated it


def test_worker_stops_with_the_migration_error(tmp_path: Path) -> None:
    code, out = run(["worker"], "sqlite:////proc/no-such-folder/sos.sqlite")
    assert code != 0 and "database migration stopped" in out


def test_triage_evaluate_prints_each_split_and_fails_below_the_bars(
    database_url: str, tmp_path: Path
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(
        json.dumps({"text": "voglio morire", "intent": "crisis", "faq_id": None, "tags": []})
        + "\n",
        encoding="utf-8",
    )
    code, out = run(["triage", "--evaluate", str(good), str(good)], database_url)
    assert code == 0, out
    assert out.count("good.jsonl (1 messages)") == 2 and "crisis priority recall" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"text": "grazie", "intent": "crisis", "faq_id": None}) + "\n", encoding="utf-8"
    )
    code, out = run(["triage", "--evaluate", str(good), str(bad)], database_url)
    assert code == 1 and "BELOW THE BAR" in out
    code, out = run(["triage", "--evaluate", str(tmp_path / "missing.jsonl")], database_url)
    assert code != 0 and "no such file" in out


def test_web_hands_the_configuration_file_to_gunicorn(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sos-bot --config F web`: the gunicorn workers build the app from the same file."""
    import gunicorn.app.wsgiapp

    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    started: list[list[str]] = []
    monkeypatch.setattr(gunicorn.app.wsgiapp, "run", lambda: started.append(list(sys.argv)))
    monkeypatch.setenv("SOS_CONFIG", "")  # restored afterwards: the command sets it
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "web"], env={"SOS_SERVER_SECRET_KEY": "k" * 40}
    )
    assert result.exit_code == 0, result.output
    assert started and started[0][-1] == "bot.app:create_app()"
    assert os.environ["SOS_CONFIG"] == str(config_file)
