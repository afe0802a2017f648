"""Reading the bot's replies back, for the terminal chat and the dashboard simulator."""

from __future__ import annotations

from sqlmodel import col, select

from bot import alerts
from bot.db import read_session
from bot.models import Message
from bot.runtime import Runtime


def replies_for(rt: Runtime, conversation_id: str | None, seen: set[str]) -> list[str]:
    """Outbound texts of the conversation not shown yet (marks them as shown in `seen`)."""
    if conversation_id is None:
        return []
    with read_session(rt.db) as session:
        rows = session.exec(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == "out",
                Message.kind != alerts.KIND,
            )
            .order_by(col(Message.created_at))
        ).all()
    fresh = [m for m in rows if m.id not in seen]
    seen.update(m.id for m in fresh)
    return [m.body for m in fresh]
