""" "In turno": switching a shift on and off, and noticing that the person uses the dashboard.

Automatic requests (the live stream, the page's periodic refresh) do not count as using it, so
a forgotten tab does not keep a shift going; the live stream does tell that a page is open
(alerts for support then ring there instead of calling the phone).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, jsonify, redirect, request, url_for
from sqlalchemy import update
from sqlmodel import col

from bot import presence
from bot.db import table, write_session
from bot.models import Operator, utcnow
from bot.runtime import runtime
from operators.auth import current_operator, login_required, me, wants_fragment

bp = Blueprint("presence", __name__)
AUTOMATIC = {"live.events", "queue.fragment", "conversation.live", "dashboard.static"}


@bp.post("/presence")
@login_required
def switch() -> Any:
    """Switch "in turno" on (on=1) or off."""
    on = request.form.get("on") == "1"
    now = utcnow()
    with write_session(runtime().db) as db:
        operator = db.get(Operator, me().id)
        assert operator is not None
        if on:
            presence.start_shift(db, operator, now)
        else:
            presence.end_shift(db, operator, now, reason="off")
    message = "Sei in turno: chi scrive sa che ci sei." if on else "Non sei più in turno."
    if wants_fragment():
        return jsonify(ok=True, message=message, on=on)
    flash(message, "info")
    return redirect(url_for("queue.index"))


@bp.post("/presence/seen")
@login_required
def seen() -> Any:
    """The page's script says the person is at work (typing, clicking) without a request."""
    return jsonify(ok=True)  # the hook below did the writing


def _notice() -> None:
    if request.endpoint is None or request.endpoint in AUTOMATIC - {"live.events"}:
        return
    operator = current_operator()
    if operator is None:
        return
    now = utcnow()
    rt = runtime()
    if request.endpoint == "live.events":
        with write_session(rt.db) as db:
            db.execute(
                update(table(Operator))
                .where(col(Operator.id) == operator.id)
                .values(dashboard_at=now)
            )
        return
    seen_at = operator.last_seen_at
    if seen_at is not None and seen_at >= now - presence.SEEN_EVERY:
        return
    with write_session(rt.db) as db:
        presence.seen(db, operator.id, now)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_notice)
