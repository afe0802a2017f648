"""A command started while PostgreSQL is away (a restart, the machine booting) waits for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError

from bot import db
from bot.cli import cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Forwarder:
    """A TCP port that reaches the real database once opened: the database "comes back"."""

    def __init__(self, port: int, host: str, target: int) -> None:
        self.port, self.host, self.target = port, host, target
        self.server: socket.socket | None = None

    def open(self) -> None:
        if self.server is not None:
            return
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        server = self.server
        assert server is not None
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.host, self.target))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        if self.server is not None:
            try:
                self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of its thread
            except OSError:
                pass
            self.server.close()
            self.server = None


@pytest.fixture
def away(database_url: str) -> Iterator[tuple[str, Forwarder]]:
    """The test database's URL on a port that answers only once the forwarder opens."""
    url = make_url(db.normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        pytest.skip("PostgreSQL only: SQLite is a file, there is nothing to wait for")
    port = _free_port()
    forwarder = Forwarder(port, url.host or "127.0.0.1", url.port or 5432)
    yield url.set(port=port).render_as_string(hide_password=False), forwarder
    forwarder.close()


def test_a_start_waits_until_the_database_answers(away: tuple[str, Forwarder]) -> None:
    url, forwarder = away
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:  # the database comes back after three refused tries
            forwarder.open()

    db.wait_for(url, 60, sleep=sleep)
    assert len(pauses) == 3  # it went on at the first try that answered
    assert pauses == sorted(pauses)  # and tried less often as it waited


def test_sqlite_never_waits(database_url: str) -> None:
    if make_url(db.normalise_url(database_url)).get_backend_name() != "sqlite":
        pytest.skip("SQLite only")

    def sleep(seconds: float) -> None:
        raise AssertionError("waited for a file")

    db.wait_for(database_url, 60, sleep=sleep)


def test_a_database_that_never_answers_stops_the_command_with_a_clear_error() -> None:
    url = f"postgresql://sos:SECRET-PASSWORD@127.0.0.1:{_free_port()}/sos"
    result = CliRunner().invoke(
        cli,
        ["db", "upgrade"],
        env={"SOS_DATABASE_URL": url, "SOS_DATABASE_WAIT_SECONDS": "0.3"},
    )
    assert result.exit_code == 1
    assert "the database did not answer in 0.3 s" in result.output
    assert "SECRET-PASSWORD" not in result.output


def test_a_database_that_goes_away_during_the_start_is_waited_for_again(
    away: tuple[str, Forwarder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL restarts just as a restarted worker migrates: the start begins again."""
    url, forwarder = away
    forwarder.open()
    migrate = db.upgrade
    tries: list[str] = []

    def upgrade(database_url: str) -> None:
        tries.append(database_url)
        if len(tries) == 1:  # the database stops in the middle of the first try
            forwarder.close()
            raise db.MigrationFailed("the database migration stopped (exit code 1)")
        migrate(database_url)

    def sleep(seconds: float) -> None:
        forwarder.open()  # and is back at the next look

    monkeypatch.setattr(db, "upgrade", upgrade)
    monkeypatch.setattr(time, "sleep", sleep)
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"SOS_DATABASE_URL": url, "SOS_DATABASE_WAIT_SECONDS": "30"}
    )
    assert result.exit_code == 0, result.output
    assert len(tries) == 2 and "database is up to date" in result.output


def test_a_migration_that_fails_with_the_database_up_is_not_tried_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[str] = []

    def upgrade(database_url: str) -> None:
        tries.append(database_url)
        raise db.MigrationFailed("the database migration stopped (exit code 1)")

    monkeypatch.setattr(db, "upgrade", upgrade)
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"SOS_DATABASE_URL": database_url})
    assert result.exit_code == 1 and len(tries) == 1
    assert "the database migration stopped" in result.output


def test_a_database_that_goes_away_after_the_migration_is_waited_for_too(
    away: tuple[str, Forwarder], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The service is wired (Runtime.create) just as PostgreSQL stops: the start begins again."""
    from bot.runtime import Runtime

    url, forwarder = away
    forwarder.open()
    create = Runtime.create
    tries: list[int] = []

    def wire(settings: Any, **kwargs: Any) -> Runtime:
        tries.append(1)
        if len(tries) == 1:
            forwarder.close()
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return create(settings, **kwargs)

    monkeypatch.setattr(Runtime, "create", staticmethod(wire))
    monkeypatch.setattr(time, "sleep", lambda seconds: forwarder.open())
    result = CliRunner().invoke(
        cli, ["purge"], env={"SOS_DATABASE_URL": url, "SOS_DATABASE_WAIT_SECONDS": "30"}
    )
    assert result.exit_code == 0, result.output
    assert len(tries) == 2 and "anonymised 0 conversations" in result.output
