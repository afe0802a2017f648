"""The web application factory: the composition root of the web side (channels + dashboard)."""

from __future__ import annotations

import logging

from flask import Flask

import operators
from bot import arrivals, config
from bot.channels import registry
from bot.models import utcnow
from bot.runtime import Runtime
from operators import security

log = logging.getLogger(__name__)


def create_app(settings: config.Settings | None = None, rt: Runtime | None = None) -> Flask:
    """Build the Flask app from settings (or an already wired runtime, as the tests do)."""
    if rt is None:
        rt = Runtime.create(settings or config.load())
        registry.configure_senders(rt)
    app = Flask("operators", static_folder=None)
    app.config.update(
        SECRET_KEY=rt.secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=rt.settings.server.public_url.startswith("https://"),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.extensions["sos"] = rt

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str | int], int]:
        """Answer 200 once the database answers, with how long the oldest message accepted by a
        webhook has waited to be read (a monitor alerts when no worker reads them)."""
        try:
            waiting = arrivals.backlog(rt)
        except Exception:
            log.exception("health check: database unreachable")
            return {"status": "database unreachable"}, 503
        unread = round(waiting.seconds(utcnow()))
        return {"status": "ok", "unread": waiting.count, "unread_seconds": unread}, 200

    for blueprint in registry.blueprints(rt):  # signed by their provider: no CSRF token
        app.register_blueprint(blueprint)
        security.csrf.exempt(blueprint)
    operators.init_app(app)
    return app
