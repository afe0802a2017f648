"""Twilio's webhooks: messages in (WhatsApp and SMS share the form) and delivery status."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, request

from bot import arrivals
from bot.channels.whatsapp import delivery, inbound, signature
from bot.inbox import receive
from bot.runtime import runtime

log = logging.getLogger(__name__)

bp = Blueprint("whatsapp", __name__, url_prefix="/twilio")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
NOT_CONFIGURED = (
    "Twilio webhooks are off: set twilio.auth_token (SOS_TWILIO_AUTH_TOKEN). "
    "Unsigned requests are never accepted.\n"
)
ERROR_CODE = re.compile(r"[0-9]{1,10}")
MESSAGE_ID = re.compile(r"[0-9a-f]{32}")


def _refused() -> Response | None:
    """503 if we cannot check signatures, 403 if the signature is missing or wrong."""
    settings = runtime().settings
    if not settings.twilio.auth_token:
        return Response(NOT_CONFIGURED, 503, content_type="text/plain; charset=utf-8")
    if not signature.is_signed(request, settings.twilio.auth_token, settings.server.public_url):
        hint = "" if settings.server.public_url else " (is server.public_url set?)"
        log.warning(
            "refused a request to %s: missing or wrong Twilio signature%s", request.path, hint
        )
        return Response("invalid Twilio signature\n", 403, content_type="text/plain")
    return None


@bp.post("/whatsapp")
def message_in() -> Response:
    """Keep a young person's message and answer Twilio at once (answer first): the worker reads
    it a moment later, and the bot's replies leave through the outbox (bot.arrivals). With
    `twilio.answer_first = false` the message is read before the answer instead."""
    refused = _refused()
    if refused is not None:
        return refused
    try:
        message = inbound.parse(request.form)
    except inbound.BadWebhook as exc:
        log.warning("refused a Twilio message webhook: %s", exc)
        return Response(f"{exc}\n", 400, content_type="text/plain")
    rt = runtime()
    try:
        if rt.settings.twilio.answer_first:
            accepted = arrivals.accept(rt, message)
        else:  # read before answering: the crisis check has run when Twilio hears 200
            accepted = not receive(rt, message).duplicate
    except Exception as exc:  # the text would hold personal data: name the kind of error only
        log.error(
            "could not store a Twilio message (%s): Twilio will call the fallback URL, "
            "if one is set",
            type(exc).__name__,
        )
        return Response("temporarily unavailable\n", 503, content_type="text/plain")
    if not accepted:
        log.info("Twilio sent a message again: kept once")
    return Response(EMPTY_TWIML, 200, content_type="text/xml; charset=utf-8")


@bp.post("/status")
def status_callback() -> Response:
    """Move an outbound message's delivery state forward (never backwards)."""
    refused = _refused()
    if refused is not None:
        return refused
    sid = request.form.get("MessageSid", "").strip()
    status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if not inbound.SID.fullmatch(sid) or not status:
        return Response(
            "MessageSid and MessageStatus are required\n", 400, content_type="text/plain"
        )
    code = request.form.get("ErrorCode", "").strip()
    ours = request.args.get("message", "")
    delivery.record(
        runtime(),
        sid,
        status,
        code if ERROR_CODE.fullmatch(code) else None,
        ours if MESSAGE_ID.fullmatch(ours) else None,
    )
    return Response("", 204)
