"""The data model: contacts, conversations, messages (also the outbox), operators, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UtcDateTime(TypeDecorator[datetime]):
    """The one way a moment is stored: aware UTC in, aware UTC out, on every database.

    SQLite keeps no zone and hands back naive values; PostgreSQL hands back values in the
    session's TimeZone. Both come back as aware UTC, and a naive value is refused on the way
    in, so no caller ever has to guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC times (bot.models.utcnow)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False))


class Contact(SQLModel, table=True):
    """A young person as seen on one channel; shown on screen only by pseudonym."""

    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    channel: str = Field(max_length=16)  # "whatsapp" | "email" | "web"
    address: str = Field(max_length=320)  # phone (whatsapp:+39...) or e-mail address: personal data
    pseudonym: str = Field(max_length=64)
    language: str | None = Field(default=None, max_length=8)
    display_name: str | None = Field(default=None, max_length=200)  # e.g. WhatsApp ProfileName
    created_at: datetime = _created()
    consent_at: datetime | None = _ts()  # when the privacy notice was shown
    opted_out_at: datetime | None = _ts()  # STOP
    erase_requested_at: datetime | None = _ts()  # CANCELLA confirmed: erased once replies are out
    # CANCELLA confirmed on a crisis no listener has seen yet: erased once one has, or at this time
    erase_due_at: datetime | None = _ts()
    # The feedback question after a listener's close (bot.feedback): when it was last asked (never
    # twice in 30 days), and the outcome it is about while an answer may still come.
    feedback_asked_at: datetime | None = _ts()
    feedback_outcome: str | None = Field(default=None, max_length=64)


