"""SMTP out: one outbox row → one plain-text UTF-8 mail in the young person's thread.

Threading comes from conversation.channel_data (subject, references, last_message_id), kept up
to date by the listener; our Message-ID is derived from the outbox row, so a retry after an
uncertain failure carries the same id and the recipient's mail program shows it once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime
from typing import Any, cast

import aiosmtplib

from bot.channel import PermanentFailure, Sent, TemporaryFailure
from bot.channels.email.decode import (
    clean_address,
    message_ids,
    scrub_addresses,
    trim_references,
)
from bot.channels.email.intake import base_subject
from bot.channels.email.tls import client_context
from bot.config import Email
from bot.models import Contact, Conversation, Message, utcnow

log = logging.getLogger(__name__)

FALLBACK_SUBJECT = "S.O.S. Amico Giovani"
AUTO_SUBMITTED = {"bot": "auto-replied", "system": "auto-generated"}  # RFC 3834; listeners: none


_CHAT_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")


def plain_text(body: str) -> str:
    """The pack's texts mark *bold* for WhatsApp; in a plain-text mail the stars are noise."""
    return _CHAT_BOLD.sub(r"\1", body)


def reply_subject(subject: str | None, fallback: str = FALLBACK_SUBJECT) -> str:
    """ "Re: " and the thread's subject, once."""
    base = base_subject(" ".join((subject or "").split()))[:200]
    return f"Re: {base}" if base else fallback


class MessageIdList(UnstructuredHeader):
    """In-Reply-To and References as RFC 5322 writes them: a list of <id>, never an encoded
    word (the email package would encode a long id, and mail programs then lose the thread),
    folded only between ids."""

    max_count = 1
    name: str  # given by email.headerregistry.BaseHeader, which the registry mixes in

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        super().parse(value, kwds)
        kwds["decoded"] = " ".join(message_ids(value))

    def fold(self, *, policy: Policy) -> str:
        name = self.name
        width = policy.max_line_length or 78
        lines = [f"{name}:"]
        for item in str(self).split():
            if len(lines[-1]) + 1 + len(item) > width and lines[-1] != f"{name}:":
                lines.append("")
            lines[-1] += f" {item}"
        return policy.linesep.join(lines) + policy.linesep


def _headers() -> HeaderRegistry:
    registry = HeaderRegistry()
    for name in ("in-reply-to", "references"):
        registry.map_to_type(name, cast(type[BaseHeader], MessageIdList))
    return registry


# The policy of every mail we write: SMTP line ends, and message-id lists kept as lists.
POLICY = SMTP.clone(header_factory=_headers())


def writable_ids(ids: list[str]) -> list[str]:
    """The ids that can go in a header as they are: ASCII only (without SMTPUTF8, an id with
    other characters could only be written as an encoded word, which breaks the thread)."""
    return [i for i in ids if i.isascii() and i.isprintable() and len(i) <= 998]


