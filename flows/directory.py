"""The local services the bot and the listeners point young people to, as the engine sees them.

The directory lives in the database (bot.directory); the engine receives it as a tuple of
`Service` records in its Context. TOML is the exchange format (flows/default/services.toml is
the first import; `sos-bot services import|export`); `parse` reads it with errors that name
file and line, e.g.
    services.toml:42: service 'caritas': topic 'cibo' is not a closing topic (known: ...)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flows.source import Key, Source

CONTACT_FIELDS = ("phone", "email", "address", "web", "hours")
FIELDS = (
    "name",
    "about",
    "contacts",
    "topics",
    "zones",
    "age_min",
    "age_max",
    "languages",
    "network",
    "active",
    "checked_on",
    "checked_by",
)
LIMITS = {
    "name": 200,
    "phone": 64,
    "email": 320,
    "address": 300,
    "web": 300,
    "hours": 500,
    "checked_by": 100,
}
MAX_AGE = 120
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Service:
    """One service of the directory. `about` maps a language to what it helps with (Italian
    always there); an empty contact or list means "not known" (a service with no zones serves
    them all)."""

    id: str
    name: str
    about: Mapping[str, str]
    contacts: Mapping[str, str] = field(default_factory=dict)
    topics: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    languages: tuple[str, ...] = ()
    network: bool = False
    active: bool = True
    checked_on: date | None = None
    checked_by: str = ""

    def about_in(self, lang: str) -> str:
        return self.about.get(lang) or self.about.get("it", "")

    def serves(self, zone: str) -> bool:
        return not self.zones or zone in self.zones


def on_topics(directory: Iterable[Service], topics: Collection[str]) -> tuple[Service, ...]:
    """The active services that help with any of `topics`, in the directory's order."""
    return tuple(s for s in directory if s.active and set(s.topics) & set(topics))


def first_topic(service: Service, topics: Iterable[str]) -> str | None:
    """The first of `topics` the service helps with (what a referral is counted under)."""
    return next((t for t in topics if t in service.topics), None)


def parse(
    src: Source, *, topics: Collection[str] | None = None, zones: Collection[str] | None = None
) -> dict[str, Service]:
    """Every service of a services TOML file (PackError with file and line on a problem).

    topics, zones: the allowed values (the closing topics, the configured zones); None: only
    their form is checked.
    """
    services = {}
    for service_id, value in src.data.items():
        key: Key = (service_id,)
        owner = f"service {service_id!r}"
        if not _ID.match(service_id):
            raise src.error(key, f"{owner}: an id of lower-case letters, digits, '-' and '_'")
        if not isinstance(value, dict):
            raise src.error(key, f"{owner} must be a table")
        try:
            services[service_id] = read(service_id, value, topics=topics, zones=zones)
        except _Wrong as exc:
            raise src.error((*key, *exc.where), f"{owner}: {exc.message}") from None
    return services


class _Wrong(Exception):
    """What is wrong with one service, and under which of its keys."""

    def __init__(self, where: Key, message: str) -> None:
        super().__init__(message)
        self.where, self.message = where, message


