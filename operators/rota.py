"""The coordinators' on-call rota and where alerts reach them (set on the Operatori page)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from bot import audit
from bot.db import write_session
from bot.models import Operator
from bot.runtime import runtime
from flows.hours import HoursError, OpeningHours
from operators.auth import coordinator_required, me

bp = Blueprint("rota", __name__)
PHONE = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class RotaError(ValueError):
    """A value that cannot be saved; the message is for the dashboard."""


def check(phone: str, email: str, rota: str, timezone: str) -> tuple[str, str, str]:
    """The cleaned values, or RotaError."""
    phone = "".join(phone.split())
    email = email.strip()
    rota = " ".join(rota.split())
    if phone and not PHONE.match(phone):
        raise RotaError(
            "Telefono per le allerte non valido: scrivi il numero internazionale, "
            "per esempio +393331234567 (SMS) o whatsapp:+393331234567."
        )
    if email and (len(email) > 320 or not EMAIL.match(email)):
        raise RotaError("E-mail per le allerte non valida.")
    if len(rota) > 500:
        raise RotaError("Reperibilità troppo lunga (massimo 500 caratteri).")
    try:
        OpeningHours.parse(rota, timezone)
    except HoursError as exc:
        raise RotaError(
            f"Reperibilità non valida: {exc}. Esempio: mon-fri 18:00-22:00; "
            "sat 09:00-13:00 (giorni: mon tue wed thu fri sat sun)."
        ) from exc
    return phone, email, rota


@bp.post("/operators/<operator_id>/oncall")
@coordinator_required
def save(operator_id: str) -> Response:
    """Set a coordinator's alert phone, alert e-mail and weekly on-call rota."""
    rt = runtime()
    form = request.form
    try:
        phone, email, rota = check(
            form.get("alert_phone", ""),
            form.get("alert_email", ""),
            form.get("rota", ""),
            rt.settings.service.timezone,
        )
    except RotaError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.operators"))
    with write_session(rt.db) as db:
        operator = db.get(Operator, operator_id[:32])
        if operator is None:
            abort(404)
        if operator.role != "coordinator":
            flash("Reperibilità e allerte valgono solo per i coordinatori.", "error")
            return redirect(url_for("admin.operators"))
        operator.alert_phone, operator.alert_email, operator.rota = phone, email, rota
        db.add(operator)
        audit.record(
            db,
            "oncall_updated",
            operator_id=me().id,
            target=operator.id,
            phone=bool(phone),
            email=bool(email),
            rota=rota,
        )  # no numbers in the log
    flash(f"Reperibilità di «{operator.username}» salvata.", "info")
    return redirect(url_for("admin.operators"))
