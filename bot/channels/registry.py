"""Which channels are on: senders for the worker, web routes, background listeners.

An unconfigured channel turns itself off with a clear log line instead of half-working.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint

from bot.runtime import Runtime

log = logging.getLogger(__name__)


def configure_senders(rt: Runtime) -> None:
    """Give the worker a sender for every configured channel."""
    s = rt.settings
    if s.twilio.enabled:
        from bot.channels.whatsapp import TwilioSender

        for channel in ("whatsapp", "sms"):  # SMS replies leave from the number written to
            rt.senders[channel] = TwilioSender(
                s.twilio, channel=channel, public_url=s.server.public_url, db=rt.db
            )
    else:
        log.info("WhatsApp is off: set twilio.account_sid, auth_token and whatsapp_number")
    if s.email.enabled:
        from bot.channels.email.outbound import SmtpSender

        rt.senders["email"] = SmtpSender(s.email)
    else:
        log.info("e-mail is off: set email.address, imap_host and smtp_host")


def blueprints(rt: Runtime) -> list[Blueprint]:
    """The web routes of the channels (webhooks), for the app factory to mount."""
    from bot.channels import whatsapp

    return [whatsapp.bp]


def listeners(rt: Runtime) -> list[Any]:
    """Background loops that receive messages (started by the worker process)."""
    found: list[Any] = []
    if rt.settings.email.enabled:
        from bot.channels.email.listener import MailboxListener

        if not rt.settings.email.authserv_id:
            log.warning(
                "email.authserv_id is not set: no e-mail sender can be verified, so STOP "
                "and CANCELLA by e-mail will not act (see docs/privacy.md)"
            )
        found.append(MailboxListener(rt))
    return found
