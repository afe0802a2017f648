"""Everything a running service shares: settings, database, content pack, senders, wake-up."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot import conversations, db, notify
from bot.channel import Sender
from bot.config import Settings
from flows import Pack, load_pack
from flows.engine import EmergencyNumber
from flows.hours import OpeningHours


@dataclass
class Runtime:
    settings: Settings
    db: Engine
    pack: Pack
    secret: str
    hours: OpeningHours
    emergency: tuple[EmergencyNumber, ...]
    senders: dict[str, Sender] = field(default_factory=dict)
    outbox_ready: threading.Event = field(default_factory=threading.Event)
    changes: notify.Bell = field(default_factory=notify.Bell)  # the change feed grew
    arrived: notify.Bell = field(default_factory=notify.Bell)  # a webhook kept a message
    # replies this process's worker took when it read their message: it sends them, unclaimed
    held: deque[str] = field(default_factory=deque)
    listener: notify.Listener | None = None
    _listen_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(
        cls, settings: Settings, *, engine: Engine | None = None, pack: Any = None
    ) -> Runtime:
        """Wire the service from settings (the database must already be migrated), and fit
        the open conversations' flow states to the content pack."""
        engine = engine or db.make_engine(settings.database.url)
        flows_dir = Path(settings.service.flows_dir) if settings.service.flows_dir else None
        secret = settings.server.secret_key or db.app_setting(engine, "secret_key")
        pack = pack or load_pack(flows_dir)
        conversations.repair_states(engine, pack)  # content may have changed since the last run
        return cls(
            settings=settings,
            db=engine,
            pack=pack,
            secret=secret,
            hours=settings.service.opening_hours(),
            emergency=settings.safety.emergency(),
        )

    def wake_outbox(self) -> None:
        """Tell a worker in this process that messages are waiting, to read or to send (others
        hear NOTIFY, or poll)."""
        self.outbox_ready.set()
        self.arrived.ring()

    def listen(self) -> bool:
        """PostgreSQL: start this process's LISTEN thread (once), which wakes the worker and rings
        `changes`; it stops when the engine is disposed. SQLite: nothing, returns False."""
        if db.is_sqlite(self.db):
            return False
        with self._listen_lock:
            if self.listener is None:
                listener = notify.Listener(
                    self.settings.database.url,
                    {notify.OUTBOX: self.wake_outbox, notify.ACTIVITY: self.changes.ring},
                )
                event.listen(self.db, "engine_disposed", lambda *_: listener.stop())
                listener.start()
                self.listener = listener
        return True

    def wait_seconds(self, polling: float) -> float:
        """How long a waiter sleeps when nothing wakes it: `polling` on SQLite, the safety net
        on PostgreSQL (where it is woken by NOTIFY)."""
        return self.settings.database.push_safety_seconds if self.listen() else polling


def runtime() -> Runtime:
    """The runtime of the web app handling the current request."""
    rt: Runtime = current_app.extensions["sos"]
    return rt
