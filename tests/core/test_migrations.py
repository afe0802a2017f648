"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot import db
from bot.models import Conversation


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_the_window_moves_to_each_conversation_from_its_last_inbound_message(
    tmp_path: Path,
) -> None:
    """0009: a conversation's window starts at its young person's last message, not a reply."""
    url = f"sqlite:///{tmp_path}/old.sqlite"
    db.upgrade(url, "0008")
    engine = db.make_engine(url)
    at = "2026-11-30 10:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contact (id, channel, address, pseudonym, created_at, "
                "last_inbound_at) VALUES ('k', 'whatsapp', 'whatsapp:+39333', 'p', :at, :at)"
            ),
            {"at": at},
        )
        for cid in ("old", "new"):
            conn.execute(
                text(
                    "INSERT INTO conversation (id, contact_id, channel, status, priority_rank, "
                    "out_of_hours, flow_state, channel_data, topics, opened_at, last_activity_at) "
                    "VALUES (:id, 'k', 'whatsapp', 'closed', 0, 0, '{}', '{}', '[]', :at, :at)"
                ),
                {"id": cid, "at": at},
            )
        written = [
            ("m1", "old", "in", "contact", "2026-11-29 08:00:00"),
            ("m2", "old", "out", "bot", "2026-11-29 09:00:00"),  # a reply: not the window
            ("m3", "new", "in", "contact", "2026-11-30 09:00:00"),
            ("m4", "new", "in", "contact", "2026-11-30 09:30:00"),
        ]
        for mid, cid, direction, author, created in written:
            conn.execute(
                text(
                    "INSERT INTO message (id, conversation_id, channel, direction, author, "
                    "body, kind, status, attempts, created_at, media, meta) VALUES (:id, :cid, "
                    "'whatsapp', :dir, :author, 'x', 'text', 'received', 0, :at, '[]', '{}')"
                ),
                {"id": mid, "cid": cid, "dir": direction, "author": author, "at": created},
            )
    engine.dispose()
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        old, new = session.get(Conversation, "old"), session.get(Conversation, "new")
        assert old is not None and new is not None
        assert old.last_inbound_at == datetime(2026, 11, 29, 8, tzinfo=UTC)
        assert new.last_inbound_at == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    engine.dispose()
