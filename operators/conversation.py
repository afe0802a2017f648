"""A conversation: history, and what a listener does with it (claim, reply, notes, transfer,
release, give back to the bot, close)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlmodel import Session, select
from werkzeug.wrappers import Response

from bot import activity, audit, conversations, corrections, feedback, profile, referrals
from bot.conversations import Refused
from bot.db import read_session, write_session
from bot.models import Contact, Conversation, Operator, utcnow
from bot.runtime import runtime
from operators import access, accounts, directory, replies, transcript, window
from operators.auth import coordinator_required, login_required, me, wants_fragment
from operators.catalog import Catalog
from operators.formatting import clock
from operators.handover import HandoverError, explain

bp = Blueprint("conversation", __name__, url_prefix="/conversations")


def _catalog() -> Catalog:
    found: Catalog = current_app.extensions["sos_catalog"]
    return found


def _visible(db: Session, conversation_id: str, *, lock: bool = False) -> Conversation:
    """The conversation if this operator may see it; 404 or 403 otherwise.

    lock: hold the row until the transaction ends (actions that depend on who holds it).
    """
    query = select(Conversation).where(Conversation.id == conversation_id[:32])
    conversation = db.exec(query.with_for_update() if lock else query).first()
    if conversation is None:
        abort(404)
    if not access.can_view(me(), conversation):
        abort(403)
    return conversation


def _done(
    conversation_id: str,
    message: str,
    *,
    ok: bool = True,
    to_queue: bool = False,
    status: int = 200,
) -> Any:
    """Answer an action: JSON for the page's script, else a message and a redirect."""
    if wants_fragment():
        return jsonify(ok=ok, message=message), status if ok else 409
    flash(message, "info" if ok else "error")
    if to_queue:
        return redirect(url_for("queue.index"))
    return redirect(url_for("conversation.view", conversation_id=conversation_id))


def _act(
    conversation_id: str,
    action: Callable[[Session, Operator], str],
    *,
    to_queue_on_error: bool = False,
    to_queue: bool = False,
) -> Any:
    """Run one hand-over action in a write transaction; errors become messages."""
    rt = runtime()
    try:
        with write_session(rt.db) as db:
            message = action(db, me())
    except Refused as refused:
        said = explain(refused, me())
        return _done(conversation_id, said.message, ok=False, to_queue=to_queue_on_error)
    except HandoverError as exc:
        return _done(conversation_id, exc.message, ok=False, to_queue=to_queue_on_error)
    rt.wake_outbox()
    return _done(conversation_id, message, to_queue=to_queue)


def _capacities(db: Session) -> dict[str, int]:
    settings = runtime().settings
    return {o.id: accounts.capacity(o, settings) for o in db.exec(select(Operator))}


def rights(conversation: Conversation, contact: Contact | None) -> str | None:
    """What the young person asked of their data, for the notice on the page."""
    if conversation.outcome == "erased" or (contact is not None and contact.erase_requested_at):
        return "erased"
    if contact is not None and contact.erase_due_at:
        return "erase_pending"
    if contact is not None and contact.opted_out_at:
        return "stopped"
    return None


def _page(db: Session, conversation: Conversation) -> dict[str, Any]:
    rt = runtime()
    operator = me()
    now = utcnow()
    contact = transcript.contact_of(db, conversation)
    whatsapp = window.applies(conversation) and contact is not None
    closes = window.closes_at(conversation) if whatsapp else None
    warning = timedelta(minutes=rt.settings.dashboard.window_warning_minutes)
    asked = rights(conversation, contact)
    return {
        "conversation": conversation,
        "contact": contact,
        "messages": transcript.messages(db, conversation.id),
        "notes": transcript.notes(db, conversation.id, viewer=operator),
        "names": transcript.operator_names(db),
        "holder": db.get(Operator, conversation.listener_id) if conversation.listener_id else None,
        "holds": access.holds(operator, conversation),
        "can_manage": access.can_manage(operator, conversation),
        "whatsapp": whatsapp,
        "window_closes_at": closes,
        "window_open": (not whatsapp) or window.is_open(conversation, now),
        "window_closing": bool(whatsapp and window.closing_soon(conversation, now, warning)),
        # the page reloads when this changes: who holds it, or what the young person asked
        "state": f"{conversation.status}:{conversation.listener_id or ''}:{asked or ''}",
        "rights": asked,
        "read_by_bot": corrections.read_by_bot(db, conversation.id),
        "correction_labels": corrections.CATEGORIES,
    }


