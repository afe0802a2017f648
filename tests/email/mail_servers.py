"""Real mail servers on loopback for the e-mail tests and the benchmark.

`ImapServer` runs pymap (dict backend) in its own thread: it can stop listening and drop every
connection (with or without a BYE), keep the mailbox while it is down, and start again on the
same port, like a mail server being restarted. `SmtpServer` runs aiosmtpd and records what it
receives; it can be stopped and started again on the same port, and told to refuse mail.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from argparse import Namespace
from collections.abc import Callable
from contextlib import AsyncExitStack, closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.dict import Config as DictConfig
from pymap.backend.dict import DictBackend, Login
from pymap.config import BackendCapability
from pymap.context import connection_exit
from pymap.imap import IMAPConnection, IMAPServer
from pymap.imap.state import ConnectionState
from pymap.parsing.message import AppendMessage
from pymap.parsing.specials.flag import Flag

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Certs:
    """A self-signed certificate for 127.0.0.1 and localhost, and contexts that use it."""

    cert: Path
    key: Path

    @classmethod
    def make(cls, folder: Path) -> Certs:
        cert, key = folder / "server.pem", folder / "server.key"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return cls(cert, key)

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


# --- IMAP (pymap) ------------------------------------------------------------------------------


class _NoIdleConfig(DictConfig):
    """A server without the IDLE extension, for the polling fallback."""

    @property
    def backend_capability(self) -> BackendCapability:
        return BackendCapability(idle=False, object_id=True, multi_append=True)


class ImapServer:
    """pymap on loopback with one mailbox user; restartable without losing mail."""

    def __init__(
        self,
        user: str,
        password: str,
        *,
        tls: str = "none",
        idle: bool = True,
        certs: Certs | None = None,
    ) -> None:
        assert tls in ("none", "starttls", "tls")
        self.user, self.password, self.tls, self.idle = user, password, tls, idle
        self.certs = certs
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pymap", daemon=True)
        self.server: asyncio.AbstractServer | None = None
        self.connections: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        self.idle_commands = 0  # IDLE commands received, over all connections
        self.connects = 0
        self.backend: DictBackend | None = None
        self.config: DictConfig | None = None

    # lifecycle
    def start(self) -> ImapServer:
        self.thread.start()
        self._call(self._init())
        self.listen()
        return self

    def close(self) -> None:
        with suppress(Exception):
            self.shutdown(bye=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def listen(self) -> None:
        """Accept connections (again) on the same port."""
        self._call(self._listen())

    def shutdown(self, *, bye: bool = True) -> None:
        """Stop listening and end every connection: with a BYE, or dropped on the floor."""
        self._call(self._shutdown(bye))

    def _call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _init(self) -> None:
        args = Namespace(
            debug=False,
            host=HOST,
            port=self.port,
            cert=None,
            key=None,
            tls=self.tls == "starttls",
            demo_data=False,
            demo_user=self.user,
            demo_password=self.password,
            passlib_cfg=None,
            proxy_protocol=None,
            inherited_sockets=None,
        )
        ssl_context = self.certs.server_context() if self.certs else None
        config_type = DictConfig if self.idle else _NoIdleConfig
        config = config_type.from_args(
            args, ssl_context=ssl_context, invalid_user_sleep=0.0, bad_command_limit=None
        )
        login = Login(config)
        await DictBackend._add_demo_user(config, login)
        self.backend = DictBackend(login, config)
        self.config = config

    async def _listen(self) -> None:
        assert self.backend is not None and self.config is not None
        owner = self

        class Connection(IMAPConnection):
            async def idle(self, state: Any, cmd: Any) -> Any:
                owner.idle_commands += 1
                return await super().idle(state, cmd)

        class Server(IMAPServer):
            async def __call__(
                self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock_info: Any
            ) -> None:
                task = asyncio.current_task()
                assert task is not None
                owner.connections[task] = writer
                owner.connects += 1
                conn = Connection(self.commands, self._config, reader, writer, sock_info)
                state = ConnectionState(self._login, self._config)
                try:
                    async with AsyncExitStack() as stack:
                        connection_exit.set(stack)
                        stack.enter_context(closing(conn))
                        await conn.run(state)
                except (asyncio.CancelledError, ConnectionError):
                    pass
                finally:
                    owner.connections.pop(task, None)

        callback = ProxyProtocolReader(self.config.proxy_protocol).get_callback(
            Server(self.backend.login, self.config)
        )
        tls_ctx = self.certs.server_context() if (self.certs and self.tls == "tls") else None
        for _ in range(100):  # the port may linger for a moment after a restart
            try:
                self.server = await asyncio.start_server(callback, HOST, self.port, ssl=tls_ctx)
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise RuntimeError(f"cannot listen on {HOST}:{self.port}")

    async def _shutdown(self, bye: bool) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        tasks = list(self.connections.items())
        for task, writer in tasks:
            if not bye:
                writer.transport.abort()
            task.cancel()  # pymap answers a cancellation with "* BYE [UNAVAILABLE]"
        for task, _ in tasks:
            with suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), 5)

    # the mailbox, straight through the backend (works while the server is not listening)
    def deliver(self, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> int:
        """Put a message in a folder, as a mail server delivering it would; returns its UID.
        pymap parses what it stores: a mail nested a thousand levels deep takes it over 10 s
        alone, several times that on a machine shared with other test workers."""
        return int(self._call(self._deliver(raw, folder, flags), timeout=240.0))

    async def _mailbox_set(self) -> Any:
        assert self.backend is not None
        identity = self.backend.login.demo_user_identity
        async with identity.new_session() as session:
            return session.mailbox_set

    async def _deliver(self, raw: bytes, folder: str, flags: tuple[str, ...]) -> int:
        mailbox_set = await self._mailbox_set()
        if folder.upper() != "INBOX":
            with suppress(ValueError):
                await mailbox_set.add_mailbox(folder)
        mbx = await mailbox_set.get_mailbox(folder)
        message = await mbx.append(
            AppendMessage(raw, datetime.now(UTC), frozenset(Flag(f.encode()) for f in flags)),
            recent=True,
        )
        return int(message.uid)

    def messages(self, folder: str = "INBOX") -> list[tuple[int, set[str], bytes]]:
        """(uid, flags, raw) of every message in a folder."""
        return list(self._call(self._messages(folder)))

    async def _messages(self, folder: str) -> list[tuple[int, set[str], bytes]]:
        mailbox_set = await self._mailbox_set()
        try:
            mbx = await mailbox_set.get_mailbox(folder)
        except KeyError:
            return []
        found = []
        async for msg in mbx.messages():
            flags = {bytes(f).decode() for f in msg.permanent_flags}
            found.append((msg.uid, flags, bytes(msg._content)))
        return found

    def recreate_inbox(self) -> int:
        """Replace the inbox by an empty one with a new UIDVALIDITY (UIDs start again)."""
        return int(self._call(self._recreate_inbox()))

    async def _recreate_inbox(self) -> int:
        from pymap.backend.dict.mailbox import MailboxData

        mailbox_set = await self._mailbox_set()
        old = mailbox_set._inbox
        new = MailboxData(mailbox_set._content_cache, mailbox_set._thread_cache)
        while new.uid_validity == old.uid_validity:
            new._uid_validity += 1
        mailbox_set._inbox = new
        return int(new.uid_validity)


# --- SMTP (aiosmtpd) ---------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float  # time.monotonic() when the server accepted it

    @property
    def message(self) -> Message:
        return message_from_bytes(self.raw)


@dataclass
class RecordingHandler:
    """Keeps every message it accepts; `refuse` answers DATA with an SMTP error instead."""

    received: list[Received] = field(default_factory=list)
    refuse: str | None = None  # e.g. "451 4.7.1 try again later" or "550 5.1.1 <x@y>: no such user"
    on_message: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse
        item = Received(
            envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), time.monotonic()
        )
        with self.lock:
            self.received.append(item)
        if self.on_message is not None:
            self.on_message(item)
        return "250 2.0.0 OK queued"


class SmtpServer:
    """aiosmtpd on loopback; stop() and start() again keep the port and the received mail."""

    def __init__(
        self, *, tls: str = "none", certs: Certs | None = None, login: tuple[str, str] | None = None
    ) -> None:
        assert tls in ("none", "starttls", "tls")
        self.tls, self.certs, self.login = tls, certs, login
        self.port = free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None
        self.auth_attempts: list[str] = []

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.login is not None
            and (data.login.decode(), data.password.decode()) == self.login
        )
        self.auth_attempts.append("ok" if ok else "refused")
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.login:
            # aiosmtpd counts only STARTTLS as TLS: with implicit TLS it must not ask for more
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.tls == "starttls")
        if self.tls == "starttls":
            assert self.certs
            kwargs.update(tls_context=self.certs.server_context(), require_starttls=True)
        if self.tls == "tls":
            assert self.certs
            kwargs.update(ssl_context=self.certs.server_context())
        for _ in range(100):
            controller = Controller(
                self.handler, hostname=HOST, port=self.port, ready_timeout=30, **kwargs
            )
            try:
                controller.start()
            except OSError:
                time.sleep(0.1)
                continue
            self.controller = controller
            return self
        raise RuntimeError(f"cannot listen on {HOST}:{self.port}")

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