def read(
    service_id: str,
    entry: Mapping[str, Any],
    *,
    topics: Collection[str] | None = None,
    zones: Collection[str] | None = None,
) -> Service:
    """One service from its TOML table (raises _Wrong: the key and what is wrong)."""
    for name in entry:
        if name not in FIELDS:
            raise _Wrong((name,), f"unknown key {name!r} (expected {', '.join(FIELDS)})")
    contacts = entry.get("contacts", {})
    if not isinstance(contacts, dict):
        raise _Wrong(("contacts",), "contacts must be a table")
    for name in contacts:
        if name not in CONTACT_FIELDS:
            raise _Wrong(
                ("contacts", name),
                f"contacts: unknown key {name!r} (expected {', '.join(CONTACT_FIELDS)})",
            )
    age_min, age_max = _age(entry, "age_min"), _age(entry, "age_max")
    if age_min is not None and age_max is not None and age_min > age_max:
        raise _Wrong(("age_max",), f"age_max {age_max} is below age_min {age_min}")
    checked_on = entry.get("checked_on")
    if checked_on is not None and (
        not isinstance(checked_on, date) or isinstance(checked_on, datetime)
    ):
        raise _Wrong(("checked_on",), "checked_on must be a date, e.g. 2025-03-01 (no quotes)")
    return Service(
        id=service_id,
        name=_text(entry, ("name",), required=True),
        about=_about(entry.get("about")),
        contacts={f: _text(contacts, (f,), where=("contacts", f)) for f in CONTACT_FIELDS},
        topics=_list(entry, "topics", topics, "closing topic"),
        zones=_list(entry, "zones", zones, "configured zone"),
        age_min=age_min,
        age_max=age_max,
        languages=_languages(entry),
        network=_flag(entry, "network", False),
        active=_flag(entry, "active", True),
        checked_on=checked_on,
        checked_by=_text(entry, ("checked_by",)),
    )


def _text(
    table: Mapping[str, Any], key: tuple[str], *, required: bool = False, where: Key | None = None
) -> str:
    value = table.get(key[0], "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Wrong(where or key, f"{key[0]} must be a {'non-empty ' if required else ''}string")
    value = value.strip()
    limit = LIMITS.get(key[0])
    if limit and len(value) > limit:
        raise _Wrong(where or key, f"{key[0]} is longer than {limit} characters")
    return value


def _about(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = {"it": value}
    if not isinstance(value, dict):
        raise _Wrong(("about",), 'about must be a text, or a table: about.it = "...", about.en')
    for lang, text in value.items():
        if not _LANGUAGE.match(lang) or not isinstance(text, str):
            raise _Wrong(("about", lang), 'about: one text per language, e.g. about.it = "..."')
    if not str(value.get("it", "")).strip():
        raise _Wrong(("about",), "about.it: say in Italian what the service helps with")
    return {lang: text.strip() for lang, text in value.items() if text.strip()}


def _list(
    entry: Mapping[str, Any], name: str, allowed: Collection[str] | None, what: str
) -> tuple[str, ...]:
    value = entry.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Wrong((name,), f"{name} must be a list of strings")
    for item in value:
        if allowed is not None and item not in allowed:
            raise _Wrong((name,), f"{item!r} is not a {what} (known: {', '.join(allowed)})")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _languages(entry: Mapping[str, Any]) -> tuple[str, ...]:
    value = entry.get("languages", [])
    if not isinstance(value, list) or not all(
        isinstance(v, str) and _LANGUAGE.match(v) for v in value
    ):
        raise _Wrong(("languages",), 'languages: a list of language codes, e.g. ["it", "en"]')
    return tuple(dict.fromkeys(value))


def _age(entry: Mapping[str, Any], name: str) -> int | None:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_AGE:
        raise _Wrong((name,), f"{name} must be a whole number from 0 to {MAX_AGE}")
    return value


def _flag(entry: Mapping[str, Any], name: str, default: bool) -> bool:
    value = entry.get(name, default)
    if not isinstance(value, bool):
        raise _Wrong((name,), f"{name} must be true or false")
    return value


def as_table(service: Service) -> dict[str, Any]:
    """A service as its TOML table (what `parse` reads back): empty values left out."""
    table: dict[str, Any] = {"name": service.name, "about": dict(service.about)}
    for name in ("topics", "zones", "languages"):
        if getattr(service, name):
            table[name] = list(getattr(service, name))
    for name in ("age_min", "age_max", "checked_on"):
        if getattr(service, name) is not None:
            table[name] = getattr(service, name)
    table["network"] = service.network
    table["active"] = service.active
    if service.checked_by:
        table["checked_by"] = service.checked_by
    table["contacts"] = {f: service.contacts.get(f, "") for f in CONTACT_FIELDS}
    return table
