"""A fetched mail → the inbox: parse, classify, match bounces, store (and answer if allowed)."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot import inbox, outbox
from bot.channel import Inbound
from bot.channels.email import authentication, loops
from bot.channels.email.decode import scrub_addresses, trim_references
from bot.channels.email.errors import describe
from bot.channels.email.parse import ParsedMail, parse, unparseable
from bot.db import read_session, write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHANNEL = "email"
UNREADABLE = "unreadable"  # why a mail that cannot be read goes to a listener
SHORT_ANSWER_WORDS = 3  # a body this short is an answer or a command: the subject is not added
_REPLY_PREFIX = re.compile(
    r"^\s*((re|r|rif|aw|sv|vs|antw|fwd?|i|inoltro|tr|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE
)


def base_subject(subject: str) -> str:
    """The subject without "Re:", "R:", "Fwd:"... prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def take_in(
    rt: Runtime,
    raw: bytes,
    *,
    truncated: bool = False,
    extra_attachments: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> inbox.Receipt:
    """Store one mail (answering it when the loop rules allow); duplicates are ignored."""
    cfg = rt.settings.email
    mail = parse(
        raw,
        max_attachment_bytes=cfg.max_attachment_bytes,
        extra_attachments=extra_attachments,
        truncated=truncated,
    )
    try:
        return store(rt, mail, now=now)
    except DBAPIError:
        raise  # the database is unwell: the listener retries this mail later
    except Exception as exc:
        if not mail.ok:
            raise
        # Something in this mail trips the conversion: keep it raw rather than lose it.
        log.error(
            "storing a parsed mail failed (%s); keeping it raw for the listeners", describe(exc)
        )
        kept = replace(
            unparseable(raw, mail.fingerprint, "store_error"),
            sender=mail.sender,
            message_id=mail.message_id,
        )
        return store(rt, kept, now=now)


def store(rt: Runtime, mail: ParsedMail, *, now: datetime | None = None) -> inbox.Receipt:
    now = now or utcnow()
    cfg = rt.settings.email
    verdict = loops.classify(mail, cfg.address)
    address = mail.sender or unknown_sender(mail)
    meta: dict[str, Any] = {
        "subject": mail.subject,
        "message_id": mail.message_id,
        "mail_kind": verdict.kind,
    }
    text = triage_text(mail)
    sender = authentication.check(mail.auth_results, mail.sender, cfg.authserv_id)
    if not sender.verified:
        meta["unverified"] = sender.reason  # shown to listeners: STOP and CANCELLA do not act
    if mail.full_text and mail.full_text != text:
        meta["full_text"] = mail.full_text
    if not verdict.answer:
        meta["loop_reason"] = verdict.reason
    if mail.date:
        meta["date"] = mail.date
    if mail.problems:
        meta["problems"] = list(mail.problems)
    if not mail.ok:  # shown as it came, but no address in it: the sender's is behind the reveal
        raw = mail.raw.decode("utf-8", "replace").replace("\x00", "\ufffd")
        meta["raw"] = scrub_addresses(raw)
        text = scrub_addresses(text)
        if "full_text" in meta:
            meta["full_text"] = scrub_addresses(meta["full_text"])
    if mail.bounce is not None:
        bounced = _bounced_message(rt, mail)
        meta["bounce"] = {
            "failed": mail.bounce.failed,
            "reason": mail.bounce.reason,
            "message": bounced[0] if bounced else None,
        }
        if bounced is not None:
            address = bounced[1] or address  # shown in the conversation of the mail that bounced
        text = scrub_addresses(text)
        if "full_text" in meta:
            meta["full_text"] = scrub_addresses(meta["full_text"])
    quiet = False
    if verdict.answer:
        with read_session(rt.db) as session:
            quiet = loops.over_daily_limit(session, address, cfg.max_auto_replies_per_day, now)
        if quiet:
            meta["quiet"] = "daily limit of automatic replies reached"
    thread: dict[str, Any] = {}
    if verdict.answer and mail.message_id:
        thread = {
            "subject": base_subject(mail.subject),
            "references": trim_references([*mail.references, *mail.in_reply_to, mail.message_id]),
            "last_message_id": mail.message_id,
        }
    inbound = Inbound(
        channel=CHANNEL,
        address=address,
        text=text,
        external_id=mail.external_id,
        media=list(mail.attachments),
        display_name=mail.display_name if address == mail.sender else None,
        meta=meta,
        thread=thread,
        answer=verdict.answer,
        quiet=quiet,
        verified=sender.verified and address == mail.sender,
        hand_over=None if mail.ok else UNREADABLE,  # a person reads what the bot cannot
    )
    receipt = inbox.receive(rt, inbound, now=now)
    if not receipt.duplicate:
        log.info(
            "mail stored as message %s (%s%s)",
            receipt.message_id,
            verdict.kind,
            ", no reply: daily limit" if quiet else "",
        )
    return receipt


def unknown_sender(mail: ParsedMail) -> str:
    """The contact of a mail with no usable sender: one per mail, never shared (mail from
    different people must not meet in one conversation), and never a deliverable address."""
    return f"unknown-{mail.fingerprint[:24]}@invalid"


def triage_text(mail: ParsedMail) -> str:
    """What triage reads: the new text, led by the subject when the mail starts a thread (a
    subject can say what the body does not). A short answer or command ("sì", "STOP", "2")
    stays alone, as the flow expects it."""
    text = mail.new_text
    subject = base_subject(mail.subject)
    starts_thread = not mail.thread_ids and subject == mail.subject.strip()
    if not subject or not starts_thread or subject.lower() in text.lower():
        return text
    if not text.strip():
        return subject
    if len(text.split()) <= SHORT_ANSWER_WORDS:
        return text
    return f"{subject}\n\n{text}"


def _bounced_message(rt: Runtime, mail: ParsedMail) -> tuple[str, str | None] | None:
    """Find the mail we sent that bounced, mark it failed; (its id, its recipient's address)."""
    assert mail.bounce is not None
    ids = [i for i in mail.bounce.message_ids if len(i) <= 255][:200]
    if not ids:
        return None
    with write_session(rt.db) as session:
        query = (
            select(Message)
            .where(
                Message.channel == CHANNEL,
                Message.direction == "out",
                col(Message.external_id).in_(ids),
            )
            .order_by(col(Message.created_at).desc())
        )
        message = session.exec(query).first()
        if message is None:
            return None
        if mail.bounce.failed:
            message.lease_until = None
            if outbox.advance(
                session, message, "failed", error_code="bounce", error_message=mail.bounce.reason
            ):
                log.warning("message %s bounced", message.id)
        conversation = session.get(Conversation, message.conversation_id)
        contact = (
            session.get(Contact, conversation.contact_id)
            if conversation and conversation.contact_id
            else None
        )
        return message.id, contact.address if contact else None
