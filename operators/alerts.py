"""Alerts in the dashboard: the list, the page an alert's link opens, and acknowledging it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from sqlmodel import Session, col, select

import bot.alerts as alerting
from bot.db import read_session, write_session
from bot.models import Alert, Contact, Conversation, utcnow
from bot.runtime import runtime
from operators import transcript
from operators.auth import coordinator_required, me, wants_fragment

bp = Blueprint("alerts", __name__)
RECENT = 100
KIND_LABELS = {
    alerting.UNANSWERED: "Crisi senza risposta",
    alerting.SUPPORT: "Richiesta di supporto",
}


def _found(db: Session, alert_id: str) -> Alert:
    alert = db.get(Alert, alert_id[:32])
    if alert is None:
        abort(404)
    return alert


def _pseudonyms(db: Session, alerts: list[Alert]) -> dict[str, str]:
    ids = {a.conversation_id for a in alerts}
    query = (
        select(Conversation.id, Contact.pseudonym)
        .join(Contact, col(Conversation.contact_id) == Contact.id)
        .where(col(Conversation.id).in_(ids))
    )
    return dict(db.exec(query).all())


@bp.get("/alerts")
@coordinator_required
def index() -> str:
    """The latest alerts, open ones first."""
    with read_session(runtime().db) as db:
        found = list(db.exec(select(Alert).order_by(col(Alert.created_at).desc()).limit(RECENT)))
        found.sort(key=lambda a: a.acknowledged_at is not None)
        pseudonyms = _pseudonyms(db, found)
        names = transcript.operator_names(db)
    return render_template(
        "alerts.html", alerts=found, pseudonyms=pseudonyms, names=names, kinds=KIND_LABELS
    )


@bp.get("/alerts/<alert_id>")
@coordinator_required
def view(alert_id: str) -> str:
    """Where an alert's link lands: what happened, who was called, and "preso in carico"."""
    with read_session(runtime().db) as db:
        alert = _found(db, alert_id)
        conversation = db.get(Conversation, alert.conversation_id)
        pseudonyms = _pseudonyms(db, [alert])
        names = transcript.operator_names(db)
    return render_template(
        "alert.html",
        alert=alert,
        conversation=conversation,
        pseudonym=pseudonyms.get(alert.conversation_id, "anonimo"),
        names=names,
        kinds=KIND_LABELS,
        now=utcnow(),
    )


@bp.post("/alerts/<alert_id>/ack")
@coordinator_required
def acknowledge(alert_id: str) -> Any:
    """Take the alert in hand (written in the audit log)."""
    with write_session(runtime().db) as db:
        alert = _found(db, alert_id)
        first = alerting.acknowledge(db, alert, me(), utcnow())
        who = transcript.operator_names(db).get(alert.acknowledged_by or "", "—")
    message = "Allerta presa in carico." if first else f"{who} l'aveva già presa in carico."
    if wants_fragment():
        return jsonify(ok=True, message=message)
    flash(message, "info")
    return redirect(url_for("alerts.view", alert_id=alert.id))