class Conversation(SQLModel, table=True):
    """One conversation of a contact: with the bot, waiting, with a listener, closed."""

    __table_args__ = (
        Index("ix_conversation_queue", "status", "priority_rank", "escalated_at"),
        # the statistics count conversations by when they opened, escalated, or met a crisis
        Index("ix_conversation_opened_at", "opened_at"),
        Index("ix_conversation_escalated_at", "escalated_at"),
        Index("ix_conversation_crisis_at", "crisis_at"),
        Index("ix_conversation_claimed_at", "claimed_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # None once anonymised (retention or erasure): the row then only feeds statistics
    contact_id: str | None = Field(
        default=None, foreign_key="contact.id", index=True, max_length=32
    )
    channel: str = Field(max_length=16)
    status: str = Field(default="bot", max_length=16)  # a bot.conversations.Status
    priority: str | None = Field(default=None, max_length=8)  # a bot.conversations.Priority
    priority_rank: int = Field(default=0)  # Priority.rank (0: none): for ordering the queue
    escalation_reason: str | None = Field(default=None, max_length=64)
    out_of_hours: bool = Field(default=False)
    # a flows.state.FlowState as JSON (to_json / from_json)
    flow_state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    channel_data: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    listener_id: str | None = Field(
        default=None, foreign_key="operator.id", index=True, max_length=32
    )
    opened_at: datetime = _created()
    escalated_at: datetime | None = _ts()
    claimed_at: datetime | None = _ts()
    closed_at: datetime | None = _ts(index=True)
    last_activity_at: datetime = _created()
    # the young person's last message in it (not an auto-reply): WhatsApp's 24-hour window
    last_inbound_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=64)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Kept at anonymisation: the figures (time to a human) and the emerging-needs statistics.
    crisis_at: datetime | None = _ts()  # the first crisis message of the conversation
    crisis_reply_at: datetime | None = _ts()  # a listener's first reply after crisis_at
    first_reply_at: datetime | None = _ts()  # a listener's first reply after escalated_at
    # The anonymous profile, set by the listener at close (the bot never asks); kept at
    # anonymisation. age_band: bot.profile.AGE_BANDS; zone: directory.zones, or not_stated.
    age_band: str = Field(default="not_stated", max_length=16)
    zone: str = Field(default="not_stated", max_length=64)
    # None: not stated; False: first contact; True: returning. The column is "returning_contact":
    # SQLite reads a bare `returning` as its RETURNING clause.
    returning: bool | None = Field(
        default=None, sa_column=Column("returning_contact", Boolean, nullable=True)
    )


class Message(SQLModel, table=True):
    """A message in or out. Outbound rows are the outbox: queued until a worker sends them."""

    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_message_outbox", "status", "next_attempt_at"),
        Index("ix_message_conversation", "conversation_id", "created_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = Field(foreign_key="conversation.id", max_length=32)
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=3)  # "in" | "out"
    author: str = Field(max_length=16)  # contact | bot | listener | system
    operator_id: str | None = Field(default=None, foreign_key="operator.id", max_length=32)
    body: str = ""
    kind: str = Field(default="text", max_length=16)  # text | template
    external_id: str | None = Field(default=None, max_length=255)  # MessageSid, Message-ID...
    # in: received | out: queued, sending, sent, delivered, read, failed, undelivered
    status: str = Field(default="queued", max_length=16)
    error_code: str | None = Field(default=None, max_length=32)
    error_message: str | None = Field(default=None, max_length=500)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    lease_until: datetime | None = _ts()  # a worker holds this row until then
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()
    media: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Operator(SQLModel, table=True):
    """A volunteer listener or a coordinator."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)  # listener | coordinator
    display_name: str = Field(default="", max_length=100)
    capacity: int | None = None  # None = service.listener_capacity
    active: bool = True
    created_at: datetime = _created()
    last_login_at: datetime | None = _ts()
    on_shift_since: datetime | None = _ts()  # "in turno": None when off shift
    last_seen_at: datetime | None = _ts()  # last time the person used the dashboard
    dashboard_at: datetime | None = _ts()  # last time a dashboard page opened its live stream
    alert_phone: str = Field(default="", max_length=40)  # "+39..." (SMS) or "whatsapp:+39..."
    alert_email: str = Field(default="", max_length=320)
    rota: str = Field(default="", max_length=500)  # on call, e.g. "mon-fri 18:00-22:00"


class AuditEvent(SQLModel, table=True):
    """Who did what to which conversation, when. Never holds message text or addresses."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    operator_id: str | None = Field(default=None, max_length=32, index=True)
    action: str = Field(max_length=32)
    conversation_id: str | None = Field(default=None, max_length=32, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Arrival(SQLModel, table=True):
    """A young person's message as the webhook accepted it, before the bot has read it.

    The webhook commits this row and answers at once; a worker reads it (bot.inbox.receive) and
    deletes it in the same transaction, in arrival order for each writer. Holds the text and the
    address for those few milliseconds only.
    """

    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_arrival_writer", "channel", "address", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)  # the arrival order
    channel: str = Field(max_length=16)
    external_id: str | None = Field(default=None, max_length=255)
    address: str = Field(max_length=320)
    inbound: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # a bot.channel.Inbound
    received_at: datetime = _created()


class Activity(SQLModel, table=True):
    """A feed of changes that the dashboard streams (Server-Sent Events), across processes."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    kind: str = Field(
        max_length=32
    )  # escalated, crisis, message, status, claimed, released, closed
    conversation_id: str | None = Field(default=None, max_length=32)
    priority: str | None = Field(default=None, max_length=8)


class AppSetting(SQLModel, table=True):
    """Values the service generates and keeps (e.g. a generated secret key)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str


class Note(SQLModel, table=True):
    """A listener's private note on a conversation: never sent, erased with the conversation."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    operator_id: str | None = Field(default=None, foreign_key="operator.id", max_length=32)
    body: str = ""
    created_at: datetime = _created()
    # a coordinator's note for the listener holding the conversation: only they and the
    # coordinators see it (None: every operator who may see the conversation)
    for_operator_id: str | None = Field(default=None, foreign_key="operator.id", max_length=32)


class Alert(SQLModel, table=True):
    """A call for a coordinator: a crisis nobody answered, or a listener asking for support.

    Never holds message text or addresses; it outlives the conversation's anonymisation.
    """

    __table_args__ = (UniqueConstraint("conversation_id", "kind", "episode_at", "level"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = Field(max_length=32, index=True)
    kind: str = Field(max_length=16)  # "unanswered" (a crisis) | "support"
    level: int = 1  # 1 the first call, 2 the call again after a second period
    episode_at: datetime = _created()  # the crisis message, or the request: what is alerted
    created_at: datetime = _created()
    requested_by: str | None = Field(default=None, max_length=32)  # the listener (support)
    category: str = Field(default="", max_length=64)  # e.g. "crisis:suicide"
    notified: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acknowledged_at: datetime | None = _ts()
    acknowledged_by: str | None = Field(default=None, max_length=32)


class LoginThrottle(SQLModel, table=True):
    """Dashboard login attempts counted per key (an HMAC of a username or a client address, no
    names) since the start of a window, across processes: counted before the password is
    checked, in the statement that enforces the limit."""

    key: str = Field(primary_key=True, max_length=64)
    attempts: int = 0
    since: datetime = _created()


class OperatorSession(SQLModel, table=True):
    """One login: the session cookie names it, and it ends when this row goes (logout, the
    account disabled, its password changed) or when it is older than dashboard.session_hours."""

    id: str = Field(primary_key=True, max_length=64)
    operator_id: str = Field(foreign_key="operator.id", index=True, max_length=32)
    started_at: datetime = _created()


class Mailbox(SQLModel, table=True):
    """How far the e-mail listener got in an IMAP folder (UIDs are unsigned 32-bit numbers)."""

    name: str = Field(primary_key=True, max_length=255)  # account and folder: "user@host/INBOX"
    uidvalidity: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _created()


class TriageCorrection(SQLModel, table=True):
    """A listener's word that the bot read a message wrong, to improve the content pack.

    `text` is a copy of the message, kept as long as the conversation is (retention, CANCELLA);
    afterwards only the category, the bot's reading and the day remain, for the counts.
    """

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _created()
    category: str = Field(max_length=32, index=True)  # should_be_crisis | not_crisis | ...
    reading: str | None = Field(default=None, max_length=64)  # "faq:orari", "crisis:suicide"
    conversation_id: str | None = Field(default=None, max_length=32, index=True)
    message_id: str | None = Field(default=None, max_length=32)
    operator_id: str | None = Field(default=None, max_length=32)
    text: str | None = None  # the message, while retention allows


class Service(SQLModel, table=True):
    """A local service of the directory that the bot and the listeners refer young people to.

    Kept by the coordinators; never deleted while referrals name it (retired instead).
    """

    id: str = Field(primary_key=True, max_length=64)  # a slug: "progetto-giovani"
    name: str = Field(max_length=200)
    about_it: str = ""  # what it helps with, in Italian (the card's text)
    about_en: str = ""
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    zones: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    age_min: int | None = None
    age_max: int | None = None
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    phone: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=320)
    address: str = Field(default="", max_length=300)
    web: str = Field(default="", max_length=300)
    hours: str = Field(default="", max_length=500)  # opening hours, free text
    network: bool = False  # part of the Rete di mediazione comunitaria
    active: bool = True  # False: retired, kept for the counts
    position: int = 0  # order in the bot's menu and in the directory
    checked_at: datetime | None = _ts()  # "last checked on"
    checked_by: str = Field(default="", max_length=100)  # who checked it
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Referral(SQLModel, table=True):
    """A young person pointed to a service, by the bot or a listener. No text, no address;
    it survives anonymisation and erasure (conversation_id then becomes None)."""

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=32, index=True)
    channel: str = Field(max_length=16)
    by: str = Field(max_length=16)  # "bot" | "listener"
    topic: str | None = Field(default=None, max_length=64)  # one of the closing topics
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False, index=True)
    )


class Feedback(SQLModel, table=True):
    """A young person's answer to "was it useful?" after a listener closed a conversation.

    Anonymous by design: only the outcome of the conversation and the month it closed in, never
    which conversation or who (bot.feedback)."""

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)  # "2026-11", in the service's time zone
    outcome: str = Field(max_length=64)
    score: int | None = None  # 1-5
    again: bool | None = None  # "would you write to us again?"; None: not answered
