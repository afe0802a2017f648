"""A location a young person shared (WhatsApp): what a listener in a crisis needs most, and
personal data. The label, the coordinates and the map link are one audited click away, on the
conversation page and on the queue card of a crisis; once this login has opened a location it
stays open for it. The location lives in the message, so retention and erasure remove it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, abort, redirect, request, session, url_for
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from bot import audit
from bot.db import write_session
from bot.models import Conversation, Message
from bot.runtime import runtime
from operators import access
from operators.auth import login_required, me

bp = Blueprint("places", __name__, url_prefix="/conversations")
SESSION_KEY = "places"  # ids of the messages whose location this login opened
MAX_OPENED = 100


@dataclass(frozen=True)
class Place:
    message_id: str
    latitude: float
    longitude: float
    label: str

    @property
    def coordinates(self) -> str:
        return f"{self.latitude:.6f}, {self.longitude:.6f}"

    @property
    def map_url(self) -> str:
        lat, lon = f"{self.latitude:.6f}", f"{self.longitude:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def of(message_id: str, media: Sequence[Any] | None) -> Place | None:
    """The location among a message's media, if any."""
    for item in media or []:
        if not isinstance(item, dict) or item.get("type") != "location":
            continue
        try:
            lat, lon = float(item["latitude"]), float(item["longitude"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180:
            return Place(message_id, lat, lon, str(item.get("label") or "")[:200])
    return None


def latest(session: Session, conversation_ids: list[str]) -> dict[str, Place]:
    """The last location each of these conversations received."""
    if not conversation_ids:
        return {}
    query = (
        select(Message.id, Message.conversation_id, Message.media)
        .where(col(Message.conversation_id).in_(conversation_ids), Message.direction == "in")
        .order_by(col(Message.created_at))
    )
    found: dict[str, Place] = {}
    for message_id, conversation_id, media in session.exec(query):
        place = of(message_id, media)
        if place is not None:
            found[conversation_id] = place
    return found


def opened() -> set[str]:
    return set(session.get(SESSION_KEY, []))


@bp.post("/<conversation_id>/places/<message_id>")
@login_required
def open_place(conversation_id: str, message_id: str) -> Response:
    """Show a shared location to this login (written in the audit log)."""
    with write_session(runtime().db) as db:
        conversation = db.get(Conversation, conversation_id[:32])
        message = db.get(Message, message_id[:32])
        if conversation is None or message is None or message.conversation_id != conversation.id:
            abort(404)
        if not access.can_view(me(), conversation):
            abort(403)
        if of(message.id, message.media) is None:
            abort(404)
        audit.record(
            db,
            "location_opened",
            operator_id=me().id,
            conversation_id=conversation.id,
            message=message.id,
        )
    shown = [m for m in session.get(SESSION_KEY, []) if m != message.id][-(MAX_OPENED - 1) :]
    session[SESSION_KEY] = [*shown, message.id]
    if request.form.get("back") == "queue":
        return redirect(url_for("queue.index") + f"#place-{message.id}")
    return redirect(
        url_for("conversation.view", conversation_id=conversation.id) + f"#m-{message.id}"
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(of, "place_of")
    app.add_template_global(opened, "opened_places")  # macros see globals, not the context
