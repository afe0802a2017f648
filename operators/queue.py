"""The queue page: who waits, my conversations, and (for coordinators) everyone else's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, render_template

from bot import activity, arrivals, presence
from bot.db import read_session
from bot.models import utcnow
from bot.runtime import runtime
from operators import accounts, board
from operators.auth import is_coordinator, login_required, me

bp = Blueprint("queue", __name__)


def _board() -> dict[str, Any]:
    rt = runtime()
    operator = me()
    now = utcnow()
    warning = timedelta(minutes=rt.settings.dashboard.window_warning_minutes)
    with read_session(rt.db) as db:
        waiting = board.waiting(db, now, warning)
        mine = board.held(db, now, warning, by=operator.id)
        others = board.held(db, now, warning, not_by=operator.id) if is_coordinator() else []
        on_shift = presence.on_shift(db, rt.settings, now)
    unread = arrivals.backlog(rt)
    return {
        "unread": unread if unread.stale(now) else None,
        "on_shift": on_shift,
        "me_on_shift": any(p.operator.id == operator.id for p in on_shift),
        "waiting": waiting,
        "mine": mine,
        "others": others,
        "capacity": accounts.capacity(operator, rt.settings),
        "open_now": rt.hours.is_open(now),
        "crisis_waiting": sum(1 for item in waiting if item.crisis),
    }


@bp.get("/")
@login_required
def index() -> str:
    """The queue page (it keeps itself up to date through the live stream)."""
    with read_session(runtime().db) as db:
        last_event = activity.latest_id(db)
    return render_template("queue.html", last_event=last_event, **_board())


@bp.get("/queue")
@login_required
def fragment() -> str:
    """The queue's lists alone, for the page's script to swap in."""
    return render_template("_queue.html", **_board())
