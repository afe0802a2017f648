"""Asking for support: a listener calls the coordinators; a coordinator follows the conversation
live (without taking it over) and writes notes that only its listener and the coordinators see."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, request, url_for
from sqlmodel import Session, col, select

import bot.alerts as alerting
from bot import activity, audit
from bot.conversations import Status
from bot.db import read_session, write_session
from bot.models import Alert, Conversation, Note, utcnow
from bot.runtime import runtime
from operators import access
from operators.auth import login_required, me, wants_fragment
from operators.replies import MAX_NOTE

bp = Blueprint("support", __name__, url_prefix="/conversations")


def _answer(conversation_id: str, message: str, *, ok: bool = True) -> Any:
    if wants_fragment():
        return jsonify(ok=ok, message=message), 200 if ok else 409
    flash(message, "info" if ok else "error")
    return redirect(url_for("conversation.view", conversation_id=conversation_id))


def _locked(db: Session, conversation_id: str) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id[:32]).with_for_update()
    conversation = db.exec(query).first()
    if conversation is None:
        abort(404)
    if not access.can_view(me(), conversation):
        abort(403)
    return conversation


@bp.post("/<conversation_id>/support")
@login_required
def ask(conversation_id: str) -> Any:
    """ "Chiedi supporto": the coordinators on call hear it at once."""
    rt = runtime()
    with write_session(rt.db) as db:
        conversation = _locked(db, conversation_id)
        if not access.holds(me(), conversation):
            return _answer(
                conversation_id,
                "Puoi chiedere supporto per le conversazioni che hai in carico.",
                ok=False,
            )
        alerting.request_support(rt, db, conversation, me(), utcnow())
    rt.wake_outbox()
    return _answer(conversation_id, "Richiesta di supporto inviata ai coordinatori.")


@bp.post("/<conversation_id>/support-note")
@login_required
def note(conversation_id: str) -> Any:
    """A coordinator's note for the listener who holds the conversation, and nobody else."""
    body = request.form.get("body", "").strip()
    if me().role != "coordinator":
        abort(403)
    with write_session(runtime().db) as db:
        conversation = _locked(db, conversation_id)
        if conversation.status != Status.LISTENER or conversation.listener_id is None:
            return _answer(
                conversation_id, "Nessun volontario ha in carico questa conversazione.", ok=False
            )
        if not body or len(body) > MAX_NOTE:
            return _answer(
                conversation_id, f"Scrivi una nota (massimo {MAX_NOTE} caratteri).", ok=False
            )
        found = Note(
            conversation_id=conversation.id,
            operator_id=me().id,
            body=body,
            created_at=utcnow(),
            for_operator_id=conversation.listener_id,
        )
        db.add(found)
        db.flush()
        audit.record(
            db,
            "noted",
            operator_id=me().id,
            conversation_id=conversation.id,
            note=found.id,
            to=conversation.listener_id,
        )
        activity.publish(db, "note", conversation.id)
    return _answer(conversation_id, "Nota inviata al volontario.")


def open_requests(conversation_id: str) -> list[Alert]:
    """Support requests for the conversation that no coordinator has taken in hand."""
    with read_session(runtime().db) as db:
        return list(
            db.exec(
                select(Alert)
                .where(
                    Alert.conversation_id == conversation_id,
                    Alert.kind == alerting.SUPPORT,
                    col(Alert.acknowledged_at).is_(None),
                )
                .order_by(col(Alert.created_at))
            )
        )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["support_requests"] = open_requests
