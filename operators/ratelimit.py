"""Failed-login limits, kept in the database so every web process sees them.

Keys are HMACs of the username (and of the client address), so neither is stored in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, func, select

from bot.models import LoginFailure

# A client address gets more tries than one account: several volunteers may share an office.
ADDRESS_FACTOR = 4


def key(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value.lower()}".encode(), hashlib.sha256).hexdigest()


def blocked_for(session: Session, keys: dict[str, str], now: datetime, *, max_failures: int,
                window: timedelta) -> timedelta | None:
    """How long these keys must wait before trying again, or None if they may try now."""
    since = now - window
    waits = []
    for kind, k in keys.items():
        limit = max_failures * (ADDRESS_FACTOR if kind == "address" else 1)
        times = list(session.exec(
            select(LoginFailure.at).where(LoginFailure.key == k, col(LoginFailure.at) >= since)
            .order_by(col(LoginFailure.at).desc()).limit(limit)))
        if len(times) >= limit:
            oldest = times[-1]
            waits.append(oldest + window - now)
    return max(waits) if waits else None


def failed(session: Session, keys: dict[str, str], now: datetime, window: timedelta) -> None:
    """Count a failure; forget failures older than the window."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < now - window))
    for k in keys.values():
        session.add(LoginFailure(key=k, at=now))


def succeeded(session: Session, user_key: str) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == user_key))


def failures(session: Session, k: str) -> int:
    return int(session.exec(select(func.count()).select_from(LoginFailure)
                            .where(LoginFailure.key == k)).one())
