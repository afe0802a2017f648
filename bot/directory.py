"""The local services directory in the database: read for the engine (cached), kept by the
coordinators (add, edit, retire, delete), exchanged as TOML (import, export, first import).

Every change is written to the audit log with the fields that changed. A service that
referrals name is never deleted: it is retired, and the counts stay.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot import audit
from bot.db import write_session
from bot.models import AuditEvent, Referral, utcnow
from bot.models import Service as Row
from flows.directory import CONTACT_FIELDS, Service, as_table, parse
from flows.source import Source

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0  # how stale another process's change may be for the engine here
ACTIONS = (
    "service_added",
    "service_changed",
    "service_retired",
    "service_restored",
    "service_deleted",
    "services_imported",
)
_FIELDS = (
    "name",
    "about_it",
    "about_en",
    "topics",
    "zones",
    "age_min",
    "age_max",
    "languages",
    *CONTACT_FIELDS,
    "network",
    "active",
    "checked_at",
    "checked_by",
)


class DirectoryError(Exception):
    """A change the directory refuses; the message (Italian) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- rows and records ----------------------------------------------------------------------


def record(row: Row) -> Service:
    """The engine's view of a row."""
    about = {"it": row.about_it, **({"en": row.about_en} if row.about_en else {})}
    return Service(
        id=row.id,
        name=row.name,
        about=about,
        contacts={f: getattr(row, f) for f in CONTACT_FIELDS},
        topics=tuple(row.topics),
        zones=tuple(row.zones),
        age_min=row.age_min,
        age_max=row.age_max,
        languages=tuple(row.languages),
        network=row.network,
        active=row.active,
        checked_on=row.checked_at.date() if row.checked_at else None,
        checked_by=row.checked_by,
    )


def _values(service: Service) -> dict[str, Any]:
    checked = service.checked_on
    return {
        "name": service.name,
        "about_it": service.about.get("it", ""),
        "about_en": service.about.get("en", ""),
        "topics": list(service.topics),
        "zones": list(service.zones),
        "age_min": service.age_min,
        "age_max": service.age_max,
        "languages": list(service.languages),
        **{f: service.contacts.get(f, "") for f in CONTACT_FIELDS},
        "network": service.network,
        "active": service.active,
        "checked_at": datetime(checked.year, checked.month, checked.day, 12, tzinfo=UTC)
        if checked
        else None,
        "checked_by": service.checked_by,
    }


def _shown(value: Any) -> Any:
    """A value as the audit log keeps it (JSON)."""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return value


def rows(session: Session) -> list[Row]:
    """Every service, retired ones too, in the directory's order."""
    return list(session.exec(select(Row).order_by(col(Row.position), col(Row.name))))


def get(session: Session, service_id: str) -> Row | None:
    return session.get(Row, service_id[:64])


# -- what the engine reads ------------------------------------------------------------------


@dataclass
class _Cached:
    revision: tuple[int, Any]
    services: tuple[Service, ...]
    read_at: float


_cache: weakref.WeakKeyDictionary[Engine, _Cached] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _revision(session: Session) -> tuple[int, Any]:
    count, newest = session.exec(select(func.count(), func.max(Row.updated_at))).one()
    return int(count), newest


def current(engine: Engine, session: Session) -> tuple[Service, ...]:
    """The active services in order, for the engine: read again when the directory changed
    (at once in this process, within REFRESH_SECONDS for a change made by another)."""
    with _cache_lock:
        cached = _cache.get(engine)
    if cached is not None and time.monotonic() - cached.read_at < REFRESH_SECONDS:
        return cached.services
    revision = _revision(session)
    if cached is None or cached.revision != revision:
        found = tuple(record(r) for r in rows(session) if r.active)
        cached = _Cached(revision, found, time.monotonic())
    else:
        cached.read_at = time.monotonic()
    with _cache_lock:
        _cache[engine] = cached
    return cached.services


def changed(engine: Engine) -> None:
    """Forget the engine's copy: the directory changed in this process."""
    with _cache_lock:
        _cache.pop(engine, None)


# -- the coordinators' changes ----------------------------------------------------------------


def save(
    session: Session, service: Service, *, operator_id: str | None, now: datetime, new: bool
) -> Row:
    """Add a service (new) or change one; the audit log keeps which fields changed."""
    row = get(session, service.id)
    values = _values(service)
    if new:
        if row is not None:
            raise DirectoryError(f"Esiste già un servizio con il codice {service.id!r}.")
        last = session.exec(select(func.max(Row.position))).one()
        row = Row(id=service.id, position=(last or 0) + 1, created_at=now, updated_at=now, **values)
        session.add(row)
        audit.record(
            session, "service_added", operator_id=operator_id, service=service.id, name=service.name
        )
        return row
    if row is None:
        raise DirectoryError("Questo servizio non c'è più: ricarica la pagina.")
    changes = {
        k: [_shown(getattr(row, k)), _shown(v)]
        for k, v in values.items()
        if _shown(getattr(row, k)) != _shown(v)
    }
    if changes:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now
        session.add(row)
        audit.record(
            session, "service_changed", operator_id=operator_id, service=row.id, changes=changes
        )
    return row


