"""The worker: reads what the webhooks accepted, delivers the outbox, closes silent
conversations, applies retention."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import col, select

from bot import activity, alerts, arrivals, conversations, db, inbox, outbox, presence, privacy
from bot.channel import UNCONFIRMED, PermanentFailure, TemporaryFailure
from bot.db import checkpoint, read_session, write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from flows import engine
from flows.events import Reply
from flows.triage import warm

log = logging.getLogger(__name__)
# The row to send with its conversation and contact (None once erased), built once.
_TO_SEND = (
    select(Message, Conversation, Contact)
    .outerjoin(Conversation, col(Conversation.id) == Message.conversation_id)
    .outerjoin(Contact, col(Contact.id) == Conversation.contact_id)
    .where(Message.id == bindparam("id"))
)


def deliver(
    rt: Runtime, message_id: str, now: datetime | None = None, *, held: bool = False
) -> str | None:
    """Claim one outbox row and send it; returns the new status (None if another worker has it).

    held: this worker took the row when it read the message (outbox.HOLD): its lease starts
    again now. A row that waited for its worker past the lease is claimed as any worker would
    (None if another worker took it first): a busy worker never sends beside another one."""
    now = now or utcnow()
    with write_session(rt.db) as session:
        lease = timedelta(seconds=rt.settings.worker.lease_seconds)
        renewed = held and outbox.renew(session, message_id, now, lease)
        if not renewed and not outbox.claim(session, message_id, now, lease):
            return None
        found = session.execute(_TO_SEND, {"id": message_id}).first()
        if found is None:
            return None
        message, conversation, contact = found
    if message.kind == alerts.KIND:  # to a coordinator, not to the young person
        contact, conversation = alerts.addressee(message)
    if conversation is None or contact is None:
        return _finish_failed(rt, message_id, "no_contact", "the contact was erased")
    redact = str(message.meta.get("redact") or "")
    if contact.opted_out_at is not None and (message.created_at < contact.opted_out_at):
        return _finish_failed(rt, message_id, "opted_out", "non inviato: ha scritto STOP", redact)
    sender = rt.senders.get(message.channel)
    if sender is None:
        if message.channel == "web":  # the simulator reads replies from the database
            return _finish_sent(rt, message_id, None, "delivered", {})
        reason = f"channel {message.channel!r} is not configured"
        return _retry(rt, message_id, reason, None, unconfirmed=False)
    try:
        sent = sender.send(message, contact, conversation)
    except TemporaryFailure as exc:
        return _retry(rt, message_id, exc.reason, exc.retry_after, unconfirmed=exc.unconfirmed)
    except PermanentFailure as exc:
        return _finish_failed(rt, message_id, exc.code or "rejected", exc.reason, redact)
    except Exception as exc:  # a bug or an unexpected library error: keep the message, retry
        log.exception("sending message %s failed unexpectedly", message_id)
        reason = f"unexpected error: {type(exc).__name__}"
        return _retry(rt, message_id, reason, None, unconfirmed=True)
    return _finish_sent(rt, message_id, sent.external_id, sent.status, sent.thread, redact)


def _forget_secret(message: Message, secret: str) -> None:
    """A one-time code is kept only until its message has left (or failed for good)."""
    message.body = message.body.replace(secret, "••••••")
    message.meta = {k: v for k, v in message.meta.items() if k != "redact"}


def _finish_sent(
    rt: Runtime,
    message_id: str,
    external_id: str | None,
    status: str,
    thread: dict[str, object],
    redact: str = "",
) -> str:
    with write_session(rt.db) as session:
        recorded = outbox.record_sent(session, message_id, external_id, status)
        if recorded is None:
            return status
        if redact:
            sent = session.get(Message, message_id)
            if sent is not None:
                _forget_secret(sent, redact)
                session.add(sent)
        new_status, conversation_id = recorded
        if thread:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None:
                conversation.channel_data = {**conversation.channel_data, **thread}
                session.add(conversation)
        return new_status


def _finish_failed(rt: Runtime, message_id: str, code: str, reason: str, redact: str = "") -> str:
    with write_session(rt.db) as session:
        message = session.get(Message, message_id)
        if message is None:
            return "failed"
        if redact:
            _forget_secret(message, redact)
        message.lease_until = None
        message.status = "sending"
        outbox.advance(session, message, "failed", error_code=code, error_message=reason)
        log.warning("message %s failed: %s (%s)", message_id, code, reason)
        return "failed"


def _retry(
    rt: Runtime, message_id: str, reason: str, retry_after: float | None, *, unconfirmed: bool
) -> str:
    """Queue the row again after a backoff; `unconfirmed`: the provider may have it already, so
    the next try asks first (error_code UNCONFIRMED; any other failure clears it)."""
    cfg = rt.settings.worker
    with write_session(rt.db) as session:
        message = session.get(Message, message_id, with_for_update=True)
        if message is None:
            return "failed"
        if message.external_id:  # the provider took it after all: its status callback came first
            message.lease_until = None
            outbox.advance(session, message, "sent")
            return message.status
        if message.attempts >= cfg.max_attempts:
            message.status = "sending"
            message.lease_until = None
            outbox.advance(
                session,
                message,
                "failed",
                error_code="gave_up",
                error_message=f"{reason} (after {message.attempts} attempts)",
            )
            return "failed"
        delay = outbox.backoff(message.attempts, cfg.backoff_base_seconds, cfg.backoff_max_seconds)
        if retry_after is not None:
            delay = max(delay, min(retry_after, cfg.backoff_max_seconds))
        message.status = "queued"
        message.lease_until = None
        message.error_code = UNCONFIRMED if unconfirmed else None
        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        message.error_message = f"retrying: {reason}"[:500]
        session.add(message)
        log.info("message %s: temporary failure (%s), retry in %.1fs", message_id, reason, delay)
        return "queued"


def receive_due(rt: Runtime) -> int:
    """Read the messages the webhooks accepted (bot.arrivals), oldest first; how many were read."""
    read = 0
    for arrival_id in arrivals.waiting(rt):
        try:
            if inbox.receive_arrival(rt, arrival_id) is not None:
                read += 1
        except Exception as exc:  # kept: read again on the next round, never dropped
            log.error("could not read arrival %s (%s): tried again", arrival_id, inbox.where(exc))
    return read


def deliver_due(rt: Runtime, now: datetime | None = None) -> int:
    """Send the replies this worker took when it read their messages, then every due outbox
    row; returns how many were attempted."""
    now = now or utcnow()
    sent = 0
    while rt.held:
        deliver(rt, rt.held.popleft(), now, held=True)
        sent += 1
    with read_session(rt.db) as session:
        ids = outbox.due(session, now)
    for message_id in ids:
        deliver(rt, message_id, now)
    return sent + len(ids)


def close_silent(rt: Runtime, now: datetime | None = None) -> int:
    """Gently close conversations with the bot where the young person stopped answering."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=rt.pack.no_response_minutes)
    with read_session(rt.db) as session:
        ids = conversations.silent(session, cutoff)
    closed = 0
    for conversation_id in ids:
        with write_session(rt.db) as session:
            conversation = session.get(Conversation, conversation_id, with_for_update=True)
            if conversation is None or not conversations.still_silent(conversation, cutoff):
                continue
            contact = session.get(Contact, conversation.contact_id)
            assert contact is not None
            ctx = conversations.context_for(rt, contact, conversation, now)
            try:
                state = conversations.flow_state(rt.pack, conversation)
                result = engine.timeout(rt.pack, state, ctx)
            except Exception as exc:  # one faulty conversation must not stop the others
                log.error(
                    "the flow engine failed to close conversation %s (%s): tried again later",
                    conversation.id,
                    inbox.where(exc),
                )
                conversation.last_activity_at = now
                session.add(conversation)
                continue
            conversation.flow_state = result.state.to_json()
            receipt = inbox.Receipt(duplicate=False, conversation_id=conversation.id)
            if contact.opted_out_at is not None:  # no bot messages after STOP
                result.events[:] = [e for e in result.events if not isinstance(e, Reply)]
            inbox.apply(rt, session, contact, conversation, result.events, now, receipt)
            if conversation.status == conversations.Status.BOT:  # not closed: do not ask again
                conversation.last_activity_at = now
            session.add(conversation)
            closed += 1
    if closed:
        rt.wake_outbox()
    return closed


