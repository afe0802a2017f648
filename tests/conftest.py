"""Shared fixtures: a fresh database per test.

Which databases: SOS_TEST_DATABASES, a list of `sqlite` and PostgreSQL URLs (default `sqlite`);
every test that uses the database runs once on each, the others once. SOS_TEST_DATABASE_URL=URL
is short for PostgreSQL alone. A PostgreSQL server that does not answer skips its runs, saying so.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine

from bot import config, db
from bot.runtime import Runtime

# PostgreSQL sessions of the tests run in a TimeZone that is not UTC, so that a time read back
# without its zone fails a test.
PG_TIMEZONE = "Europe/Rome"
ALWAYS_OPEN = "mon-sun 00:00-24:00"


def databases() -> list[str]:
    """`sqlite` and/or PostgreSQL URLs, from the environment."""
    if os.environ.get("SOS_TEST_DATABASE_URL"):
        return [os.environ["SOS_TEST_DATABASE_URL"]]
    return os.environ.get("SOS_TEST_DATABASES", "sqlite").replace(",", " ").split() or ["sqlite"]


def _backend(database: str) -> str:
    return "sqlite" if database == "sqlite" else database.split(":", 1)[0].split("+")[0]


def _postgres_answers(url: str) -> bool:
    try:
        import psycopg

        psycopg.connect(url.replace("+psycopg", "", 1), connect_timeout=3).close()
        return True
    except Exception:  # not installed, refused, unknown database...
        return False


@pytest.fixture(scope="session", params=databases(), ids=_backend)
def database(request: pytest.FixtureRequest) -> str:
    """`sqlite`, or the URL of a PostgreSQL server: each database test runs on each of them."""
    return str(request.param)


@pytest.fixture(scope="session")
def _template(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session: a SQLite file to copy, or a PostgreSQL schema of our own (each
    test process has its own, dropped at the end)."""
    if database != "sqlite":
        if not _postgres_answers(database):
            where = make_url(database).render_as_string(hide_password=True)
            pytest.skip(f"PostgreSQL at {where} does not answer: its runs are skipped")
        schema = f"sos_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        engine = db.make_engine(database)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        options = f"-csearch_path%3D{schema}%20-cTimeZone%3D{PG_TIMEZONE.replace('/', '%2F')}"
        url = f"{database}{'&' if '?' in database else '?'}options={options}"
        db.upgrade(url)
        yield url
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    db.upgrade(f"sqlite:///{path}")
    yield str(path)


@pytest.fixture
def database_url(database: str, _template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test."""
    if database != "sqlite":
        engine = db.make_engine(_template)
        with engine.begin() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            ]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield _template
        return
    path = tmp_path / "sos.sqlite"
    shutil.copy(_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """argon2 at its cheapest cost: the same code, a thousandth of the CPU per hash. The suite
    hashes and checks passwords thousands of times; the service keeps the library's defaults."""
    from argon2 import PasswordHasher, profiles

    from operators import accounts

    cheapest = PasswordHasher.from_parameters(profiles.CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", lambda: cheapest)
        accounts._dummy_hash.cache_clear()
        yield
    accounts._dummy_hash.cache_clear()


def make_settings(database_url: str, **overrides: Any) -> config.Settings:
    """Settings for tests: defaults, the test database, listeners always open."""
    env = {
        "SOS_DATABASE_URL": database_url,
        "SOS_SERVICE_HOURS": ALWAYS_OPEN,
        "SOS_SERVER_SECRET_KEY": "test-secret-key-" + "x" * 32,
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return config.load(None, env=env)


@pytest.fixture
def settings(database_url: str) -> config.Settings:
    return make_settings(database_url)


@pytest.fixture
def engine(settings: config.Settings) -> Iterator[Engine]:
    eng = db.make_engine(settings.database.url)
    yield eng
    eng.dispose()


@pytest.fixture
def rt(settings: config.Settings, engine: Engine) -> Runtime:
    """A wired runtime with no channel senders (tests add the ones they need)."""
    return Runtime.create(settings, engine=engine)


@pytest.fixture
def app(rt: Runtime) -> Any:
    from bot.app import create_app

    application = create_app(rt=rt)
    application.config.update(TESTING=True)
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()
