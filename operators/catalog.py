"""Quick replies, closing outcomes and topic tags: data files, checked at start-up."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings

HERE = Path(__file__).parent
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
KNOWN_PLACEHOLDERS = ("servizio", "numeri")


class CatalogError(ValueError):
    """A data file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class QuickReply:
    id: str
    label: str
    text: str
    text_en: str

    def for_language(self, lang: str | None) -> str:
        return self.text_en if lang == "en" and self.text_en else self.text


@dataclass(frozen=True)
class Label:
    id: str
    label: str
    crisis: bool = False  # an outcome of a crisis: no feedback question after it


@dataclass(frozen=True)
class Catalog:
    quick_replies: tuple[QuickReply, ...]
    outcomes: tuple[Label, ...]
    topics: tuple[Label, ...]

    def quick_reply(self, reply_id: str) -> QuickReply | None:
        return next((q for q in self.quick_replies if q.id == reply_id), None)

    def crisis_outcome(self, outcome_id: str | None) -> bool:
        return any(o.crisis for o in self.outcomes if o.id == outcome_id)

    def outcome_label(self, outcome_id: str | None) -> str:
        found = next((o for o in self.outcomes if o.id == outcome_id), None)
        return found.label if found else (outcome_id or "")

    def topic_label(self, topic_id: str) -> str:
        found = next((t for t in self.topics if t.id == topic_id), None)
        return found.label if found else topic_id


def _read(name: str, settings: Settings) -> tuple[Path, dict[str, Any]]:
    """The coordinator's copy in service.flows_dir if there is one, else the built-in file."""
    path = HERE / name
    if settings.service.flows_dir:
        own = Path(settings.service.flows_dir) / name
        if own.is_file():
            path = own
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: {exc}") from exc


def _entries(
    path: Path, data: dict[str, Any], table: str, fields: tuple[str, ...]
) -> list[dict[str, str]]:
    entries = data.get(table, [])
    if not isinstance(entries, list) or not entries:
        raise CatalogError(f"{path}: at least one [[{table}]] is needed")
    seen: set[str] = set()
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[{table}]] number {i}"
        if not isinstance(entry, dict):
            raise CatalogError(f"{where}: expected a table")
        unknown = set(entry) - set(fields)
        if unknown:
            raise CatalogError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if "crisis" in entry and not isinstance(entry["crisis"], bool):
            raise CatalogError(f"{where}: 'crisis' must be true or false")
        for key in fields:
            if key == "crisis":
                continue
            optional = key == "text_en"
            value = entry.get(key, "" if optional else None)
            if not isinstance(value, str) or (not optional and not value.strip()):
                raise CatalogError(f"{where}: {key!r} must be a non-empty string")
        if not ID.match(entry["id"]):
            raise CatalogError(f"{where}: id {entry['id']!r} may hold only a-z, 0-9 and '-'")
        if entry["id"] in seen:
            raise CatalogError(f"{where}: id {entry['id']!r} is used twice")
        seen.add(entry["id"])
    return entries


def _fill(path: Path, reply_id: str, text: str, values: dict[str, str]) -> str:
    for name in PLACEHOLDER.findall(text):
        if name not in KNOWN_PLACEHOLDERS:
            raise CatalogError(
                f"{path}: reply {reply_id!r}: unknown placeholder {{{name}}} "
                f"(known: {', '.join('{' + k + '}' for k in KNOWN_PLACEHOLDERS)})"
            )
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def load(settings: Settings) -> Catalog:
    """Read and check the quick replies and closing labels (CatalogError names file and entry)."""
    numbers = ", ".join(f"{n.name} {n.number}" for n in settings.safety.emergency())
    values = {"servizio": settings.service.name, "numeri": numbers}
    path, data = _read("quick_replies.toml", settings)
    replies = tuple(
        QuickReply(
            e["id"],
            e["label"],
            _fill(path, e["id"], e["text"], values),
            _fill(path, e["id"], e.get("text_en", ""), values),
        )
        for e in _entries(path, data, "reply", ("id", "label", "text", "text_en"))
    )
    path, data = _read("closing.toml", settings)
    fields = ("id", "label")
    outcomes = tuple(
        Label(e["id"], e["label"], bool(e.get("crisis", False)))
        for e in _entries(path, data, "outcome", (*fields, "crisis"))
    )
    topics = tuple(Label(e["id"], e["label"]) for e in _entries(path, data, "topic", fields))
    return Catalog(replies, outcomes, topics)