def set_active(
    session: Session, service_id: str, active: bool, *, operator_id: str | None, now: datetime
) -> Row:
    """Retire a service (the bot and the listeners stop offering it; the counts stay), or
    bring it back."""
    row = get(session, service_id)
    if row is None:
        raise DirectoryError("Questo servizio non c'è più: ricarica la pagina.")
    if row.active != active:
        row.active = active
        row.updated_at = now
        session.add(row)
        audit.record(
            session,
            "service_restored" if active else "service_retired",
            operator_id=operator_id,
            service=row.id,
            name=row.name,
        )
    return row


def referral_count(session: Session, service_id: str) -> int:
    query = select(func.count()).select_from(Referral).where(Referral.service_id == service_id)
    return int(session.exec(query).one())


def delete(session: Session, service_id: str, *, operator_id: str | None) -> None:
    """Delete a service entered by mistake: refused once a referral names it."""
    row = get(session, service_id)
    if row is None:
        raise DirectoryError("Questo servizio non c'è più: ricarica la pagina.")
    if referral_count(session, row.id):
        raise DirectoryError(
            "Ci sono già invii a questo servizio: non si può eliminare, "
            "perché i conteggi resterebbero senza nome. Ritiralo invece."
        )
    session.delete(row)
    audit.record(session, "service_deleted", operator_id=operator_id, service=row.id, name=row.name)


def history(session: Session, service_id: str) -> list[Any]:
    """The audit events about one service, newest first."""
    query = select(AuditEvent).where(col(AuditEvent.action).in_(ACTIONS))
    events = session.exec(query.order_by(col(AuditEvent.id).desc()))
    return [
        e
        for e in events
        if e.detail.get("service") == service_id or service_id in e.detail.get("ids", ())
    ]


# -- TOML: import, export, the first import ---------------------------------------------------


def read_file(path: Path, *, topics: Collection[str], zones: Collection[str]) -> list[Service]:
    """Every service of a TOML file, checked whole (flows.PackError names the file and line)."""
    source = Source(path)
    source.name = str(path)
    return list(parse(source, topics=topics, zones=zones).values())


def import_services(
    session: Session, services: Iterable[Service], *, operator_id: str | None, now: datetime
) -> tuple[int, int]:
    """Add the new services and update the others (the file's order becomes the directory's);
    services not in the file stay as they are. Returns (added, changed)."""
    added = changed_count = 0
    listed = list(services)
    first = (session.exec(select(func.max(Row.position))).one() or 0) + 1
    for position, service in enumerate(listed, first):
        row = get(session, service.id)
        if row is None:
            session.add(
                Row(
                    id=service.id,
                    position=position,
                    created_at=now,
                    updated_at=now,
                    **_values(service),
                )
            )
            added += 1
            continue
        values = _values(service)
        if any(_shown(getattr(row, k)) != _shown(v) for k, v in values.items()):
            changed_count += 1
        for key, value in values.items():
            setattr(row, key, value)
        row.position = position
        row.updated_at = now
        session.add(row)
    audit.record(
        session,
        "services_imported",
        operator_id=operator_id,
        added=added,
        changed=changed_count,
        ids=[s.id for s in listed],
    )
    return added, changed_count


def export(session: Session) -> str:
    """The whole directory, retired services too, as TOML that import_services reads back."""
    tables = {row.id: as_table(record(row)) for row in rows(session)}
    header = (
        "# The local services directory (sos-bot services export). Edit and load it back\n"
        "# with `sos-bot services import FILE`; the format is in flows/default/services.toml"
        ".\n\n"
    )
    return header + tomli_w.dumps(tables)


def first_import(
    engine: Engine, path: Path, *, topics: Collection[str], zones: Collection[str]
) -> int:
    """Load the content pack's services.toml into an empty directory (once); how many."""
    with write_session(engine) as session:
        if session.exec(select(func.count()).select_from(Row)).one():
            return 0
        services = read_file(path, topics=topics, zones=zones)
        import_services(session, services, operator_id=None, now=utcnow())
    changed(engine)
    log.info("services directory: %d services imported from %s", len(services), path.name)
    return len(services)


def stale(row: Row, now: datetime, months: int) -> bool:
    """Not checked for more than `months` months (or never)."""
    if row.checked_at is None:
        return True
    return (now - row.checked_at).days > months * 30.44
