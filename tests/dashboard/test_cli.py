"""`sos-bot operator add|disable|list`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot import db
from bot.cli import cli, operator_group
from bot.db import read_session, write_session
from bot.models import Conversation, utcnow
from bot.runtime import Runtime
from operators import accounts
from operators.cli import register
from tests.dashboard.conftest import PASSWORD, add_operator, waiting

register(operator_group)
ENV = {"SOS_SERVICE_HOURS": "mon-sun 00:00-24:00"}


def run(args: list[str], database_url: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, args, input=stdin, env={**ENV, "SOS_DATABASE_URL": database_url}
    )
    return result.exit_code, result.output


def _find(database_url: str, username: str) -> accounts.Operator | None:
    engine = db.make_engine(database_url)
    try:
        with read_session(engine) as session:
            return accounts.find(session, username)
    finally:
        engine.dispose()


def test_add_reads_the_password_from_stdin(database_url: str) -> None:
    code, out = run(
        [
            "operator",
            "add",
            "Anna",
            "--role",
            "listener",
            "--name",
            "Anna R.",
            "--capacity",
            "2",
            "--password-stdin",
        ],
        database_url,
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    anna = _find(database_url, "anna")
    assert anna is not None and anna.role == "listener" and anna.capacity == 2
    assert accounts.verify(anna, PASSWORD) and PASSWORD not in out


def test_add_asks_for_the_password_twice(database_url: str) -> None:
    code, out = run(
        ["operator", "add", "carla", "--role", "coordinator"],
        database_url,
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, out
    carla = _find(database_url, "carla")
    assert carla is not None and carla.role == "coordinator"


def test_add_refuses_bad_input_clearly(database_url: str) -> None:
    run(
        ["operator", "add", "anna", "--role", "listener", "--password-stdin"],
        database_url,
        stdin=PASSWORD + "\n",
    )
    code, out = run(
        ["operator", "add", "anna", "--role", "listener", "--password-stdin"],
        database_url,
        stdin=PASSWORD + "\n",
    )
    assert code != 0 and "Esiste già" in out
    code, out = run(
        ["operator", "add", "bruno", "--role", "listener", "--password-stdin"],
        database_url,
        stdin="corta\n",
    )
    assert code != 0 and "almeno 10" in out
    code, out = run(
        ["operator", "add", "bruno", "--role", "admin", "--password-stdin"],
        database_url,
        stdin=PASSWORD + "\n",
    )
    assert code != 0 and "admin" in out
    code, out = run(
        ["operator", "add", "bruno", "--role", "listener", "--password-stdin"],
        database_url,
        stdin="",
    )
    assert code != 0 and "no password" in out
    assert _find(database_url, "bruno") is None


def test_disable_releases_conversations(database_url: str, rt: Runtime) -> None:
    anna = add_operator(rt, "anna")
    add_operator(rt, "carla", "coordinator")
    cid = waiting(rt)
    with write_session(rt.db) as session:
        found = session.get(Conversation, cid)
        assert found is not None
        found.status, found.listener_id, found.claimed_at = "listener", anna.id, utcnow()
        session.add(found)
    code, out = run(["operator", "disable", "ANNA"], database_url)
    assert code == 0 and "1 conversations back in the queue" in out, out
    disabled = _find(database_url, "anna")
    assert disabled is not None and not disabled.active
    with read_session(rt.db) as session:
        back = session.get(Conversation, cid)
        assert back is not None and back.status == "waiting"
    code, out = run(["operator", "disable", "nessuno"], database_url)
    assert code != 0 and "nessuno" in out
    code, out = run(["operator", "list"], database_url)
    assert "anna\tlistener\tdisabled" in out and "carla\tcoordinator\tactive" in out


def test_the_installed_command_has_the_operator_commands(database_url: str, tmp_path: Path) -> None:
    sos_bot = Path(sys.executable).parent / "sos-bot"
    env = {**os.environ, **ENV, "SOS_DATABASE_URL": database_url}
    result = subprocess.run(
        [str(sos_bot), "operator", "add", "dario", "--role", "listener", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert _find(database_url, "dario") is not None
