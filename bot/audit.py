"""The audit log: who viewed, claimed, replied, transferred, exported or closed what."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.models import AuditEvent, utcnow


def record(
    session: Session,
    action: str,
    *,
    operator_id: str | None = None,
    conversation_id: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit event (ids and labels only: never message text or addresses)."""
    session.add(
        AuditEvent(
            at=utcnow(),
            action=action,
            operator_id=operator_id,
            conversation_id=conversation_id,
            detail=detail,
        )
    )
