"""Recorded conversations: messages in, events out, stored as TOML under transcripts/.

A transcript plays the caller's part the way bot.inbox does: the consent notice counts as
shown after ConsentShown, the language is remembered after LanguageSet, an Escalate puts the
conversation in the queue ("waiting"), Closed ends it. A turn may set `status`, `now`, `media`,
or be `timeout = true` instead of a message.
Regenerate the expected events with:  UPDATE_TRANSCRIPTS=1 pytest tests/flows/test_transcripts.py
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from flows import Context, Pack, step, timeout
from flows.events import Event
from flows.hours import OpeningHours
from flows.state import FlowState
from tests.flows.conftest import NUMBERS

FOLDER = Path(__file__).parent / "transcripts"


def event_row(event: Event) -> dict[str, Any]:
    """An event as a flat table: its type and its fields (those left at their default omitted)."""
    row: dict[str, Any] = {"type": type(event).__name__}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.default is dataclasses.MISSING or value != f.default:
            row[f.name] = value
    return row


def play(pack: Pack, script: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Run every turn of a script; the events of each turn, as rows."""
    state: FlowState | None = None
    status = script.get("status", "bot")
    first = script.get("first_contact", True)
    lang = script.get("lang")
    hours = OpeningHours.parse(script.get("hours", "mon-fri 15:00-20:00"))
    now: datetime = script["now"]
    out = []
    for turn in script["turn"]:
        now = turn.get("now", now)
        status = turn.get("status", status)
        ctx = Context(
            now=now,
            hours=hours,
            emergency=NUMBERS,
            status=status,
            first_contact=first,
            lang=lang,
            directory=tuple(pack.services.values()),
        )
        if turn.get("timeout"):
            result = timeout(pack, state, ctx)
        else:
            result = step(pack, state, turn["send"], ctx, media=turn.get("media", 0))
        state = FlowState.from_json(json.loads(json.dumps(result.state.to_json())))  # as stored
        for event in result.events:
            name = type(event).__name__
            first = first and name != "ConsentShown"
            lang = getattr(event, "lang", lang) if name == "LanguageSet" else lang
            if name == "Escalate" and status == "bot":
                status = "waiting"
            if name == "Closed":
                state, status = None, "bot"
        out.append([event_row(e) for e in result.events])
    return out


def load(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


# -- writing (a small TOML emitter for exactly this shape) -----------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if "\n" in text:
        body = text.replace("\\", "\\\\").replace('"""', '\\"""')
        return f'"""\n{body}"""'
    return json.dumps(text, ensure_ascii=False)


def dump(path: Path, script: dict[str, Any], events: list[list[dict[str, Any]]]) -> None:
    """Write the script back with the events it produced."""
    lines = []
    for key, value in script.items():
        if key != "turn":
            lines.append(f"{key} = {_value(value)}")
    for turn, rows in zip(script["turn"], events, strict=True):
        lines += ["", "[[turn]]"]
        lines += [f"{k} = {_value(v)}" for k, v in turn.items() if k != "event"]
        for row in rows:
            lines += ["[[turn.event]]"] + [f"{k} = {_value(v)}" for k, v in row.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
