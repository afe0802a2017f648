"""Database engine, sessions and migrations, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Table, bindparam, event, inspect, update
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import get_history
from sqlmodel import Session, SQLModel, create_engine

from bot.models import AppSetting

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """Create the engine (SQLite: WAL, busy timeout, foreign keys, secure delete, BEGIN
    IMMEDIATE writes).

    Query parameters are kept out of error messages: they hold phone numbers and texts.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not left behind
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and empty it (after an erasure, so the
    erased text does not linger in the log). PostgreSQL: nothing (see docs/privacy.md)."""
    if not is_sqlite(engine):
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.fetchall()
        cursor.close()
    finally:
        raw.close()


def table(model: type[SQLModel]) -> Table:
    """A table model's Core table: statements on it build no model instances (the hot path)."""
    core: Table = model.__table__  # type: ignore[attr-defined]
    return core


_UPDATES: dict[type[SQLModel], tuple[Any, dict[str, str]]] = {}


def _update_of(model: type[SQLModel]) -> tuple[Any, dict[str, str]]:
    """An UPDATE of one row by id, whose SET clause the parameters name (built once per table),
    and each attribute's column (a column may be named apart from its attribute)."""
    if model not in _UPDATES:
        core = table(model)
        columns = {prop.key: prop.columns[0].name for prop in inspect(model).column_attrs}
        _UPDATES[model] = update(core).where(core.c.id == bindparam("row_id")), columns
    return _UPDATES[model]


def write_changes(session: Session, row: SQLModel) -> None:
    """Write what changed in a row loaded by the session (its key: `id`), in one Core UPDATE
    (none if nothing did), and take it out of the session, so that the commit does not write it
    again (a row no attribute was assigned stays: the commit writes nothing of it).

    For the hot path: the unit of work's flush costs more than a message's other statements
    together. As for the flush, a JSON column changes by assigning it a new value.
    """
    state = inspect(row)
    if not state.modified:
        return  # nothing to write, now or at the commit
    statement, columns = _update_of(type(row))
    changed = {
        columns[key]: getattr(row, key)
        for key in columns.keys() - state.unmodified  # assigned since loaded...
        if get_history(row, key).has_changes()  # ...to another value
    }
    if changed:
        with session.no_autoflush:  # the flush would write the row first
            session.execute(statement, {"row_id": state.identity[0], **changed})
    session.expunge(row)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


_write_locks: WeakKeyDictionary[Engine, threading.RLock] = WeakKeyDictionary()
_write_locks_guard = threading.Lock()


def _write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """SQLite: the lock this process's writers take turns on, one per engine.

    Threads queue here in Python and are handed over at once, instead of sleeping in SQLite's
    busy handler (up to 100 ms between tries); other processes still meet the busy timeout.
    Re-entrant: a nested write in one thread still meets the busy timeout, as before.
    PostgreSQL locks rows instead: no lock here.
    """
    if not is_sqlite(engine):
        return nullcontext()
    with _write_locks_guard:
        return _write_locks.setdefault(engine, threading.RLock())


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on error.

    On SQLite it takes the write lock at BEGIN, so concurrent writers queue instead of failing
    to upgrade a read lock (the threads of this process queue first on a lock in Python, see
    _write_lock); on PostgreSQL rows are locked where the code asks for it.
    """
    with _write_lock(engine), Session(engine, expire_on_commit=False) as session:
        try:
            if is_sqlite(engine):  # BEGIN IMMEDIATE (see make_engine), once the lock is ours
                session.connection(execution_options={"sqlite_immediate": True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply every migration, or those up to `revision` (creates the database on first run)."""
    from alembic import command

    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


class DatabaseAway(RuntimeError):
    """The database did not answer in time (wait_for)."""


def wait_for(
    url: str,
    seconds: float,
    *,
    sleep: Callable[[float], None] | None = None,
) -> None:
    """Return once the database answers. A process started while PostgreSQL is away (a restart,
    a failover, the machine booting) waits for it instead of exiting; after `seconds` it gives up
    with DatabaseAway. SQLite is a file: nothing to wait for."""
    if make_url(normalise_url(url)).get_backend_name() == "sqlite":
        return
    sleep = sleep or time.sleep
    engine = make_engine(url)
    deadline = time.monotonic() + seconds
    pause, told = 0.25, False
    try:
        while True:
            try:
                with engine.connect():
                    return
            except OperationalError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DatabaseAway(f"the database did not answer in {seconds:g} s") from None
                if not told:  # the error itself names hosts and ports: not logged
                    log.warning("the database does not answer yet: waiting up to %g s", seconds)
                    told = True
                sleep(min(pause, left))
                pause = min(pause * 2, 2.0)
    finally:
        engine.dispose()


def answers(url: str) -> bool:
    """The database answers now (one try). SQLite is a file: it always does."""
    if make_url(normalise_url(url)).get_backend_name() == "sqlite":
        return True
    engine = make_engine(url)
    try:
        with engine.connect():
            return True
    except OperationalError:
        return False
    finally:
        engine.dispose()


class MigrationFailed(RuntimeError):
    """The child process that migrates the database stopped with an error (it printed it)."""


_CHILD = "import sys; from bot.db import upgrade_child; upgrade_child(int(sys.argv[1]))"


def upgrade_child(level: int) -> None:
    """The child process of upgrade_apart(): migrate the database whose URL is on stdin."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    upgrade(sys.stdin.read())


def upgrade_apart(url: str) -> None:
    """upgrade() in a child process of its own, for the commands that keep running.

    alembic, mako and the migration scripts (some 14 MB) are then never loaded in the long-running
    process, nor in the gunicorn workers forked from it. A fresh interpreter migrates and exits
    (not a fork: the caller may have threads); the URL goes on its stdin, not on its command line
    where `ps` would show a password. Costs under a second at start.
    """
    level = str(logging.getLogger().getEffectiveLevel())
    done = subprocess.run([sys.executable, "-c", _CHILD, level], input=url, text=True, check=False)
    if done.returncode != 0:
        raise MigrationFailed(f"the database migration stopped (exit code {done.returncode})")


def app_setting(engine: Engine, key: str, make: Any = None) -> str:
    """Read a generated setting, creating it once with make() (safe across processes)."""
    with write_session(engine) as session:
        row = session.get(AppSetting, key)
        if row is None:
            row = AppSetting(key=key, value=make() if make else secrets.token_urlsafe(48))
            session.add(row)
        return row.value
