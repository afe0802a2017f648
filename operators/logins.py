"""Logins kept on the server: the session cookie carries a login's id, and the login is over as
soon as its row is gone (logout, the account disabled, its password changed), whatever the
browser still holds."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from bot.models import Operator, OperatorSession


def start(session: Session, operator: Operator, now: datetime, lifetime: timedelta) -> str:
    """A new login of this operator (and expired logins of anybody forgotten); its id."""
    session.exec(delete(OperatorSession).where(col(OperatorSession.started_at) < now - lifetime))
    login = OperatorSession(id=secrets.token_urlsafe(32), operator_id=operator.id, started_at=now)
    session.add(login)
    return login.id


def operator(
    session: Session, login_id: str, now: datetime, lifetime: timedelta
) -> Operator | None:
    """The active operator of a login that has not ended, or None."""
    query = (
        select(Operator)
        .join(OperatorSession, col(OperatorSession.operator_id) == Operator.id)
        .where(
            OperatorSession.id == login_id[:64],
            col(OperatorSession.started_at) >= now - lifetime,
            col(Operator.active).is_(True),
        )
    )
    return session.exec(query).first()


def end(session: Session, login_id: str) -> None:
    session.exec(delete(OperatorSession).where(col(OperatorSession.id) == login_id[:64]))


def end_all(session: Session, operator_id: str) -> None:
    """End every login of an account (disabled, or a new password)."""
    session.exec(delete(OperatorSession).where(col(OperatorSession.operator_id) == operator_id))
