"""Coordinators' pages: operators, every conversation, the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlmodel import col, func, select
from werkzeug.wrappers import Response

from bot import audit
from bot.conversations import Status, held_count
from bot.db import read_session, write_session
from bot.models import AuditEvent, Contact, Conversation, Operator, utcnow
from bot.runtime import runtime
from operators import accounts, transcript
from operators.auth import coordinator_required, me

bp = Blueprint("admin", __name__)
PAGE = 100

ACTION_LABELS = {
    "viewed": "ha aperto",
    "claimed": "ha preso in carico",
    "replied": "ha risposto a",
    "reengaged": "ha inviato il ricontatto a",
    "noted": "ha annotato",
    "transferred": "ha passato",
    "released": "ha rimesso in coda",
    "returned_to_bot": "ha restituito al bot",
    "closed": "ha chiuso",
    "exported": "ha esportato",
    "address_revealed": "ha visto il contatto reale di",
    "login": "ha fatto l'accesso",
    "login_failed": "accesso non riuscito",
    "logout": "è uscito/a",
    "first_run": "ha configurato il servizio",
    "operator_added": "ha aggiunto un operatore",
    "service_added": "ha aggiunto un servizio",
    "service_changed": "ha modificato un servizio",
    "service_retired": "ha ritirato un servizio",
    "service_restored": "ha riattivato un servizio",
    "service_deleted": "ha eliminato un servizio",
    "services_imported": "servizi importati da file",
    "operator_updated": "ha modificato un operatore",
    "operator_disabled": "ha disattivato un operatore",
    "operator_enabled": "ha riattivato un operatore",
    "password_changed": "ha cambiato una password",
    "contact_erased": "dati cancellati su richiesta",
    "retention_purge": "conversazioni anonimizzate (conservazione)",
    "shift_started": "è entrato/a in turno",
    "shift_ended": "è uscito/a dal turno",
    "support_requested": "ha chiesto supporto per",
    "alert_sent": "allerta inviata per",
    "alert_acknowledged": "ha preso in carico l'allerta per",
    "oncall_updated": "ha modificato la reperibilità di un coordinatore",
    "triage_corrected": "ha corretto la lettura del bot in",
    "corrections_exported": "ha esportato le correzioni del bot",
}
STATUSES = (Status.WAITING, Status.LISTENER, Status.BOT, Status.CLOSED)


@bp.get("/operators")
@coordinator_required
def operators() -> str:
    """Listeners and coordinators, with their load."""
    rt = runtime()
    with read_session(rt.db) as db:
        people = accounts.list_all(db)
        loads = {o.id: held_count(db, o.id) for o in people}
    capacities = {o.id: accounts.capacity(o, rt.settings) for o in people}
    return render_template(
        "operators.html",
        people=people,
        loads=loads,
        capacities=capacities,
        roles=accounts.ROLE_LABELS,
        default_capacity=rt.settings.service.listener_capacity,
    )


@bp.post("/operators")
@coordinator_required
def add_operator() -> Any:
    """Add a listener or a coordinator with a first password."""
    form = request.form
    try:
        capacity = accounts.check_capacity(form.get("capacity"))
        with write_session(runtime().db) as db:
            operator = accounts.create(
                db,
                form.get("username", ""),
                form.get("password", ""),
                form.get("role", ""),
                display_name=form.get("display_name", ""),
                capacity=capacity,
                by=me().id,
            )
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.operators"))
    flash(f"Operatore «{operator.username}» aggiunto: comunicagli la password di persona.", "info")
    return redirect(url_for("admin.operators"))


def _operator(db: Any, operator_id: str) -> Operator:
    found = db.get(Operator, operator_id[:32])
    if found is None:
        abort(404)
    return found


@bp.post("/operators/<operator_id>/update")
@coordinator_required
def update_operator(operator_id: str) -> Response:
    """Change name, role or capacity."""
    form = request.form
    try:
        capacity = accounts.check_capacity(form.get("capacity"))
        role = accounts.check_role(form.get("role", ""))
        with write_session(runtime().db) as db:
            operator = _operator(db, operator_id)
            demoted = operator.role == "coordinator" and role != "coordinator" and operator.active
            if demoted and accounts.active_coordinators(db) <= 1:
                raise accounts.AccountError("Serve almeno un coordinatore attivo.")
            operator.display_name = form.get("display_name", "").strip()[:100]
            operator.role = role
            operator.capacity = capacity
            db.add(operator)
            audit.record(
                db,
                "operator_updated",
                operator_id=me().id,
                target=operator.id,
                role=role,
                capacity=capacity,
            )
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.operators"))
    flash("Dati dell'operatore salvati.", "info")
    return redirect(url_for("admin.operators"))


@bp.post("/operators/<operator_id>/active")
@coordinator_required
def set_active(operator_id: str) -> Response:
    """Disable an account (its conversations go back to the queue) or enable it again."""
    active = request.form.get("active") == "1"
    if not active and operator_id == me().id:
        flash("Non puoi disattivare il tuo stesso account.", "error")
        return redirect(url_for("admin.operators"))
    try:
        with write_session(runtime().db) as db:
            operator = _operator(db, operator_id)
            released = accounts.set_active(db, operator, active, by=me().id, now=utcnow())
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.operators"))
    if active:
        flash(f"«{operator.username}» è di nuovo attivo.", "info")
    else:
        flash(
            f"«{operator.username}» è disattivato; {len(released)} conversazioni rimesse in coda.",
            "info",
        )
    return redirect(url_for("admin.operators"))


@bp.post("/operators/<operator_id>/password")
@coordinator_required
def reset_password(operator_id: str) -> Response:
    """Give an operator a new password (their open logins end)."""
    try:
        with write_session(runtime().db) as db:
            operator = _operator(db, operator_id)
            accounts.set_password(db, operator, request.form.get("password", ""), by=me().id)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.operators"))
    flash(f"Nuova password impostata per «{operator.username}».", "info")
    return redirect(url_for("admin.operators"))


@bp.get("/conversations")
@coordinator_required
def conversations() -> str:
    """Every conversation, newest activity first, by status."""
    status = request.args.get("status", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with read_session(runtime().db) as db:
        query = select(Conversation, Contact).join(
            Contact, col(Conversation.contact_id) == Contact.id, isouter=True
        )
        if status in STATUSES:
            query = query.where(Conversation.status == status)
        rows = list(
            db.exec(
                query.order_by(col(Conversation.last_activity_at).desc())
                .offset((page - 1) * PAGE)
                .limit(PAGE + 1)
            )
        )
        names = transcript.operator_names(db)
    return render_template(
        "conversations.html",
        rows=rows[:PAGE],
        more=len(rows) > PAGE,
        page=page,
        status=status,
        statuses=STATUSES,
        names=names,
    )


@bp.get("/audit")
@coordinator_required
def audit_log() -> str:
    """Who did what, when (newest first; filter by operator, action or conversation)."""
    args = request.args
    before = args.get("before", type=int)
    with read_session(runtime().db) as db:
        query = select(AuditEvent)
        if args.get("operator"):
            query = query.where(AuditEvent.operator_id == args["operator"][:32])
        if args.get("action") in ACTION_LABELS:
            query = query.where(AuditEvent.action == args["action"])
        if args.get("conversation"):
            query = query.where(AuditEvent.conversation_id == args["conversation"][:32])
        if before:
            query = query.where(col(AuditEvent.id) < before)
        events = list(db.exec(query.order_by(col(AuditEvent.id).desc()).limit(PAGE + 1)))
        names = transcript.operator_names(db)
        people = accounts.list_all(db)
        total = int(db.exec(select(func.count()).select_from(AuditEvent)).one())
    return render_template(
        "audit.html",
        events=events[:PAGE],
        more=len(events) > PAGE,
        names=names,
        people=people,
        labels=ACTION_LABELS,
        args=args,
        total=total,
    )
