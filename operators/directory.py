"""The services directory pages: everyone reads and searches it; coordinators add, edit, retire
or delete services (every change in the audit log), and see which need checking again."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from bot import directory, referrals
from bot.db import read_session, write_session
from bot.directory import DirectoryError
from bot.models import Service as Row
from bot.models import utcnow
from bot.runtime import runtime
from flows import render
from flows.directory import CONTACT_FIELDS, LIMITS, MAX_AGE, Service
from operators import accounts
from operators.auth import coordinator_required, login_required, me
from operators.catalog import Catalog

bp = Blueprint("directory", __name__, url_prefix="/services")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELD_LABELS = {
    "phone": "Telefono",
    "email": "E-mail",
    "address": "Indirizzo",
    "web": "Sito web",
    "hours": "Orari di apertura",
}


def _catalog() -> Catalog:
    found: Catalog = current_app.extensions["sos_catalog"]
    return found


def _zones() -> list[str]:
    return list(runtime().settings.directory.zones)


def matches(row: Row, *, text: str, topic: str, zone: str) -> bool:
    """The directory's search: words in the name or description, a topic, a zone."""
    if topic and topic not in row.topics:
        return False
    if zone and row.zones and zone not in row.zones:
        return False
    words = text.lower().split()
    haystack = f"{row.name} {row.about_it} {row.about_en}".lower()
    return all(w in haystack for w in words)


def cards(db: Session, lang: str | None) -> list[dict[str, Any]]:
    """The active services with the card a listener sends, in the young person's language."""
    pack = runtime().pack
    return [
        {"row": row, "card": render.service_card(pack, directory.record(row), lang or "it")}
        for row in directory.rows(db)
        if row.active
    ]


@bp.get("/")
@login_required
def index() -> str:
    """The directory: search by words, filter by topic or zone; retired services on request."""
    args = request.args
    text, topic, zone = args.get("q", "")[:100], args.get("topic", ""), args.get("zone", "")
    retired = args.get("retired") == "1"
    now = utcnow()
    months = runtime().settings.directory.stale_months
    with read_session(runtime().db) as db:
        rows = [
            r
            for r in directory.rows(db)
            if (r.active or retired) and matches(r, text=text, topic=topic, zone=zone)
        ]
        counts = referrals.counts(db)
    stale = {r.id for r in rows if r.active and directory.stale(r, now, months)}
    return render_template(
        "services.html",
        rows=rows,
        counts=counts,
        stale=stale,
        months=months,
        catalog=_catalog(),
        zones=_zones(),
        q=text,
        topic=topic,
        zone=zone,
        retired=retired,
    )