class SmtpSender:
    """The e-mail Sender: aiosmtplib, run to completion in the worker's thread."""

    channel = "email"

    def __init__(self, settings: Email) -> None:
        self.settings = settings
        self.domain = settings.address.rsplit("@", 1)[-1].lower()

    def message_id(self, message: Message) -> str:
        return f"<sos.{message.id}@{self.domain}>"

    def build(self, message: Message, contact: Contact, conversation: Conversation) -> EmailMessage:
        """The mail for one outbox row (raises PermanentFailure if it cannot be addressed)."""
        recipient = clean_address(contact.address)
        if recipient is None:  # also the unknown-...@invalid contact of a mail with no sender
            raise PermanentFailure("the contact has no valid e-mail address", "no_address")
        thread = conversation.channel_data or {}
        mail = EmailMessage(policy=POLICY)
        s = self.settings
        mail["From"] = Address(display_name=s.from_name, addr_spec=s.address)
        mail["To"] = Address(addr_spec=recipient)
        mail["Subject"] = reply_subject(thread.get("subject"), s.from_name or FALLBACK_SUBJECT)
        mail["Date"] = format_datetime(utcnow())
        mail["Message-ID"] = self.message_id(message)
        last = thread.get("last_message_id")
        answered = writable_ids(list(message_ids(last))) if isinstance(last, str) else []
        if answered:
            mail["In-Reply-To"] = answered[0]
        references = writable_ids(_references(conversation))
        if references:
            mail["References"] = " ".join(references)
        if message.author in AUTO_SUBMITTED:
            mail["Auto-Submitted"] = AUTO_SUBMITTED[message.author]
        mail["X-Auto-Response-Suppress"] = "All"  # no out-of-office or receipts back, please
        body = plain_text(message.body) if message.author in ("bot", "system") else message.body
        mail.set_content(body, charset="utf-8")
        return mail

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        try:
            mail = self.build(message, contact, conversation)
        except (ValueError, TypeError, IndexError) as exc:  # a header the email package refuses
            raise PermanentFailure(
                f"the mail could not be composed ({type(exc).__name__})", "compose_error"
            ) from exc
        recipient = str(mail["To"].addresses[0].addr_spec)
        try:
            asyncio.run(
                asyncio.wait_for(self._deliver(mail, recipient), self.settings.smtp_timeout_seconds)
            )
        except (
            aiosmtplib.SMTPRecipientsRefused,
            aiosmtplib.SMTPRecipientRefused,
            aiosmtplib.SMTPDataError,
        ) as exc:
            code, text = _response(exc)
            reason = _reason(f"{code} {text}")
            if 500 <= code < 600:
                raise PermanentFailure(
                    f"the mail server refused the message: {reason}", f"smtp_{code}"
                ) from exc
            raise TemporaryFailure(f"the mail server deferred the message: {reason}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            log.error("SMTP login refused: check email.username and SOS_EMAIL_PASSWORD")
            raise TemporaryFailure(f"SMTP login refused ({exc.code})") from exc
        except aiosmtplib.SMTPResponseException as exc:  # HELO, MAIL FROM...: our side or theirs
            raise TemporaryFailure(_reason(f"SMTP error {exc.code} {exc.message}")) from exc
        except ssl.SSLError as exc:
            log.error(
                "TLS with the SMTP server failed (%s): check email.smtp_tls and smtp_port",
                type(exc).__name__,
            )
            raise TemporaryFailure(f"TLS error: {type(exc).__name__}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(f"SMTP server unreachable: {type(exc).__name__}") from exc
        own_id = self.message_id(message)
        refs = trim_references([*_references(conversation), own_id])
        return Sent(
            external_id=own_id, status="sent", thread={"references": refs, "last_sent_id": own_id}
        )

    async def _deliver(self, mail: EmailMessage, recipient: str) -> None:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls == "tls",
            start_tls=s.smtp_tls == "starttls",
            tls_context=client_context(s) if s.smtp_tls != "none" else None,
            local_hostname=self.domain,
            timeout=s.smtp_timeout_seconds,
        )
        async with smtp:
            if s.password and not smtp.esmtp_extensions:  # forgotten after STARTTLS
                await smtp.ehlo()
            if s.password and smtp.supports_extension("auth"):
                await smtp.login(s.login, s.password)
            await smtp.send_message(mail, sender=s.address, recipients=[recipient])


def _references(conversation: Conversation) -> list[str]:
    found = (conversation.channel_data or {}).get("references") or []
    return (
        trim_references([r for r in found if isinstance(r, str)]) if isinstance(found, list) else []
    )


def _response(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return int(first.code), str(first.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return int(exc.code), str(exc.message)
    return 0, type(exc).__name__


def _reason(text: str) -> str:
    """An SMTP answer fit to show and log: addresses removed, one line, short."""
    return " ".join(scrub_addresses(text).split())[:300]
