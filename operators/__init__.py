"""The listeners' dashboard: queue, conversations, simulator, operators and audit log."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask

from bot import activity
from bot.db import read_session

HERE = Path(__file__).parent

# Templates and the one script and style sheet (no build step, no vendored libraries).
assets = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted((HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints, checks and template helpers."""
    from operators import (
        admin,
        alerts,
        auth,
        catalog,
        conversation,
        corrections,
        directory,
        figures,
        formatting,
        live,
        places,
        presence,
        queue,
        rota,
        security,
        simulator,
        statistics,
        support,
    )

    rt = app.extensions["sos"]
    app.extensions["sos_catalog"] = catalog.load(rt.settings)
    security.init_app(app)
    formatting.init_app(app)
    for blueprint in (
        assets,
        auth.bp,
        queue.bp,
        live.bp,
        conversation.bp,
        simulator.bp,
        admin.bp,
        alerts.bp,
        rota.bp,
        figures.bp,
        corrections.bp,
        directory.bp,
        statistics.bp,
    ):
        app.register_blueprint(blueprint)
    presence.init_app(app)
    support.init_app(app)
    places.init_app(app)
    version = _asset_version()

    @app.context_processor
    def _globals() -> dict[str, Any]:
        operator = auth.current_operator()
        found = {
            "me": operator,
            "is_coordinator": auth.is_coordinator(),
            "service_name": rt.settings.service.name,
            "asset_version": version,
        }
        if operator is not None:  # live updates start after what this page shows
            with read_session(rt.db) as session:
                found["last_event"] = activity.latest_id(session)
        return found
