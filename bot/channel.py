"""What every channel shares with the core: the inbound message and the sender interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.models import Contact, Conversation, Message


@dataclass(frozen=True)
class Inbound:
    """A message from a young person, parsed and validated by a channel adapter."""

    channel: str  # "whatsapp" | "email" | "web"
    address: str  # who wrote: whatsapp:+39..., an e-mail address, a web simulator id
    text: str
    external_id: str | None = None  # MessageSid, Message-ID...: duplicates are ignored
    media: list[dict[str, Any]] = field(default_factory=list)  # references: url/name/type/size
    display_name: str | None = None  # untrusted (e.g. WhatsApp ProfileName)
    meta: dict[str, Any] = field(default_factory=dict)  # kept on the message (headers, raw ref)
    thread: dict[str, Any] = field(default_factory=dict)  # merged into conversation.channel_data
    answer: bool = True  # False: store and show only; no engine, no reply (e.g. auto-replies)
    quiet: bool = False  # True: triage and escalate as usual, but send no bot reply (rate limits)
    # False: the channel could not tie the message to its sender (e.g. a mail whose provider does
    # not vouch for its From address): STOP and CANCELLA in it never act
    verified: bool = True
    hand_over: str | None = None  # a reason: queue for a listener even with answer=False


@dataclass(frozen=True)
class Sent:
    """A provider accepted the message."""

    external_id: str | None
    status: str = "sent"
    thread: dict[str, Any] = field(default_factory=dict)  # merged into conversation.channel_data


# error_code of an outbox row whose last try may have reached the provider: no answer in time,
# a broken connection, a worker gone in the middle of a send. Its next try asks the provider
# first (a channel that can) and sends only if the message is not there.
UNCONFIRMED = "unconfirmed"


class TemporaryFailure(Exception):
    """Try again later (provider down, 429, 5xx, connection error).

    unconfirmed: the provider may have taken the message all the same (no answer in time, a
    broken connection, an answer that is not the provider's own), so the next try checks first.
    A refusal in the provider's own words means it took nothing."""

    def __init__(
        self, reason: str, retry_after: float | None = None, *, unconfirmed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.unconfirmed = unconfirmed


class PermanentFailure(Exception):
    """Never retry; shown to listeners with the reason."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Sender(Protocol):
    """Sends one outbox row; raises TemporaryFailure or PermanentFailure."""

    channel: str

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent: ...
