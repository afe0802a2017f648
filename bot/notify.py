"""Push on PostgreSQL: LISTEN/NOTIFY wakes the workers and the live streams of every process.

Triggers (migration 0008) notify when a transaction commits:
- `sos_outbox`: an outbound message was queued (any process: a webhook, a listener's reply);
- `sos_activity`: the change feed (bot.activity) grew.
They cost the writer no round trip. Each process that waits for them runs one Listener: a thread
with a connection of its own that rings the process's bells. When the connection drops (a
PostgreSQL restart) it reconnects and rings every bell once, since notifications sent meanwhile are
lost; and the waiters still look every `database.push_safety_seconds` on their own.

SQLite has no notifications: the worker is woken in-process and polls, live streams poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
OUTBOX = "sos_outbox"
ACTIVITY = "sos_activity"
RECONNECT_SECONDS = 1.0


class Bell:
    """Wakes every thread waiting for one kind of change: a counter under a condition."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.rung = 0

    def ring(self) -> None:
        with self._condition:
            self.rung += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the bell rings after `seen` (or `timeout` seconds pass); the new count."""
        with self._condition:
            self._condition.wait_for(lambda: self.rung != seen, max(0.0, timeout))
            return self.rung


def connect_args(url: str) -> dict[str, Any]:
    """A SQLAlchemy PostgreSQL URL as libpq keywords (query options such as search_path kept)."""
    parsed = make_url(url)
    found = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
        **parsed.query,
    }
    return {key: value for key, value in found.items() if value is not None}


class Listener:
    """One thread that LISTENs on its own connection and calls back per channel."""

    def __init__(self, url: str, callbacks: Mapping[str, Callable[[], None]]) -> None:
        self.params = connect_args(url)
        self.callbacks = dict(callbacks)
        self.stopping = threading.Event()
        self.listening = threading.Event()  # set while the LISTENs are in place
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="sos-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def run(self) -> None:
        import psycopg

        while not self.stopping.is_set():
            try:
                with psycopg.connect(autocommit=True, connect_timeout=5, **self.params) as conn:
                    for channel in self.callbacks:
                        conn.execute(f"LISTEN {channel}")
                    self.listening.set()
                    self._ring_all()  # whatever was notified while nobody listened
                    while not self.stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self.callbacks[note.channel]()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); reconnecting", type(exc).__name__)
                self._ring_all()
                self.stopping.wait(RECONNECT_SECONDS)
            finally:
                self.listening.clear()

    def _ring_all(self) -> None:
        for callback in self.callbacks.values():
            callback()
