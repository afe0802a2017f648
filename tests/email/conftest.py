"""E-mail fixtures: a real IMAP server (pymap) and a real SMTP server (aiosmtpd) on loopback,
and the line itself (worker + mailbox listener) wired to them."""

from __future__ import annotations

import itertools
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot import config, db
from bot.channels import registry
from bot.channels.email.listener import MailboxListener
from bot.db import read_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from bot.worker import Worker
from tests.conftest import make_settings
from tests.email.mail_servers import Certs, ImapServer, Received, SmtpServer
from tests.waiting import wait_until

LINE = "aiuto@example.org"
PASSWORD = "app-password-di-prova"
YOUNG = "giulia.rossi@example.com"
PROVIDER = "mx.example.org"  # the line's mailbox provider: its Authentication-Results are trusted
SAMPLES = Path(__file__).parent / "samples"

_ids = itertools.count(1)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def passed(sender: str = YOUNG, provider: str = PROVIDER) -> str:
    """Authentication-Results as the line's provider writes them for a genuine mail."""
    domain = sender.rsplit("@", 1)[1]
    return (
        f"{provider}; dkim=pass header.d={domain} header.s=s1 header.b=AbCd; "
        f"spf=pass smtp.mailfrom={sender}; dmarc=pass (p=REJECT) header.from={domain}"
    )


def compose(
    text: str,
    *,
    sender: str = YOUNG,
    name: str = "Giulia Rossi",
    subject: str = "Ciao",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    auth: str | None = "",
) -> bytes:
    """A mail as a young person's mail program writes it, as the line's provider delivers it:
    `auth` is its Authentication-Results ("" = passed for the sender, None = no header)."""
    mail = EmailMessage()
    if auth is not None:
        mail["Authentication-Results"] = auth or passed(sender)
    mail["From"] = f"{name} <{sender}>" if name else sender
    mail["To"] = f"S.O.S. Amico Giovani <{LINE}>"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id or f"<young.{next(_ids)}.{id(text)}@mail.example.com>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    for key, value in (headers or {}).items():
        mail[key] = value
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return bytes(mail)


def text_of(received: Received) -> str:
    """The plain text of a mail the line sent."""
    body = received.message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode("utf-8")


def one_time_code(received: Received) -> str:
    """The code a CANCELLA confirmation mail carries."""
    found = re.search(r"\b(\d{6})\b", text_of(received))
    assert found, "no one-time code in the mail"
    return found.group(1)


def mail_settings(
    database_url: str, imap: ImapServer, smtp: SmtpServer, **overrides: Any
) -> config.Settings:
    env: dict[str, Any] = {
        "SOS_EMAIL_ADDRESS": LINE,
        "SOS_EMAIL_IMAP_HOST": "127.0.0.1",
        "SOS_EMAIL_IMAP_PORT": imap.port,
        "SOS_EMAIL_IMAP_TLS": imap.tls,
        "SOS_EMAIL_SMTP_HOST": "127.0.0.1",
        "SOS_EMAIL_SMTP_PORT": smtp.port,
        "SOS_EMAIL_SMTP_TLS": smtp.tls,
        "SOS_EMAIL_PASSWORD": PASSWORD,
        "SOS_EMAIL_AUTHSERV_ID": PROVIDER,
        "SOS_EMAIL_IDLE_SECONDS": 60,
        "SOS_EMAIL_SMTP_TIMEOUT_SECONDS": 10,
        "SOS_WORKER_POLL_SECONDS": 0.1,
        "SOS_WORKER_BACKOFF_BASE_SECONDS": 0.2,
        "SOS_WORKER_BACKOFF_MAX_SECONDS": 1.0,
    }
    env.update(overrides)
    return make_settings(database_url, **env)


