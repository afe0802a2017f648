"""Live updates: the change feed (bot.activity) streamed as Server-Sent Events.

The stream reads the database, so it sees changes made by any process (a webhook in another
gunicorn worker, the worker process). On SQLite it reads every `dashboard.live_poll_seconds`; on
PostgreSQL it reads when a NOTIFY rings `changes` (bot.notify), and every
`database.push_safety_seconds` anyway. It ends after a while so a web thread is never held for
ever; the browser's EventSource reconnects and resumes from the last event id. It also ends,
with an `ended` event, within a second of its login ending (logout, account disabled, new
password).

Ids come from a sequence, and on PostgreSQL a transaction that took id 10 may commit after one
that took id 11: each poll also looks back a few seconds for such late rows and sends those it
has not sent yet (a repeated change only makes the page refresh once more).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

from flask import Blueprint, Response, request, session
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from bot import activity
from bot.db import read_session
from bot.models import Activity, utcnow
from bot.runtime import runtime
from operators import logins
from operators.auth import login_lifetime, login_required

bp = Blueprint("live", __name__)
HEARTBEAT_SECONDS = 15.0
LOGIN_CHECK_SECONDS = 1.0  # a stream ends within this of its login ending (logout, disabled)
LOOKBACK = timedelta(seconds=10)
LOOKBACK_IDS = 500
BATCH = 200


def changes_after(session: Session, last_id: int, sent: set[int], floor: int) -> list[Activity]:
    """Changes after last_id, plus recent ones below it that committed late (but never at or
    below floor, where the stream started); oldest first."""
    recent = and_(
        col(Activity.id) > max(floor, last_id - LOOKBACK_IDS),
        col(Activity.at) >= utcnow() - LOOKBACK,
    )
    query = (
        select(Activity)
        .where(or_(col(Activity.id) > last_id, recent))
        .order_by(col(Activity.id))
        .limit(BATCH + len(sent))
    )
    return [row for row in session.exec(query) if row.id not in sent][:BATCH]


def _start_after() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


@bp.get("/events")
@login_required
def events() -> Response:
    """Stream changes after Last-Event-ID (or ?after=N; else from now) as `change` events."""
    rt = runtime()
    cfg = rt.settings.dashboard
    after = _start_after()
    if after is None:
        with read_session(rt.db) as db:
            after = activity.latest_id(db)

    login_id, lifetime = str(session["login"]), login_lifetime()

    def logged_in() -> bool:
        with read_session(rt.db) as db:
            return logins.operator(db, login_id, utcnow(), lifetime) is not None

    poll = rt.wait_seconds(cfg.live_poll_seconds)  # PostgreSQL: woken by NOTIFY instead

    def stream(last_id: int) -> Iterator[str]:
        yield "retry: 2000\n\n"
        deadline = time.monotonic() + cfg.live_stream_seconds
        beat = checked = time.monotonic()
        sent: set[int] = set()
        floor = last_id  # never replay what came before the page was drawn
        read_at, next_read = -1, 0.0  # the bell's count at the last read; when to read anyway
        while time.monotonic() < deadline:
            if time.monotonic() - checked >= LOGIN_CHECK_SECONDS:
                checked = time.monotonic()
                if not logged_in():
                    yield "event: ended\ndata: {}\n\n"  # the page goes to the login form
                    return
            rung = rt.changes.rung
            if rung == read_at and time.monotonic() < next_read:
                rt.changes.wait(
                    read_at, min(next_read, checked + LOGIN_CHECK_SECONDS) - time.monotonic()
                )
                continue
            read_at, next_read = rung, time.monotonic() + poll
            with read_session(rt.db) as db:
                changes = changes_after(db, last_id, sent, floor)
            for change in changes:
                assert change.id is not None
                sent.add(change.id)
                last_id = max(last_id, change.id)
                data = json.dumps(
                    {
                        "kind": change.kind,
                        "conversation": change.conversation_id,
                        "priority": change.priority,
                    }
                )
                yield f"id: {change.id}\nevent: change\ndata: {data}\n\n"
            sent = {i for i in sent if i > last_id - LOOKBACK_IDS}
            if time.monotonic() - beat >= HEARTBEAT_SECONDS:
                beat = time.monotonic()
                yield ": heartbeat\n\n"

    return Response(
        stream(after),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
