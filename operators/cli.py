"""`sos-bot operator ...` commands."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the operator commands to the `sos-bot operator` group."""
