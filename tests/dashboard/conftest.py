"""Dashboard fixtures: operators, logged-in clients that carry the CSRF token, waiting
conversations made the way the inbox makes them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlmodel import col, select

from bot.channel import Inbound
from bot.conversations import Priority, escalate
from bot.db import read_session, write_session
from bot.inbox import receive
from bot.models import Activity, AuditEvent, Conversation, Message, Operator, utcnow
from bot.runtime import Runtime
from operators import accounts

PASSWORD = "una-password-lunga"
_numbers = itertools.count(1)
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def add_operator(
    rt: Runtime,
    username: str,
    role: str = "listener",
    *,
    name: str = "",
    capacity: int | None = None,
    password: str = PASSWORD,
) -> Operator:
    with write_session(rt.db) as session:
        return accounts.create(
            session, username, password, role, display_name=name, capacity=capacity
        )


@dataclass
class Dash:
    """A browser-like client: logs in, keeps the CSRF token, posts forms with it."""

    client: Any
    token: str = ""

    def login(self, username: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self._token(page.text)},
        )
        self.refresh_token()
        return response

    def _token(self, html: str) -> str:
        found = CSRF.search(html)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def refresh_token(self) -> None:
        """Read the token from a page (it changes when a login starts)."""
        for path in ("/password", "/login", "/setup"):
            page = self.client.get(path)
            if page.status_code == 200:
                self.token = self._token(page.text)
                return
        raise AssertionError("no page with a CSRF token")

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        fetch: bool = False,
        **kw: Any,
    ) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        headers = kw.pop("headers", {})
        if fetch:
            headers["X-Requested-With"] = "fetch"
        return self.client.post(path, data=form, headers=headers, **kw)


@pytest.fixture
def dash_factory(app: Flask) -> Callable[[str | None], Dash]:
    """dash_factory("anna") → a client logged in as anna (None: not logged in)."""

    def make(username: str | None = None) -> Dash:
        dash = Dash(app.test_client())
        if username:
            response = dash.login(username)
            assert response.status_code == 302, response.text
        else:
            dash.refresh_token()
        return dash

    return make


@pytest.fixture
def team(rt: Runtime) -> dict[str, Operator]:
    """Two listeners and a coordinator."""
    return {
        "anna": add_operator(rt, "anna", name="Anna"),
        "bruno": add_operator(rt, "bruno", name="Bruno"),
        "carla": add_operator(rt, "carla", "coordinator", name="Carla"),
    }


def young(
    text: str, *, channel: str = "whatsapp", address: str | None = None, **kw: Any
) -> Inbound:
    number = next(_numbers)
    if address is None:
        address = (
            f"whatsapp:+39333{number:07d}"
            if channel == "whatsapp"
            else (f"ragazza{number}@example.org" if channel == "email" else f"sim-{number}")
        )
    return Inbound(
        channel=channel,
        address=address,
        text=text,
        external_id=kw.pop("external_id", f"SM{number:032d}"),
        **kw,
    )


def waiting(
    rt: Runtime,
    text: str = "ho bisogno di parlare con qualcuno",
    *,
    priority: str = "normal",
    at: datetime | None = None,
    reason: str | None = None,
    **kw: Any,
) -> str:
    """A young person writes and the conversation waits in the queue with this priority."""
    now = at or utcnow()
    receipt = receive(rt, young(text, **kw), now=now)
    assert receipt.conversation_id
    with write_session(rt.db) as session:
        conversation = session.get(Conversation, receipt.conversation_id)
        assert conversation is not None
        if conversation.status == "waiting" and conversation.priority != priority:
            conversation.status, conversation.priority, conversation.priority_rank = "bot", None, 0
        if conversation.status != "waiting":
            default = {"crisis": "crisis:suicide", "high": "personal:family"}
            escalate(
                rt,
                session,
                conversation,
                Priority(priority),
                reason or default.get(priority, "asked_for_person"),
                now,
            )
    return receipt.conversation_id


def conversation(rt: Runtime, conversation_id: str) -> Conversation:
    with read_session(rt.db) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found


def audit_actions(rt: Runtime, conversation_id: str | None = None) -> list[str]:
    with read_session(rt.db) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.id))
        if conversation_id:
            query = query.where(AuditEvent.conversation_id == conversation_id)
        return [e.action for e in session.exec(query)]


def audit_events(rt: Runtime, action: str) -> list[AuditEvent]:
    with read_session(rt.db) as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            )
        )


def activity_kinds(rt: Runtime, conversation_id: str) -> list[str]:
    with read_session(rt.db) as session:
        query = (
            select(Activity)
            .where(Activity.conversation_id == conversation_id)
            .order_by(col(Activity.id))
        )
        return [a.kind for a in session.exec(query)]


def listener_messages(rt: Runtime, conversation_id: str) -> list[Message]:
    with read_session(rt.db) as session:
        query = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.author == "listener")
            .order_by(col(Message.created_at))
        )
        return list(session.exec(query))
