"""The simulator: operators write as a young person on the `web` channel and watch the bot, the
queue and the listeners' replies work, with no phone and no provider."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response

from bot import activity
from bot.channel import Inbound
from bot.db import read_session
from bot.inbox import receive
from bot.models import Contact, Conversation
from bot.runtime import runtime
from operators import access, transcript
from operators.auth import login_required, me, wants_fragment

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
CHANNEL = "web"
MAX_TEXT = 4000


def _address(create: bool = False) -> str | None:
    """This browser's simulated young person (kept in the login session, never in a URL)."""
    address = session.get("sim")
    if address is None and create:
        address = session["sim"] = f"sim-{secrets.token_hex(6)}"
    return address if isinstance(address, str) else None


def _state() -> dict[str, Any]:
    address = _address()
    conversation = contact = None
    rows: list[Any] = []
    if address:
        with read_session(runtime().db) as db:
            contact = db.exec(
                select(Contact).where(Contact.channel == CHANNEL, Contact.address == address)
            ).first()
            if contact is not None:
                conversation = db.exec(
                    select(Conversation)
                    .where(Conversation.contact_id == contact.id)
                    .order_by(col(Conversation.opened_at).desc())
                ).first()
            if conversation is not None:
                rows = transcript.messages(db, conversation.id)
            names = transcript.operator_names(db)
    else:
        names = {}
    return {
        "contact": contact,
        "conversation": conversation,
        "messages": rows,
        "names": names,
        "can_open": conversation is not None and access.can_view(me(), conversation),
    }


@bp.get("/")
@login_required
def page() -> str:
    """Write as a young person; the answers appear here as they would on a phone."""
    with read_session(runtime().db) as db:
        last_event = activity.latest_id(db)
    return render_template("simulator.html", last_event=last_event, **_state())


@bp.get("/live")
@login_required
def live() -> str:
    return render_template("_simulator_live.html", **_state())


@bp.post("/send")
@login_required
def send() -> Any:
    """A message from the simulated young person, through the same inbox as every channel."""
    text = request.form.get("text", "").strip()
    if not text or len(text) > MAX_TEXT:
        message = "Scrivi un messaggio." if not text else f"Massimo {MAX_TEXT} caratteri."
        if wants_fragment():
            return jsonify(ok=False, message=message), 400
        flash(message, "error")
        return redirect(url_for("simulator.page"))
    address = _address(create=True)
    assert address is not None
    receive(
        runtime(),
        Inbound(channel=CHANNEL, address=address, text=text, external_id=f"sim-{uuid.uuid4().hex}"),
    )
    if wants_fragment():
        return jsonify(ok=True, message="")
    return redirect(url_for("simulator.page"))


@bp.post("/new")
@login_required
def new_person() -> Response:
    """Start again as another young person."""
    session.pop("sim", None)
    flash("Nuova persona simulata: scrivi il primo messaggio.", "info")
    return redirect(url_for("simulator.page"))
