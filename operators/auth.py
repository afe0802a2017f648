"""Login, logout, first run, change of password, and the role checks every view uses."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from werkzeug.wrappers import Response

from bot import audit, presence
from bot.db import read_session, write_session
from bot.models import AppSetting, Operator, utcnow
from bot.runtime import runtime
from operators import accounts, logins, ratelimit

bp = Blueprint("auth", __name__)
View = TypeVar("View", bound=Callable[..., Any])


def current_operator() -> Operator | None:
    """The logged-in, active operator of this request (None if nobody, or the login ended)."""
    if "operator" in g:
        return cast(Operator | None, g.operator)
    found: Operator | None = None
    login_id = session.get("login")
    if isinstance(login_id, str) and login_id:
        with read_session(runtime().db) as db:
            found = logins.operator(db, login_id, utcnow(), login_lifetime())
    if found is None and ("login" in session or "op" in session):
        session.clear()  # an ended login, or a cookie from before logins were kept
    g.operator = found
    return found


def login_lifetime() -> timedelta:
    return timedelta(hours=runtime().settings.dashboard.session_hours)


def me() -> Operator:
    """The operator of a view behind login_required."""
    operator = current_operator()
    assert operator is not None
    return operator


def is_coordinator() -> bool:
    operator = current_operator()
    return operator is not None and operator.role == "coordinator"


def wants_fragment() -> bool:
    """A script's request (fetch or the live stream), answered with a status, not a page."""
    return request.headers.get(
        "X-Requested-With"
    ) == "fetch" or "text/event-stream" in request.headers.get("Accept", "")


def _no_operators() -> bool:
    with read_session(runtime().db) as db:
        return accounts.count(db) == 0


def login_required(view: View) -> View:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_operator() is None:
            if wants_fragment():
                abort(401)
            if _no_operators():
                return redirect(url_for("auth.setup"))
            target = request.full_path if request.method == "GET" else None
            return redirect(url_for("auth.login", next=target))
        return view(*args, **kwargs)

    return cast(View, wrapped)


def coordinator_required(view: View) -> View:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_coordinator():
            abort(403)
        return view(*args, **kwargs)

    return cast(View, login_required(wrapped))


def _safe_next(target: str | None) -> str:
    """Only paths of this site (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target.rstrip("?")
    return url_for("queue.index")


def _start_session(db: Session, operator: Operator) -> None:
    """Start a login (in the caller's write transaction) and put its id in the cookie."""
    session.clear()
    session.permanent = True
    session["login"] = logins.start(db, operator, utcnow(), login_lifetime())
    g.operator = operator


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Log in with username and password (failures are limited per account and address)."""
    if request.method != "POST":
        if _no_operators():
            return redirect(url_for("auth.setup"))
        return render_template("login.html", next=request.args.get("next", ""))
    rt = runtime()
    cfg = rt.settings.dashboard
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    window = timedelta(minutes=cfg.login_window_minutes)
    keys = {
        "user": ratelimit.key(rt.secret, "user", username),
        "address": ratelimit.key(rt.secret, "address", request.remote_addr or ""),
    }
    now = utcnow()
    with write_session(rt.db) as db:  # the attempt counts before the password is checked
        ratelimit.forget_expired(db, now, window)
        wait = ratelimit.attempt(db, keys, now, max_failures=cfg.login_max_failures, window=window)
    if wait is not None:
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        flash(f"Troppi tentativi non riusciti: riprova tra {minutes} minuti.", "error")
        return render_template("login.html", next=request.form.get("next", "")), 429
    with read_session(rt.db) as db:
        operator = accounts.find(db, username) if username else None
    if not accounts.verify(operator, password) or operator is None or not operator.active:
        with write_session(rt.db) as db:
            audit.record(db, "login_failed", operator_id=operator.id if operator else None)
        flash("Nome utente o password non corretti.", "error")
        return render_template("login.html", next=request.form.get("next", "")), 401
    with write_session(rt.db) as db:
        fresh = db.get(Operator, operator.id)
        assert fresh is not None
        ratelimit.succeeded(db, keys)
        if accounts.needs_rehash(fresh):
            fresh.password_hash = accounts.hash_password(password)
        fresh.last_login_at = now
        db.add(fresh)
        audit.record(db, "login", operator_id=fresh.id)
        _start_session(db, fresh)
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Response:
    """End the login."""
    operator = current_operator()
    if operator is not None:
        with write_session(runtime().db) as db:
            logins.end(db, session["login"])  # a copy of the cookie no longer works either
            audit.record(db, "logout", operator_id=operator.id)
            presence.end_shift(
                db, db.get(Operator, operator.id) or operator, utcnow(), reason="logout"
            )
    session.clear()
    flash("Sei uscito/a dalla dashboard.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Any:
    """First run: create the first coordinator, only while no operator exists."""
    if not _no_operators():
        abort(404)
    if request.method != "POST":
        return render_template("setup.html", form={})
    form = request.form
    try:
        if form.get("password", "") != form.get("password2", ""):
            raise accounts.AccountError("Le due password non coincidono.")
        with write_session(runtime().db) as db:
            if accounts.count(db):
                abort(404)
            # A second browser racing through this page fails on this key, not with a second admin.
            db.add(AppSetting(key="first_coordinator", value=utcnow().isoformat()))
            operator = accounts.create(
                db,
                form.get("username", ""),
                form.get("password", ""),
                "coordinator",
                display_name=form.get("display_name", ""),
            )
            audit.record(db, "first_run", operator_id=operator.id)
            _start_session(db, operator)
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return render_template("setup.html", form=form), 400
    except IntegrityError:
        session.clear()
        abort(404)
    flash("Benvenuto/a! Ora puoi aggiungere i volontari dalla pagina Operatori.", "info")
    return redirect(url_for("queue.index"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Change one's own password (other logins of the account end)."""
    if request.method != "POST":
        return render_template("password.html")
    operator = me()
    form = request.form
    rt = runtime()
    if not accounts.verify(operator, form.get("current", "")):
        flash("La password attuale non è corretta.", "error")
        return render_template("password.html"), 400
    try:
        if form.get("new", "") != form.get("new2", ""):
            raise accounts.AccountError("Le due nuove password non coincidono.")
        with write_session(rt.db) as db:
            fresh = db.get(Operator, operator.id)
            assert fresh is not None
            accounts.set_password(db, fresh, form.get("new", ""), by=operator.id)
            _start_session(db, fresh)  # this login goes on as a new one; the others ended
    except accounts.AccountError as exc:
        flash(str(exc), "error")
        return render_template("password.html"), 400
    flash("Password cambiata.", "info")
    return redirect(url_for("queue.index"))
