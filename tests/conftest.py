"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL with SOS_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot import config, db
from bot.runtime import Runtime

PG_URL = os.environ.get("SOS_TEST_DATABASE_URL", "")
# Each test process works in a PostgreSQL schema of its own, dropped at the end, in a session
# whose TimeZone is not UTC, so that a time read back without its zone fails a test.
PG_TIMEZONE = "Europe/Rome"
ALWAYS_OPEN = "mon-sun 00:00-24:00"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session: a SQLite file to copy, or a PostgreSQL schema of our own."""
    if PG_URL:
        schema = f"sos_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        engine = db.make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        options = f"-csearch_path%3D{schema}%20-cTimeZone%3D{PG_TIMEZONE.replace('/', '%2F')}"
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={options}"
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
def database_url(_template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test."""
    if PG_URL:
        engine = db.make_engine(_template)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"))]
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield _template
        return
    path = tmp_path / "sos.sqlite"
    shutil.copy(_template, path)
    yield f"sqlite:///{path}"


def make_settings(database_url: str, **overrides: Any) -> config.Settings:
    """Settings for tests: defaults, the test database, listeners always open."""
    env = {"SOS_DATABASE_URL": database_url, "SOS_SERVICE_HOURS": ALWAYS_OPEN,
           "SOS_SERVER_SECRET_KEY": "test-secret-key-" + "x" * 32}
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
