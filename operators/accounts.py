"""Operator accounts: argon2 password hashes, creation, roles, disabling."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, func, select

from bot import audit, conversations
from bot.config import Settings
from bot.models import Operator, utcnow
from operators import logins

ROLES = ("listener", "coordinator")
ROLE_LABELS = {"listener": "volontario/a", "coordinator": "coordinatore/trice"}
MIN_PASSWORD = 10
MAX_PASSWORD = 200
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is for the dashboard."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("a password nobody has")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_username(username: str) -> str:
    """The normalised username, or AccountError."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            "Nome utente non valido: 2-64 caratteri tra lettere minuscole, cifre, "
            "punto, trattino e trattino basso."
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"La password deve avere almeno {MIN_PASSWORD} caratteri.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"La password può avere al massimo {MAX_PASSWORD} caratteri.")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(
            "Ruolo non valido: volontario/a (listener) o coordinatore/trice (coordinator)."
        )
    return role


def check_capacity(value: str | int | None) -> int | None:
    """A per-operator capacity (None = the service default)."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise AccountError("La capacità deve essere un numero intero.") from exc
    if not 1 <= number <= 50:
        raise AccountError("La capacità deve essere tra 1 e 50 conversazioni.")
    return number


def find(session: Session, username: str) -> Operator | None:
    name = username.strip().lower()
    return session.exec(select(Operator).where(Operator.username == name)).first()


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Operator)).one())


def create(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    capacity: int | None = None,
    by: str | None = None,
) -> Operator:
    """Add an operator (AccountError if the name is taken or a value is wrong)."""
    name = check_username(username)
    check_password(password)
    check_role(role)
    if find(session, name) is not None:
        raise AccountError(f"Esiste già un operatore con nome utente «{name}».")
    operator = Operator(
        username=name,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name.strip()[:100],
        capacity=capacity,
    )
    session.add(operator)
    session.flush()
    audit.record(session, "operator_added", operator_id=by, target=operator.id, role=role)
    return operator


def verify(operator: Operator | None, password: str) -> bool:
    """True if the password is right; takes as long for unknown users as for known ones."""
    try:
        ok = _hasher().verify(operator.password_hash if operator else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and operator is not None


def needs_rehash(operator: Operator) -> bool:
    return _hasher().check_needs_rehash(operator.password_hash)


def set_password(session: Session, operator: Operator, password: str, *, by: str | None) -> None:
    """A new password; every login of the account ends (the caller may start a new one)."""
    check_password(password)
    operator.password_hash = hash_password(password)
    session.add(operator)
    logins.end_all(session, operator.id)
    audit.record(session, "password_changed", operator_id=by, target=operator.id)


def capacity(operator: Operator, settings: Settings) -> int:
    return operator.capacity or settings.service.listener_capacity


def name(operator: Operator | None) -> str:
    """How an operator is shown on screen."""
    if operator is None:
        return "—"
    return operator.display_name or operator.username


def active_coordinators(session: Session) -> int:
    query = (
        select(func.count())
        .select_from(Operator)
        .where(Operator.role == "coordinator", col(Operator.active).is_(True))
    )
    return int(session.exec(query).one())


def set_active(
    session: Session,
    operator: Operator,
    active: bool,
    *,
    by: str | None,
    now: datetime | None = None,
) -> list[str]:
    """Enable or disable an account; disabling hands its conversations back to the queue.

    Returns the ids of the conversations released.
    """
    last_coordinator = operator.role == "coordinator" and active_coordinators(session) <= 1
    if not active and operator.active and last_coordinator:
        raise AccountError("Non si può disattivare l'ultimo coordinatore attivo.")
    operator.active = active
    session.add(operator)
    audit.record(
        session,
        "operator_enabled" if active else "operator_disabled",
        operator_id=by,
        target=operator.id,
    )
    if active:
        return []
    logins.end_all(session, operator.id)
    return conversations.release_all(session, operator, by=by, now=now or utcnow())


def list_all(session: Session) -> list[Operator]:
    return list(
        session.exec(select(Operator).order_by(col(Operator.active).desc(), col(Operator.username)))
    )
