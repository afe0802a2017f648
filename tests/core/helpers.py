"""Small helpers for the core tests."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import col, select

from bot.channel import Inbound
from bot.db import read_session
from bot.models import Contact, Conversation, Message
from bot.runtime import Runtime

_ids = itertools.count(1)


def inbound(
    text: str, address: str = "whatsapp:+393330000001", channel: str = "whatsapp", **kw: Any
) -> Inbound:
    kw.setdefault("external_id", f"SM{next(_ids):032d}")
    return Inbound(channel=channel, address=address, text=text, **kw)


def rows(rt: Runtime, model: Any, *where: Any) -> list[Any]:
    with read_session(rt.db) as session:
        query = select(model).where(*where)
        if model is Message:
            query = query.order_by(col(Message.created_at))
        return list(session.exec(query))


def outbound(rt: Runtime, conversation_id: str | None = None) -> list[Message]:
    where = [Message.direction == "out"]
    if conversation_id:
        where.append(Message.conversation_id == conversation_id)
    return rows(rt, Message, *where)


def conversation(rt: Runtime, conversation_id: str | None) -> Conversation:
    with read_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found


def contact(rt: Runtime, address: str = "whatsapp:+393330000001") -> Contact | None:
    found = rows(rt, Contact, Contact.address == address)
    return found[0] if found else None