@bp.get("/<service_id>")
@login_required
def view(service_id: str) -> str:
    """One service: its card, its contacts and, for coordinators, the history of its changes."""
    with read_session(runtime().db) as db:
        row = directory.get(db, service_id)
        if row is None:
            abort(404)
        events = directory.history(db, row.id) if me().role == "coordinator" else []
        names = {o.id: accounts.name(o) for o in accounts.list_all(db)}
        count = directory.referral_count(db, row.id)
    months = runtime().settings.directory.stale_months
    stale = directory.stale(row, utcnow(), months)
    return render_template(
        "service.html",
        row=row,
        events=events,
        names=names,
        count=count,
        stale=stale,
        months=months,
        catalog=_catalog(),
        labels=FIELD_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@coordinator_required
def add() -> Any:
    """Add a service."""
    if request.method == "GET":
        return _form(None, {}, [])
    with read_session(runtime().db) as db:
        service_id = _new_id(db, request.form.get("name", ""))
    return _save(None, service_id)


@bp.route("/<service_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit(service_id: str) -> Any:
    """Change a service."""
    with read_session(runtime().db) as db:
        row = directory.get(db, service_id)
    if row is None:
        abort(404)
    if request.method == "GET":
        return _form(row, {}, [])
    return _save(row, row.id)


def _save(row: Row | None, service_id: str) -> Any:
    form = request.form
    service, errors = read_form(
        form,
        service_id,
        previous=row,
        zones=_zones(),
        topics=[t.id for t in _catalog().topics],
        checker=accounts.name(me()),
    )
    if service is None:
        return _form(row, form, errors), 400
    rt = runtime()
    try:
        with write_session(rt.db) as db:
            directory.save(db, service, operator_id=me().id, now=utcnow(), new=row is None)
    except DirectoryError as exc:
        return _form(row, form, [exc.message]), 409
    directory.changed(rt.db)
    flash("Servizio aggiunto." if row is None else "Modifiche salvate.", "info")
    return redirect(url_for("directory.view", service_id=service.id))


def _form(row: Row | None, form: Mapping[str, Any], errors: list[str]) -> str:
    return render_template(
        "service_form.html",
        row=row,
        form=form,
        errors=errors,
        catalog=_catalog(),
        zones=_zones(),
        labels=FIELD_LABELS,
        limits=LIMITS,
    )


@bp.post("/<service_id>/retire")
@coordinator_required
def retire(service_id: str) -> Response:
    """Retire a service: nobody is sent there any more; its referrals still count."""
    return _change(
        service_id,
        lambda db: directory.set_active(db, service_id, False, operator_id=me().id, now=utcnow()),
        "Servizio ritirato: non viene più proposto, i suoi invii restano nei conteggi.",
    )


@bp.post("/<service_id>/restore")
@coordinator_required
def restore(service_id: str) -> Response:
    """Bring a retired service back."""
    return _change(
        service_id,
        lambda db: directory.set_active(db, service_id, True, operator_id=me().id, now=utcnow()),
        "Servizio di nuovo attivo.",
    )


@bp.post("/<service_id>/delete")
@coordinator_required
def delete(service_id: str) -> Response:
    """Delete a service entered by mistake (refused once it has referrals)."""
    rt = runtime()
    try:
        with write_session(rt.db) as db:
            directory.delete(db, service_id, operator_id=me().id)
    except DirectoryError as exc:
        flash(exc.message, "error")
        return redirect(url_for("directory.view", service_id=service_id))
    directory.changed(rt.db)
    flash("Servizio eliminato.", "info")
    return redirect(url_for("directory.index"))


def _change(service_id: str, change: Any, message: str) -> Response:
    rt = runtime()
    try:
        with write_session(rt.db) as db:
            change(db)
    except DirectoryError as exc:
        flash(exc.message, "error")
        return redirect(url_for("directory.index"))
    directory.changed(rt.db)
    flash(message, "info")
    return redirect(url_for("directory.view", service_id=service_id))


# -- the form --------------------------------------------------------------------------------


def _new_id(db: Session, name: str) -> str:
    """A readable id from the name ("Centro Giovani" -> "centro-giovani"), unused so far."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56] or "servizio"
    candidate, n = base, 2
    while directory.get(db, candidate) is not None:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _age(value: str, label: str, errors: list[str]) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or int(value) > MAX_AGE:
        errors.append(f"{label}: scrivi un numero di anni da 0 a {MAX_AGE}.")
        return None
    return int(value)


def read_form(
    form: MultiDict[str, str],
    service_id: str,
    *,
    previous: Row | None,
    topics: list[str],
    zones: list[str],
    checker: str,
) -> tuple[Service | None, list[str]]:
    """The service the form describes, or the list of what is wrong (Italian)."""
    errors: list[str] = []

    def text(name: str) -> str:
        value = str(form.get(name, "")).strip()
        limit = LIMITS.get(name)
        if limit and len(value) > limit:
            errors.append(
                f"{FIELD_LABELS.get(name, name.capitalize())}: al massimo {limit} caratteri."
            )
        return value

    name, about_it, about_en = text("name"), text("about_it"), text("about_en")
    if not name:
        errors.append("Scrivi il nome del servizio.")
    if not about_it:
        errors.append("Scrivi in breve di cosa si occupa il servizio (in italiano).")
    chosen_topics = [t for t in form.getlist("topics") if t]
    if not chosen_topics:
        errors.append("Scegli almeno un tema: il bot propone il servizio sotto i suoi temi.")
    if any(t not in topics for t in chosen_topics):
        errors.append("Tema sconosciuto: ricarica la pagina e riprova.")
    chosen_zones = [z for z in form.getlist("zones") if z]
    if any(z not in zones for z in chosen_zones):
        errors.append("Comune o zona sconosciuti: ricarica la pagina e riprova.")
    age_min = _age(str(form.get("age_min", "")), "Età minima", errors)
    age_max = _age(str(form.get("age_max", "")), "Età massima", errors)
    if age_min is not None and age_max is not None and age_min > age_max:
        errors.append("L'età minima è più alta dell'età massima.")
    languages = [w for w in re.split(r"[\s,;]+", str(form.get("languages", "")).lower()) if w]
    if any(not _LANGUAGE.match(w) for w in languages):
        errors.append("Lingue: scrivi i codici separati da virgole, per esempio: it, en, fr.")
    contacts = {f: text(f) for f in CONTACT_FIELDS}
    if contacts["email"] and not _EMAIL.match(contacts["email"]):
        errors.append("E-mail: non sembra un indirizzo valido (nome@dominio.it).")
    if contacts["web"] and not contacts["web"].startswith(("https://", "http://")):
        errors.append("Sito web: l'indirizzo deve iniziare con https://")
    if errors:
        return None, errors
    checked_on: date | None = None
    checked_by = ""
    if previous is not None and previous.checked_at is not None:
        checked_on, checked_by = previous.checked_at.date(), previous.checked_by
    if form.get("checked"):
        checked_on, checked_by = datetime.now(UTC).date(), checker
    about = {"it": about_it, **({"en": about_en} if about_en else {})}
    return Service(
        id=service_id,
        name=name,
        about=about,
        contacts=contacts,
        topics=tuple(chosen_topics),
        zones=tuple(chosen_zones),
        age_min=age_min,
        age_max=age_max,
        languages=tuple(dict.fromkeys(languages)),
        network=bool(form.get("network")),
        active=previous.active if previous is not None else True,
        checked_on=checked_on,
        checked_by=checked_by,
    ), []
