"""The change feed behind the dashboard's live updates (works across processes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, col, delete, select

from bot.db import table
from bot.models import Activity, utcnow

_INSERT = insert(table(Activity))  # Core: no model instance, no flush, one statement


def publish(
    session: Session, kind: str, conversation_id: str | None = None, priority: str | None = None
) -> None:
    """Tell the dashboards that something changed (committed with the caller's transaction)."""
    values = {
        "at": utcnow(),
        "kind": kind,
        "conversation_id": conversation_id,
        "priority": priority,
    }
    session.execute(_INSERT, values)


def since(session: Session, last_id: int, limit: int = 200) -> list[Activity]:
    """Changes after last_id, oldest first."""
    query = (
        select(Activity).where(col(Activity.id) > last_id).order_by(col(Activity.id)).limit(limit)
    )
    return list(session.exec(query))


def latest_id(session: Session) -> int:
    row = session.exec(select(Activity.id).order_by(col(Activity.id).desc()).limit(1)).first()
    return row or 0


def prune(
    session: Session, now: datetime | None = None, keep: timedelta = timedelta(days=2)
) -> None:
    """Forget old changes; dashboards only need the recent ones."""
    cutoff = (now or utcnow()) - keep
    session.exec(delete(Activity).where(col(Activity.at) < cutoff))
