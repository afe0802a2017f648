"""The live stream: changes from the database as Server-Sent Events, resumable, bounded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from bot import activity
from bot.db import read_session, write_session
from bot.models import Activity, Operator, utcnow
from bot.runtime import Runtime
from operators import accounts
from tests.conftest import make_settings
from tests.dashboard.conftest import Dash, add_operator, waiting


def _events(raw: str) -> list[dict[str, Any]]:
    found = []
    for block in raw.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if fields.get("event") == "change":
            found.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return found


def _short_lived(database_url: str, rt: Runtime, seconds: int = 2) -> Flask:
    from bot.app import create_app

    settings = make_settings(
        database_url, SOS_DASHBOARD_LIVE_STREAM_SECONDS=seconds, SOS_DASHBOARD_LIVE_POLL_SECONDS=0.1
    )
    return create_app(rt=Runtime.create(settings, engine=rt.db))


def _latest(rt: Runtime) -> int:
    with read_session(rt.db) as session:
        return activity.latest_id(session)


def test_stream_sends_changes_after_the_given_id_then_ends(database_url: str, rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt).test_client())
    dash.login("anna")
    start = _latest(rt)
    cid = waiting(rt, "ciao", priority="crisis")
    began = time.monotonic()
    response = dash.get(f"/events?after={start}")
    raw = response.get_data(as_text=True)  # the stream ends by itself after its lifetime
    assert time.monotonic() - began < 30
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert raw.startswith("retry: ")
    events = _events(raw)
    assert any(
        e["kind"] == "crisis" and e["conversation"] == cid and e["priority"] == "crisis"
        for e in events
    )
    assert [e["id"] for e in events] == sorted({e["id"] for e in events})
    assert all(e["id"] > start for e in events)
    assert "ciao" not in raw and "whatsapp:" not in raw  # ids and kinds only


def test_stream_resumes_from_last_event_id(database_url: str, rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt, seconds=1).test_client())
    dash.login("anna")
    waiting(rt, "prima")
    middle = _latest(rt)
    second = waiting(rt, "dopo")
    events = _events(
        dash.get("/events", headers={"Last-Event-ID": str(middle)}).get_data(as_text=True)
    )
    assert events and all(e["id"] > middle for e in events)
    assert {e["conversation"] for e in events} == {second}


def test_stream_without_an_id_starts_from_now(database_url: str, rt: Runtime) -> None:
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt, seconds=1).test_client())
    dash.login("anna")
    waiting(rt, "vecchio")
    assert _events(dash.get("/events").get_data(as_text=True)) == []


class Stream:
    """An event stream read as it comes: each read runs the stream's polls in this thread."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.chunks = iter(response.response)
        self.raw = ""

    def until(self, seen: Callable[[list[dict[str, Any]]], bool]) -> None:
        """Read until seen(the events so far) holds; fail if the stream ends first."""
        while not seen(_events(self.raw)):
            chunk = next(self.chunks, None)
            assert chunk is not None, f"the stream ended first:\n{self.raw}"
            self.raw += chunk.decode() if isinstance(chunk, bytes) else chunk

    def rest(self) -> list[dict[str, Any]]:
        """Read to the end of the stream (its lifetime); every event it sent."""
        for chunk in self.chunks:
            self.raw += chunk.decode() if isinstance(chunk, bytes) else chunk
        self.response.close()
        return _events(self.raw)


def test_stream_sees_changes_written_while_it_runs(database_url: str, rt: Runtime) -> None:
    """As when the webhook runs in another process: the stream only reads the database."""
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt, seconds=4).test_client())
    dash.login("anna")
    start = _latest(rt)
    before = waiting(rt, "scrivo prima")
    stream = Stream(dash.get(f"/events?after={start}", buffered=False))
    stream.until(lambda events: any(e["conversation"] == before for e in events))
    # the stream has read the database at least once: what comes now comes while it runs
    during = waiting(rt, "arrivo mentre ascolti", priority="high")
    assert any(e["conversation"] == during for e in stream.rest())


def test_late_committed_changes_are_not_lost(database_url: str, rt: Runtime) -> None:
    """On PostgreSQL a lower id can commit after a higher one: recent rows are looked at again."""
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt, seconds=3).test_client())
    dash.login("anna")
    with write_session(rt.db) as session:
        activity.publish(session, "message", "a" * 32)
        activity.publish(session, "message", "b" * 32)
    with read_session(rt.db) as session:
        low, high = (a.id for a in activity.since(session, 0)[-2:])
    assert low is not None and high is not None
    with write_session(rt.db) as session:  # "low" is seen as not committed yet
        row = session.get(Activity, low)
        session.delete(row)
    stream = Stream(dash.get(f"/events?after={low - 1}", buffered=False))
    stream.until(lambda events: [e["id"] for e in events] == [high])  # "low" was not there
    with write_session(rt.db) as session:  # ...and now it commits
        session.add(Activity(id=low, at=utcnow(), kind="message", conversation_id="a" * 32))
    ids = [e["id"] for e in stream.rest()]
    assert sorted(ids) == [low, high] and len(ids) == 2


def test_stream_needs_a_login(client: Any, rt: Runtime) -> None:
    add_operator(rt, "anna")
    assert client.get("/events", headers={"Accept": "text/event-stream"}).status_code == 401


def test_pages_carry_the_last_event_id(dash_factory: Callable[..., Dash], rt: Runtime) -> None:
    add_operator(rt, "anna")
    waiting(rt)
    dash = dash_factory("anna")
    for path in ("/", "/password", "/simulator/"):  # no page replays old crises on load
        page = dash.get(path).text
        assert f'data-last-event="{_latest(rt)}"' in page and 'data-live="/events"' in page


def test_many_recent_changes_before_the_page_do_not_hold_back_new_ones(
    database_url: str, rt: Runtime
) -> None:
    add_operator(rt, "anna")
    dash = Dash(_short_lived(database_url, rt, seconds=2).test_client())
    dash.login("anna")
    with write_session(rt.db) as session:
        for i in range(600):  # a busy minute just before the page was drawn
            activity.publish(session, "message", f"{i:032x}")
    start = _latest(rt)
    with write_session(rt.db) as session:
        activity.publish(session, "crisis", "f" * 32, "crisis")
    events = _events(dash.get(f"/events?after={start}").get_data(as_text=True))
    assert [(e["kind"], e["conversation"]) for e in events] == [("crisis", "f" * 32)]


def test_an_open_stream_ends_when_the_account_is_disabled(database_url: str, rt: Runtime) -> None:
    anna = add_operator(rt, "anna")
    add_operator(rt, "carla", "coordinator")
    dash = Dash(_short_lived(database_url, rt, seconds=30).test_client())
    dash.login("anna")
    response = dash.get("/events")
    chunks = (c.decode() if isinstance(c, bytes) else c for c in response.response)
    assert next(chunks).startswith("retry: ")  # the stream is open
    with write_session(rt.db) as session:
        found = session.get(Operator, anna.id)
        assert found is not None
        accounts.set_active(session, found, False, by=None)
    waiting(rt, "arrivo dopo", priority="crisis")
    rest = "".join(chunks)  # ends by itself: within a second, not at its 30 s lifetime
    response.close()
    assert rest.rstrip().endswith("event: ended\ndata: {}")
