"""The coordinators' figures: how long young people wait for a human, by week and by shift."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, render_template

from bot import figures
from bot.db import read_session
from bot.models import utcnow
from bot.runtime import runtime
from operators.auth import coordinator_required

bp = Blueprint("figures", __name__)
WEEKS = 12


@bp.get("/figures")
@coordinator_required
def index() -> str:
    """Crisis → first reply and hand-over → first reply: median, 90th percentile, worst."""
    rt = runtime()
    with read_session(rt.db) as db:
        found = figures.recent(db, utcnow(), WEEKS)
    return render_template(
        "figures.html",
        weeks=WEEKS,
        by_week=figures.by_week(found, ZoneInfo(rt.settings.service.timezone)),
        by_shift=figures.by_shift(found, rt.hours),
    )
