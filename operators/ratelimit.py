"""Login limits, kept in the database so every web process sees them.

Every attempt is counted *before* the password is checked, by one statement that also enforces
the limit (an upsert whose update applies only below the limit): parallel attempts cannot all
read "4 so far" and all go on to try a password. A successful login gives its attempt back.

Keys are HMACs of the username (and of the client address), so neither is stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import DateTime, case, literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete

from bot.db import table
from bot.models import LoginThrottle

# A client address gets more tries than one account: several volunteers may share an office.
ADDRESS_FACTOR = 4


def key(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value.lower()}".encode(), hashlib.sha256).hexdigest()


def limit_for(kind: str, max_failures: int) -> int:
    return max_failures * (ADDRESS_FACTOR if kind == "address" else 1)


def attempt(
    session: Session, keys: dict[str, str], now: datetime, *, max_failures: int, window: timedelta
) -> timedelta | None:
    """Count one attempt for every key; if a key is at its limit, count nothing and return how
    long to wait. Runs in the caller's write transaction, which it rolls back when refused."""
    t = table(LoginThrottle)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    at = literal(now, DateTime(timezone=True))
    expired = t.c.since < literal(now - window, DateTime(timezone=True))
    for kind, k in keys.items():
        limit = limit_for(kind, max_failures)
        counted = (
            dialect.insert(t)
            .values(key=k, attempts=1, since=at)
            .on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "attempts": case((expired, 1), else_=t.c.attempts + 1),
                    "since": case((expired, at), else_=t.c.since),
                },
                where=or_(expired, t.c.attempts < limit),
            )
            .returning(t.c.attempts)
        )
        if session.execute(counted).first() is None:  # at the limit: nothing was counted
            since = session.get(LoginThrottle, k)
            session.rollback()
            start = since.since if since else now
            return max(start + window - now, timedelta(seconds=1))
    return None


def succeeded(session: Session, keys: dict[str, str]) -> None:
    """The password was right: the account starts afresh, and the address gets its try back."""
    t = table(LoginThrottle)
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.key) == keys["user"]))
    session.execute(
        update(t)
        .where(t.c.key == keys["address"], t.c.attempts > 0)
        .values(attempts=t.c.attempts - 1)
    )


def forget_expired(session: Session, now: datetime, window: timedelta) -> None:
    session.exec(delete(LoginThrottle).where(col(LoginThrottle.since) < now - window))
