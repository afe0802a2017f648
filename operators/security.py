"""CSRF on every state-changing request, security headers, error pages.

The channels' signed webhooks are the only routes without a CSRF token (the app factory exempts
them): the provider's signature authenticates them instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.runtime import runtime
from operators.auth import wants_fragment

csrf = CSRFProtect()

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "media-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

ERROR_TEXTS = {
    400: "La richiesta non è valida.",
    401: "Devi accedere di nuovo.",
    403: "Non hai accesso a questa pagina.",
    404: "Pagina non trovata.",
    405: "Operazione non consentita.",
    413: "Il contenuto inviato è troppo grande.",
    429: "Troppe richieste: riprova tra poco.",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _check_origin() -> None:
    """Browsers name the page that sent a POST: refuse other sites (behind the token)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint == "whatsapp":
        return
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return
    allowed = {_origin(request.host_url)}
    public = runtime().settings.server.public_url
    if public:
        allowed.add(_origin(public))
    if origin.lower() not in allowed:
        raise CSRFError("The request comes from another site.")


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if runtime().settings.server.public_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.blueprint != "dashboard":  # pages hold personal data: never cached (static may be)
        headers.setdefault("Cache-Control", "no-store")
    return response


def _error(exc: HTTPException) -> Any:
    if request.blueprint == "whatsapp":  # the webhooks keep their own plain answers
        return exc
    code = exc.code or 500
    text = ERROR_TEXTS.get(code, exc.description or "Errore.")
    if isinstance(exc, CSRFError):
        text = (
            "La pagina è scaduta o la richiesta non viene da questa dashboard: ricarica e riprova."
        )
    if wants_fragment():
        return Response(text, status=code, mimetype="text/plain")
    return render_template("error.html", code=code, text=text), code


def init_app(app: Flask) -> None:
    rt = app.extensions["sos"]
    app.config.update(
        SESSION_COOKIE_NAME="sos_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=rt.settings.dashboard.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login (a whole shift)
        # With Referrer-Policy no-referrer there is no Referer to check: the Origin check does it.
        WTF_CSRF_SSL_STRICT=False,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
    )
    proxies = rt.settings.dashboard.trusted_proxies
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    csrf.init_app(app)
    app.before_request(_check_origin)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _error)
