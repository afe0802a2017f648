"""IMAP in: a background thread that waits with IDLE (or polls), stores new mail through the
inbox, and only then marks it \\Seen (or moves it); it reconnects with backoff when the
connection drops or the server says BYE.

Nothing is lost and nothing is read twice: mail is fetched with BODY.PEEK, the UIDVALIDITY and
the last stored UID are kept in the database, and the inbox dedupes on the Message-ID.
"""

from __future__ import annotations

import logging
import random
import select as io_select
import ssl
import threading
import time
from datetime import timedelta
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import DELETED, SEEN, SocketTimeout
from sqlmodel import col, select

from bot.channels.email import intake, state
from bot.channels.email.decode import message_ids
from bot.channels.email.errors import describe
from bot.channels.email.parse import iter_structure
from bot.channels.email.tls import client_context
from bot.db import read_session
from bot.models import Message
from bot.runtime import Runtime

log = logging.getLogger(__name__)

IDLE_TICK = 1.0  # seconds between checks for stop() while idling
SETTLE_SECONDS = 2.0  # the first IDLE after new mail, before the long ones
READ_TIMEOUT = 120.0  # a silent server is a dead connection
CONNECT_TIMEOUT = 30.0
RECONNECT_BASE = 1.0
RECONNECT_MAX = 300.0
BATCH = 25  # UIDs per FETCH of sizes and headers
RESCAN_MARGIN = timedelta(days=2)  # after a UIDVALIDITY change, mail this old is checked again


class ServerBye(ConnectionError):
    """The server ended the session (BYE)."""


class LoginRefused(ConnectionError):
    """Wrong user name or password."""


def reconnect_delay(failures: int) -> float:
    delay = min(RECONNECT_MAX, RECONNECT_BASE * 2 ** max(0, failures - 1))
    return float(delay * random.uniform(0.8, 1.2))


