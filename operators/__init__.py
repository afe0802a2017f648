"""The listeners' dashboard (placeholder until the dashboard lands)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints."""