def housekeeping(rt: Runtime, now: datetime | None = None) -> None:
    """Erase what young people asked to erase, forget old dashboard changes."""
    now = now or utcnow()
    with write_session(rt.db) as session:
        erased = privacy.erase_when_seen(session, now)
        erased += privacy.purge_erased(session)
        activity.prune(session, now)
    if erased:
        checkpoint(rt.db)
        rt.wake_outbox()


def end_idle_shifts(rt: Runtime, now: datetime | None = None) -> int:
    """Switch off "in turno" for whoever stopped using the dashboard."""
    with write_session(rt.db) as session:
        return presence.end_idle_shifts(session, rt.settings, now or utcnow())


def purge(rt: Runtime, now: datetime | None = None) -> int:
    """Apply privacy.retention_days."""
    with write_session(rt.db) as session:
        count = privacy.purge(session, now or utcnow(), rt.settings.privacy.retention_days)
    if count:
        checkpoint(rt.db)
    return count


@dataclass
class Duty:
    """Something the worker does every `every` seconds."""

    name: str
    every: float
    run: Callable[[Runtime, datetime], object]
    last: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.last is None or abs((now - self.last).total_seconds()) >= self.every


class Worker:
    """The loop: outbox first, then the periodic duties; woken at once by new messages. Started
    as threads (start()), a reader of its own reads the arrivals meanwhile; run_once() alone
    (tests, a given clock) reads them itself."""

    def __init__(self, rt: Runtime, extra: list[Duty] | None = None) -> None:
        self.rt = rt
        self.stopping = threading.Event()
        self.reading = False  # a thread of its own reads the arrivals (start())
        self.duties = [
            Duty("alerts", 10, alerts.check),
            Duty("close_silent", 30, close_silent),
            Duty("housekeeping", 30, housekeeping),
            Duty("shifts", 60, end_idle_shifts),
            Duty("retention", 24 * 3600, purge),
            *(extra or []),
        ]

    def run_once(self, now: datetime | None = None) -> None:
        """Read what came, deliver what is due, then the duties whose time has come (`now`: a
        given clock)."""
        self.rt.outbox_ready.clear()
        while (self._read() + deliver_due(self.rt, now)) and not self.stopping.is_set():
            pass
        at = now or utcnow()
        for duty in self.duties:
            if duty.due(at):
                duty.last = at
                try:
                    duty.run(self.rt, at)
                except Exception:
                    log.exception("worker duty %s failed; it runs again later", duty.name)
        if self.rt.outbox_ready.is_set():  # a duty queued messages (an alert, a goodbye)
            self.rt.outbox_ready.clear()
            while deliver_due(self.rt, now) and not self.stopping.is_set():
                pass

    def run(self) -> None:
        log.info("worker started")
        while not self.stopping.is_set():
            try:
                self.run_once()
                pause = self.pause()
            except Exception:
                log.exception("worker loop error; going on")
                pause = self.rt.settings.worker.poll_seconds
            self.rt.outbox_ready.wait(pause)
        log.info("worker stopped")

    def pause(self, now: datetime | None = None) -> float:
        """Seconds to sleep unless woken: the poll on SQLite; on PostgreSQL, where a NOTIFY wakes
        the worker, until the next retry or lease end, at most the safety net."""
        rest = self.rt.wait_seconds(self.rt.settings.worker.poll_seconds)
        if db.is_sqlite(self.rt.db):
            return rest
        now = now or utcnow()
        with read_session(self.rt.db) as session:
            due = outbox.soonest(session, now)
        if due is not None:
            rest = min(rest, max(0.0, (due - now).total_seconds()))
        return rest

    def _read(self) -> int:
        return 0 if self.reading else receive_due(self.rt)

    def read(self) -> None:
        """The reader: reads what the webhooks kept as soon as it is kept, while the main loop
        sends (a message is not kept waiting behind the sending of earlier replies)."""
        seen = self.rt.arrived.rung
        while not self.stopping.is_set():
            try:
                while receive_due(self.rt) and not self.stopping.is_set():
                    pass
            except Exception:
                log.exception("reading the arrivals failed; going on")
            pause = self.rt.wait_seconds(self.rt.settings.worker.poll_seconds)
            seen = self.rt.arrived.wait(seen, pause)

    def start(self) -> threading.Thread:
        warm(self.rt.pack)  # the first message waits no longer than the next
        self.reading = True
        threading.Thread(target=self.read, name="sos-reader", daemon=True).start()
        thread = threading.Thread(target=self.run, name="sos-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
        self.rt.outbox_ready.set()
        self.rt.arrived.ring()