class Line:
    """The running service as the e-mail channel sees it: worker + mailbox listener."""

    def __init__(self, settings: config.Settings, imap: ImapServer, smtp: SmtpServer) -> None:
        self.imap, self.smtp = imap, smtp
        self.engine = db.make_engine(settings.database.url)
        self.rt = Runtime.create(settings, engine=self.engine)
        registry.configure_senders(self.rt)
        self.worker = Worker(self.rt)
        self.listener = MailboxListener(self.rt)
        self.worker_thread: threading.Thread | None = None

    def start(self, *, wait: bool = True) -> Line:
        self.worker_thread = self.worker.start()
        self.listener.start()
        if wait:
            wait_until(self.listener.connected.is_set, 60, what="the mailbox listener")
        return self

    def stop(self) -> None:
        self.listener.stop()
        self.worker.stop()
        if self.worker_thread is not None:
            self.worker_thread.join(30)
        self.engine.dispose()

    def quiet(self) -> bool:
        """Nothing left to do, and nothing can start without a new mail.

        Read in this order: every reply row sent (or failed for good); every mail in the inbox
        marked read, which the listener does after storing it and queueing its replies in one
        transaction; the same reply rows again, so none was queued meanwhile. A reply sent
        reaches the SMTP server before its row is marked sent, so a mail that an answering
        machine sends back is in the inbox, unread, by then."""
        before = [(m.id, m.status) for m in self.outbound()]
        if any(status in ("queued", "sending") for _, status in before):
            return False
        if not all("\\Seen" in flags for _, flags, _ in self.imap.messages()):
            return False
        return [(m.id, m.status) for m in self.outbound()] == before

    def settle(self, timeout: float = 60) -> None:
        """Wait until the line is quiet: after this, a check that nothing more happened holds."""
        wait_until(self.quiet, timeout, what="the line to have nothing left to do")

    # the young person's side
    def write(self, raw: bytes) -> int:
        """The young person's mail arrives in the line's inbox (delivered by the mail server)."""
        return self.imap.deliver(raw)

    def replies(self, to: str = YOUNG) -> list[Received]:
        return [r for r in self.smtp.received if to in r.rcpt_tos]

    def wait_replies(self, count: int, to: str = YOUNG, timeout: float = 60) -> list[Received]:
        wait_until(
            lambda: len(self.replies(to)) >= count,
            timeout,
            what=f"{count} mail(s) at the SMTP server",
        )
        return self.replies(to)

    # the database
    def inbound(self, **where: Any) -> list[Message]:
        with read_session(self.rt.db) as session:
            query = select(Message).where(Message.direction == "in", Message.channel == "email")
            for key, value in where.items():
                query = query.where(getattr(Message, key) == value)
            return list(session.exec(query.order_by(col(Message.created_at))))

    def outbound(self) -> list[Message]:
        with read_session(self.rt.db) as session:
            query = (
                select(Message).where(Message.direction == "out").order_by(col(Message.created_at))
            )
            return list(session.exec(query))

    def wait_inbound(self, count: int, timeout: float = 60, **where: Any) -> list[Message]:
        wait_until(
            lambda: len(self.inbound(**where)) >= count,
            timeout,
            what=f"{count} stored inbound mail(s)",
        )
        return self.inbound(**where)

    def conversations(self, address: str = YOUNG) -> list[Conversation]:
        with read_session(self.rt.db) as session:
            query = (
                select(Conversation)
                .join(Contact, col(Contact.id) == col(Conversation.contact_id))
                .where(Contact.address == address)
            )
            return list(session.exec(query))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    return Certs.make(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    server = ImapServer(LINE, PASSWORD).start()
    yield server
    server.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_line(
    database_url: str, imap: ImapServer, smtp: SmtpServer
) -> Iterator[Callable[..., Line]]:
    """Start the line with settings overrides (SOS_* names); stopped after the test."""
    started: list[Line] = []

    def make(
        *,
        start: bool = True,
        imap_server: ImapServer | None = None,
        smtp_server: SmtpServer | None = None,
        **overrides: Any,
    ) -> Line:
        i, s = imap_server or imap, smtp_server or smtp
        line = Line(mail_settings(database_url, i, s, **overrides), i, s)
        started.append(line)
        return line.start() if start else line

    yield make
    for line in started:
        line.stop()


@pytest.fixture
def line(make_line: Callable[..., Line]) -> Line:
    return make_line()
