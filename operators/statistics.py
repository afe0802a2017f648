"""The emerging-needs statistics for coordinators: the page, the bulletin, the CSV files.

Listeners do not see them (coordinator_required on every route). A period is a month
(?month=2026-11) or a range of days (?from=…&to=…); by default the last full month, always
against the period before it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.wrappers import Response

from bot import audit
from bot.db import read_session, write_session
from bot.models import utcnow
from bot.runtime import Runtime, runtime
from bot.stats import Statistics, period
from bot.stats.period import Period, PeriodError
from operators import bulletin
from operators.auth import coordinator_required, me
from operators.catalog import Catalog

bp = Blueprint("statistics", __name__, url_prefix="/statistics")


def _period() -> Period:
    """The period the request asks for (400 with the reason when it cannot be read)."""
    zone = ZoneInfo(runtime().settings.service.timezone)
    try:
        if request.args.get("from") or request.args.get("to"):
            return period.days(request.args.get("from", ""), request.args.get("to", ""), zone)
        if request.args.get("month"):
            return period.month(request.args["month"], zone)
    except PeriodError as exc:
        abort(400, description=str(exc))
    return period.last_full_month(utcnow(), zone)


def _catalog() -> Catalog:
    found: Catalog = current_app.extensions["sos_catalog"]
    return found


def _query(p: Period) -> dict[str, str]:
    if p.whole_month:
        return {"month": f"{p.start:%Y-%m}"}
    return {"from": p.start.isoformat(), "to": bulletin.last_day(p.end)}


@bp.get("")
@coordinator_required
def index() -> str:
    """The statistics of a period, with charts and the numbers beside them."""
    rt = runtime()
    chosen = _period()
    with read_session(rt.db) as db:
        found = bulletin.collect(db, rt, _catalog(), chosen)
    return render_template(
        "statistics.html", stats=found, charts=bulletin.drawn(found), query=_query(chosen)
    )


def _exported(rt: Runtime, chosen: Period, form: str) -> Statistics:
    """The bulletin's figures for the period, the export written to the audit log."""
    with write_session(rt.db) as db:
        found = bulletin.collect(db, rt, _catalog(), chosen)
        audit.record(db, "statistics_exported", operator_id=me().id, format=form, period=chosen.key)
    return found


@bp.get("/bulletin")
@coordinator_required
def printable() -> str:
    """The bulletin for the network: one printable page, no names."""
    rt = runtime()
    chosen = _period()
    found = _exported(rt, chosen, "html")
    return bulletin.html(
        found, service_name=rt.settings.service.name, now=utcnow(), standalone=False
    )


@bp.get("/bulletin.zip")
@coordinator_required
def csv_files() -> Response:
    """The bulletin's tables as CSV files, one per table, in a zip (docs/statistics.md)."""
    rt = runtime()
    chosen = _period()
    found = _exported(rt, chosen, "csv")
    name = f"statistiche-{chosen.key}.zip"
    return Response(
        bulletin.zipped(found),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
