"""Coordinators read the listeners' triage corrections, to improve the content pack."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

from bot import audit, corrections
from bot.db import read_session, write_session
from bot.runtime import runtime
from operators.auth import coordinator_required, me

bp = Blueprint("corrections", __name__, url_prefix="/triage")
SHOWN = 500


@bp.get("/corrections")
@coordinator_required
def index() -> str:
    """The corrections, newest first, with the count of each category."""
    with read_session(runtime().db) as db:
        rows = corrections.list_all(db)
    return render_template(
        "corrections.html",
        rows=rows[:SHOWN],
        total=len(rows),
        counts=corrections.counts(rows),
        labels=corrections.CATEGORIES,
    )


@bp.get("/corrections.csv")
@coordinator_required
def download() -> Response:
    """Every correction as CSV (written in the audit log)."""
    with write_session(runtime().db) as db:
        rows = corrections.list_all(db)
        audit.record(db, "corrections_exported", operator_id=me().id, rows=len(rows))
    return Response(
        corrections.as_csv(rows),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="correzioni-triage.csv"'},
    )
