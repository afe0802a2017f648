"""Temporary entry point until the content pack lands: an empty pack and the placeholder engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.engine import Context, EmergencyNumber, Step, step, timeout


class PackError(ValueError):
    pass


@dataclass
class Pack:
    no_response_minutes: int = 30


def load_pack(path: Path | None = None) -> Pack:
    return Pack()


__all__ = ["Context", "EmergencyNumber", "Pack", "PackError", "Step", "load_pack", "step", "timeout"]