@bp.get("/<conversation_id>")
@login_required
def view(conversation_id: str) -> str:
    """The whole conversation, with the actions this operator may take."""
    rt = runtime()
    operator = me()
    with read_session(rt.db) as db:
        last_event = activity.latest_id(db)  # first: changes after it reach the page live
        conversation = _visible(db, conversation_id)
        page = _page(db, conversation)
        earlier = transcript.previous(db, conversation, viewer=operator)
        capacities = _capacities(db)
        loads = {
            o.id: conversations.held_count(db, o.id) for o in accounts.list_all(db) if o.active
        }
        colleagues = [
            o for o in accounts.list_all(db) if o.active and o.id != conversation.listener_id
        ]
        contact_lang = page["contact"].language if page["contact"] else None
        services = directory.cards(db, contact_lang) if page["holds"] else []
    revealed = None
    if operator.role == "coordinator" and session.pop("reveal", None) == conversation.id:
        revealed = page["contact"]
    with write_session(rt.db) as db:
        audit.record(
            db,
            "viewed",
            operator_id=operator.id,
            conversation_id=conversation.id,
            **({"address_shown": True} if revealed else {}),
        )
    lang = page["contact"].language if page["contact"] else None
    quick = [(q.id, q.label, q.for_language(lang)) for q in _catalog().quick_replies]
    return render_template(
        "conversation.html",
        **page,
        earlier=earlier,
        colleagues=colleagues,
        loads=loads,
        capacities=capacities,
        quick_replies=quick,
        catalog=_catalog(),
        revealed=revealed,
        last_event=last_event,
        services=services,
        zones=rt.settings.directory.zones,
        age_bands=profile.AGE_BANDS,
    )


@bp.get("/<conversation_id>/live")
@login_required
def live(conversation_id: str) -> str:
    """The parts of the page that change (status, messages, notes), for the page's script."""
    with read_session(runtime().db) as db:
        conversation = _visible(db, conversation_id)
        return render_template("_conversation_fragment.html", **_page(db, conversation))


@bp.post("/<conversation_id>/claim")
@login_required
def claim(conversation_id: str) -> Any:
    """Take a waiting conversation (exactly one of two listeners at once gets it)."""
    settings = runtime().settings

    def action(db: Session, operator: Operator) -> str:
        capacity = accounts.capacity(operator, settings)
        conversations.claim(db, conversation_id, operator, capacity, utcnow())
        return "Conversazione presa in carico."

    return _act(conversation_id, action, to_queue_on_error=True)


@bp.post("/<conversation_id>/reply")
@login_required
def reply(conversation_id: str) -> Any:
    """Send a message to the young person on their channel (through the outbox)."""
    body = request.form.get("body", "")
    quick_id = request.form.get("quick", "")
    service_id = request.form.get("service", "")
    topic = request.form.get("service_topic", "") or None

    def action(db: Session, operator: Operator) -> str:
        conversation = _visible(db, conversation_id, lock=True)
        quick = _catalog().quick_reply(quick_id) if quick_id else None
        contact = transcript.contact_of(db, conversation)
        text = body
        if quick is not None and not body.strip():
            text = quick.for_language(contact.language if contact else None)
        used = (
            quick.id
            if quick
            and text.strip() == quick.for_language(contact.language if contact else None).strip()
            else None
        )
        if service_id:  # the card of a service: counted as a referral by a listener
            try:
                referrals.record(
                    db, conversation, service_id, by="listener", now=utcnow(), topic=topic
                )
            except referrals.ReferralError as exc:
                raise HandoverError(exc.message) from exc
        replies.reply(db, conversation, operator, text, utcnow(), quick_reply=used)
        return "Messaggio in invio."

    return _act(conversation_id, action)


@bp.post("/<conversation_id>/reengage")
@login_required
def reengage(conversation_id: str) -> Any:
    """Past WhatsApp's 24 hours: send the approved invitation to write again."""
    settings = runtime().settings

    def action(db: Session, operator: Operator) -> str:
        replies.reengage(db, _visible(db, conversation_id, lock=True), operator, utcnow(), settings)
        return "Messaggio di ricontatto in invio."

    return _act(conversation_id, action)


@bp.post("/<conversation_id>/note")
@login_required
def note(conversation_id: str) -> Any:
    """A private note for colleagues (never sent)."""
    body = request.form.get("body", "")

    def action(db: Session, operator: Operator) -> str:
        replies.add_note(db, _visible(db, conversation_id, lock=True), operator, body, utcnow())
        return "Nota salvata."

    return _act(conversation_id, action)


@bp.post("/<conversation_id>/transfer")
@login_required
def transfer(conversation_id: str) -> Any:
    """Hand the conversation to another listener."""
    target_id = request.form.get("to", "")

    def action(db: Session, operator: Operator) -> str:
        _visible(db, conversation_id)
        target = conversations.transfer(
            db, conversation_id, operator, target_id, _capacities(db), utcnow()
        )
        return f"Conversazione passata a {accounts.name(target)}."

    mine_after = target_id == me().id
    return _act(conversation_id, action, to_queue=not mine_after and me().role != "coordinator")


