"""Everything a running service shares: settings, database, content pack, senders, wake-up."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy.engine import Engine

from bot import conversations, db
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
        """Tell a worker in this process that messages are waiting (others poll)."""
        self.outbox_ready.set()


def runtime() -> Runtime:
    """The runtime of the web app handling the current request."""
    rt: Runtime = current_app.extensions["sos"]
    return rt