class MailboxListener:
    """Watches `email.imap_folder`; start() runs it in a thread, stop() ends it."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.cfg = rt.settings.email
        self.name = state.mailbox_name(self.cfg)
        self.stopping = threading.Event()
        self.connected = threading.Event()  # logged in, caught up, watching
        self.thread: threading.Thread | None = None
        self.failures = 0
        self.sessions = 0  # successful logins so far
        self.idle_supported: bool | None = None

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        self.stopping.clear()
        self.thread = threading.Thread(target=self.run, name="sos-mailbox", daemon=True)
        self.thread.start()
        return self.thread

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def run(self) -> None:
        log.info(
            "mailbox listener started (%s, folder %s)", self.cfg.imap_tls, self.cfg.imap_folder
        )
        while not self.stopping.is_set():
            try:
                self._session()
            except LoginRefused:
                self.failures += 1
                log.error(
                    "IMAP login refused: check email.username and SOS_EMAIL_PASSWORD "
                    "(for Gmail: an app password)"
                )
            except Exception as exc:
                self.failures += 1
                if (
                    isinstance(exc, OSError | ServerBye)
                    or "abort" in type(exc).__name__.lower()
                    or type(exc).__module__.startswith(("imaplib", "imapclient"))
                ):
                    log.warning(
                        "mailbox connection lost (%s)",
                        type(exc).__name__,
                        exc_info=log.isEnabledFor(logging.DEBUG),
                    )
                else:  # a bug, or the database: its message may quote mail, so not logged
                    log.error("mailbox listener error: %s", describe(exc))
            finally:
                self.connected.clear()
            if not self.stopping.is_set():
                delay = reconnect_delay(self.failures)
                log.info("reconnecting to the mailbox in %.1fs", delay)
                self.stopping.wait(delay)
        log.info("mailbox listener stopped")

    # one connection ---------------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        cfg = self.cfg
        context = client_context(cfg) if cfg.imap_tls != "none" else None
        timeout = SocketTimeout(CONNECT_TIMEOUT, READ_TIMEOUT)
        client = IMAPClient(
            cfg.imap_host,
            port=cfg.imap_port,
            ssl=cfg.imap_tls == "tls",
            ssl_context=context,
            timeout=timeout,
        )
        try:
            if cfg.imap_tls == "starttls":
                client.starttls(context)
            try:
                client.login(cfg.login, cfg.password)
            except LoginError as exc:
                raise LoginRefused("login refused") from exc
        except BaseException:
            _close(client)
            raise
        return client

    def _session(self) -> None:
        client = self._connect()
        try:
            if self.cfg.processed_folder and not client.folder_exists(self.cfg.processed_folder):
                try:
                    client.create_folder(self.cfg.processed_folder)
                except Exception:  # made meanwhile by another worker, or not allowed
                    if not client.folder_exists(self.cfg.processed_folder):
                        raise
            info = client.select_folder(self.cfg.imap_folder)
            uidvalidity = int(info[b"UIDVALIDITY"])
            uidnext = int(info.get(b"UIDNEXT") or 0)
            self.sessions += 1
            self.idle_supported = client.has_capability("IDLE")
            self._catch_up(client, uidvalidity, uidnext)
            self.failures = 0
            self.connected.set()
            log.info("watching the mailbox (%s)", "IDLE" if self.idle_supported else "polling")
            busy = True
            while not self.stopping.is_set():
                if self.idle_supported:
                    # Right after mail came, a short IDLE first: a mail that lands between our
                    # last command and IDLE is not announced by every server.
                    self._idle(client, SETTLE_SECONDS if busy else self.cfg.idle_seconds)
                else:
                    if self.stopping.wait(self.cfg.poll_seconds):
                        break
                    client.noop()
                busy = self._read_new(client, uidvalidity) > 0
        finally:
            _close(client)

    def _catch_up(self, client: IMAPClient, uidvalidity: int, uidnext: int) -> None:
        cursor = state.load(self.rt.db, self.name)
        if cursor is not None and cursor.uidvalidity == uidvalidity:
            self._read_new(client, uidvalidity)
            return
        if uidnext <= 0:
            uidnext = max(client.search(["ALL"]) or [0]) + 1
        if cursor is None:  # first start: what nobody has read yet
            uids = set(client.search(["UNSEEN"]))
            log.info("first look at the mailbox: %d unread mail", len(uids))
        else:  # the folder was rebuilt: its UIDs mean nothing now
            since = (cursor.updated_at - RESCAN_MARGIN).date()
            uids = set(client.search(["UNSEEN"])) | set(client.search(["SINCE", since]))
            log.warning(
                "the mailbox UIDVALIDITY changed: checking %d mail again (no duplicates)", len(uids)
            )
        done = self._process(client, sorted(uids), None, skip_known=cursor is not None)
        if self.stopping.is_set():
            return  # not finished: the next start looks at the same mail again (deduplicated)
        state.start_over(self.rt.db, self.name, uidvalidity, max([uidnext - 1, *done]))

    def _read_new(self, client: IMAPClient, uidvalidity: int) -> int:
        """Store every mail after the last stored UID, until the server reports nothing new;
        returns how many were handled."""
        handled = 0
        while not self.stopping.is_set():
            cursor = state.load(self.rt.db, self.name)
            last = cursor.last_uid if cursor else 0
            uids = [u for u in client.search(["UID", f"{last + 1}:*"]) if u > last]
            if uids:
                done = self._process(client, sorted(uids), uidvalidity)
                if not done:  # listed but not fetchable (expunged meanwhile): do not spin
                    break
                handled += len(done)
                continue  # more may have come meanwhile, announced to commands we ran
            # Nothing new. Mail that arrived meanwhile was announced (EXISTS) to one of the
            # commands we ran, or is to this NOOP; some servers announce nothing when IDLE starts.
            _, responses = client.noop()
            if not (_announced(client) or any(_is_news(r) for r in responses)):
                break
        return handled

    def _process(
        self,
        client: IMAPClient,
        uids: list[int],
        uidvalidity: int | None,
        *,
        skip_known: bool = False,
    ) -> list[int]:
        """Store, then mark, each mail in UID order; returns the UIDs done."""
        done: list[int] = []
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            known = self._known(client, batch) if skip_known else set()
            for uid in batch:
                if self.stopping.is_set():
                    return done
                if uid not in sizes:  # expunged or moved meanwhile (e.g. by another worker)
                    continue
                if uid not in known:
                    self._take(client, uid, int(sizes[uid].get(b"RFC822.SIZE") or 0))
                self._mark(client, uid)
                if uidvalidity is not None:
                    state.advance(self.rt.db, self.name, uidvalidity, uid)
                done.append(uid)
        return done

    def _known(self, client: IMAPClient, uids: list[int]) -> set[int]:
        """UIDs whose Message-ID is stored already (read by header only)."""
        fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        by_id: dict[str, int] = {}
        for uid, data in fetched.items():
            header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            found = message_ids(bytes(header or b"").decode("utf-8", "replace"))
            if found and len(found[0]) <= 255:
                by_id[found[0]] = uid
        if not by_id:
            return set()
        with read_session(self.rt.db) as session:
            stored = session.exec(
                select(Message.external_id).where(
                    Message.channel == intake.CHANNEL, col(Message.external_id).in_(list(by_id))
                )
            )
            return {by_id[i] for i in stored if i in by_id}

    def _take(self, client: IMAPClient, uid: int, size: int) -> None:
        limit = self.cfg.max_message_bytes
        if size > limit:  # very large: read the start (headers, text) and the attachment list
            data = client.fetch([uid], [f"BODY.PEEK[]<0.{limit}>", "BODYSTRUCTURE"]).get(uid, {})
            raw = next((v for k, v in data.items() if k.startswith(b"BODY[]")), b"") or b""
            extra = list(iter_structure(data.get(b"BODYSTRUCTURE"), self.cfg.max_attachment_bytes))
            receipt = intake.take_in(self.rt, bytes(raw), truncated=True, extra_attachments=extra)
        else:
            data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            receipt = intake.take_in(self.rt, bytes(data.get(b"BODY[]") or b""))
        if receipt.duplicate:
            log.info("mail UID %d was stored already", uid)

    def _mark(self, client: IMAPClient, uid: int) -> None:
        """Stored: mark it read, or move it to the processed folder."""
        client.add_flags([uid], [SEEN], silent=True)
        folder = self.cfg.processed_folder
        if not folder:
            return
        if client.has_capability("MOVE"):
            client.move([uid], folder)
        else:
            client.copy([uid], folder)
            client.add_flags([uid], [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge([uid])

    def _idle(self, client: IMAPClient, seconds: float) -> None:
        """Wait for news with IDLE for at most `seconds` (email.idle_seconds stays under the
        30 minutes after which servers may drop an IDLE).

        Whatever the server sends ends the wait; the responses are read by DONE, which reads
        whole lines (reading them while idling can split a line that is still arriving).
        """
        client.idle()
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or _readable(client, min(IDLE_TICK, remaining)):
                break
        _, responses = client.idle_done()
        if any(_is_bye(r) for r in responses):
            raise ServerBye("the server ended the session")


def _readable(client: IMAPClient, timeout: float) -> bool:
    """True when the server sent something (or closed the connection) within `timeout`."""
    sock = client.socket()
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = io_select.poll()
    poller.register(sock.fileno(), io_select.POLLIN | io_select.POLLERR | io_select.POLLHUP)
    return bool(poller.poll(timeout * 1000))


def _is_bye(response: Any) -> bool:
    return isinstance(response, tuple) and bool(response) and response[0] == b"BYE"


def _announced(client: IMAPClient) -> bool:
    """Whether EXISTS/RECENT came with any command's answer since the last call (and forget it).

    imaplib keeps untagged responses that imapclient does not ask for, such as an EXISTS that
    arrives with the answer to a SEARCH.
    """
    pending = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(pending, dict):
        return False
    found = False
    for kind in ("EXISTS", "RECENT"):
        found = bool(pending.pop(kind, None)) or found
    return found


def _is_news(response: Any) -> bool:
    return (
        isinstance(response, tuple) and len(response) >= 2 and response[1] in (b"EXISTS", b"RECENT")
    )


def _close(client: IMAPClient) -> None:
    """Log out politely if the connection still works; close the socket in any case."""
    try:
        client.socket().settimeout(5)
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            pass