@bp.post("/<conversation_id>/release")
@login_required
def release(conversation_id: str) -> Any:
    """Put the conversation back in the queue, in its place."""

    def action(db: Session, operator: Operator) -> str:
        _visible(db, conversation_id)
        conversations.release(db, conversation_id, operator, utcnow())
        return "Conversazione rimessa in coda."

    return _act(conversation_id, action, to_queue=True)


@bp.post("/<conversation_id>/bot")
@login_required
def give_back(conversation_id: str) -> Any:
    """Let the bot answer again."""

    def action(db: Session, operator: Operator) -> str:
        _visible(db, conversation_id)
        conversations.give_back(db, conversation_id, operator, utcnow())
        return "Conversazione restituita al bot."

    return _act(conversation_id, action, to_queue=True)


@bp.post("/<conversation_id>/close")
@login_required
def close(conversation_id: str) -> Any:
    """Close with an outcome, topic tags and the anonymous profile."""
    catalog = _catalog()
    outcome = request.form.get("outcome", "")
    topics = list(dict.fromkeys(request.form.getlist("topics")))
    correction = request.form.get("correction", "")
    form = request.form
    zones = runtime().settings.directory.zones

    def action(db: Session, operator: Operator) -> str:
        conversation = _visible(db, conversation_id)
        if outcome not in {o.id for o in catalog.outcomes}:
            raise HandoverError("Scegli un esito per chiudere la conversazione.")
        unknown = set(topics) - {t.id for t in catalog.topics}
        if unknown:
            raise HandoverError("Tema sconosciuto: ricarica la pagina e riprova.")
        if correction and correction not in corrections.CATEGORIES:
            raise HandoverError("Correzione sconosciuta: ricarica la pagina e riprova.")
        try:
            profile.note(
                conversation,
                age_band=form.get("age_band", ""),
                zone=form.get("zone", ""),
                returning=form.get("returning", ""),
                zones=zones,
            )
        except profile.ProfileError as exc:
            raise HandoverError(str(exc)) from exc
        now = utcnow()
        conversations.close_by(db, conversation_id, operator, outcome, topics, now)
        referrals.settle_topics(db, conversation)
        feedback.ask(
            runtime(), db, conversation, now, crisis_outcome=catalog.crisis_outcome(outcome)
        )
        if correction and corrections.read_by_bot(db, conversation.id):
            corrections.record(db, conversation, operator, correction, utcnow())
        return "Conversazione chiusa. Grazie!"

    return _act(conversation_id, action, to_queue=True)


@bp.post("/<conversation_id>/correction")
@login_required
def correct(conversation_id: str) -> Any:
    """Mark the bot's reading of a message as wrong (a triage correction)."""
    category = request.form.get("category", "")
    message_id = request.form.get("message", "")[:32] or None

    def action(db: Session, operator: Operator) -> str:
        conversation = _visible(db, conversation_id)
        try:
            corrections.record(
                db, conversation, operator, category, utcnow(), message_id=message_id
            )
        except corrections.CorrectionError as exc:
            raise HandoverError(str(exc)) from exc
        return "Grazie: la correzione aiuta a migliorare il bot."

    return _act(conversation_id, action)


@bp.post("/<conversation_id>/reveal")
@coordinator_required
def reveal(conversation_id: str) -> Response:
    """Show the real phone number or address once (coordinators; written in the audit log)."""
    with write_session(runtime().db) as db:
        conversation = _visible(db, conversation_id)
        audit.record(db, "address_revealed", operator_id=me().id, conversation_id=conversation.id)
    session["reveal"] = conversation.id
    return redirect(url_for("conversation.view", conversation_id=conversation.id))


@bp.get("/<conversation_id>/export")
@coordinator_required
def export(conversation_id: str) -> Response:
    """Download the transcript as text (pseudonym only; written in the audit log)."""
    with read_session(runtime().db) as db:
        conversation = _visible(db, conversation_id)
        asked = rights(conversation, transcript.contact_of(db, conversation))
    if asked in ("erased", "erase_pending"):  # never a copy of what they asked to erase
        flash(
            "Ha chiesto di cancellare i suoi dati: la conversazione non si può esportare.", "error"
        )
        return redirect(url_for("conversation.view", conversation_id=conversation.id))
    with write_session(runtime().db) as db:
        conversation = _visible(db, conversation_id)
        text = transcript.as_text(
            conversation,
            transcript.contact_of(db, conversation),
            transcript.messages(db, conversation.id),
            transcript.operator_names(db),
            clock,
        )
        audit.record(db, "exported", operator_id=me().id, conversation_id=conversation.id)
    filename = f"conversazione-{conversation.id[:8]}.txt"
    return Response(
        text,
        mimetype="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
