"""Twilio's X-Twilio-Signature, checked against the URL Twilio called (server.public_url)."""

from __future__ import annotations

from flask import Request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)


def public_url_of(request: Request, public_url: str) -> str:
    """The URL as Twilio called it: our public base URL, then the route and query.

    Behind a TLS-terminating proxy the request we see says http://internal-host:8000; Twilio
    signed https://public-host/..., so the base comes from `server.public_url` (which includes
    any path prefix the proxy strips). Without it, the URL the request arrived at is used.
    """
    base = public_url.rstrip("/") or (request.host_url.rstrip("/") + request.script_root)
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


def is_signed(request: Request, auth_token: str, public_url: str) -> bool:
    """True when the request carries Twilio's valid signature for its URL and form."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(auth_token)
    return bool(
        validator.validate(public_url_of(request, public_url), request.form, signature, algorithm)
    )
