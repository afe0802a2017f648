"""Fixtures for the flow engine: the built-in pack, fixed clocks, a context factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows import Context, EmergencyNumber, Pack, load_pack
from flows.hours import OpeningHours

ROME = ZoneInfo("Europe/Rome")
HOURS = "mon-fri 15:00-20:00; sat 10:00-13:00"
NUMBERS = (
    EmergencyNumber("Emergenza", "112", "pericolo immediato"),
    EmergencyNumber("Telefono Azzurro", "19696", "24/7"),
    EmergencyNumber("Telefono Amico", "02 2327 2327", "ascolto"),
    EmergencyNumber("Antiviolenza e stalking", "1522", "24/7, gratuito"),
)
OPEN = datetime(2025, 3, 3, 16, 0, tzinfo=ROME)  # a Monday, 16:00
CLOSED = datetime(2025, 3, 3, 22, 30, tzinfo=ROME)  # the same Monday, late evening


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack()


@pytest.fixture
def context(pack: Pack) -> Callable[..., Context]:
    """Build a Context: open hours on a Monday afternoon unless told otherwise; the directory
    is the pack's services.toml (as after the first import)."""

    def make(**changes: Any) -> Context:
        values: dict[str, Any] = {
            "now": OPEN,
            "hours": OpeningHours.parse(HOURS),
            "emergency": NUMBERS,
            "status": "bot",
            "first_contact": False,
            "lang": None,
            "directory": tuple(pack.services.values()),
        }
        values.update(changes)
        return Context(**values)

    return make
