"""The IMAP listener against a real server: IDLE, polling, restarts, UIDVALIDITY, TLS, flags."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.channels.email import intake
from bot.channels.email.listener import MailboxListener
from tests.email.conftest import LINE, PASSWORD, Line, compose
from tests.email.mail_servers import Certs, ImapServer
from tests.waiting import wait_until


def flags_of(imap: ImapServer, uid: int, folder: str = "INBOX") -> set[str] | None:
    for found, flags, _ in imap.messages(folder):
        if found == uid:
            return flags
    return None


def test_first_start_reads_only_unread_mail(
    imap: ImapServer, make_line: Callable[..., Line]
) -> None:
    imap.deliver(compose("vecchia, già letta", sender="old@example.org"), flags=("\\Seen",))
    imap.deliver(compose("nuova", sender="new@example.org"))
    line = make_line()
    line.wait_inbound(1)
    line.write(compose("dopo l'avvio", sender="later@example.org"))
    stored = line.wait_inbound(2)
    assert [m.body for m in stored] == ["nuova", "dopo l'avvio"]


def test_mail_is_marked_only_after_it_is_stored(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    take_in = intake.take_in

    def store_fails_twice(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("the database is not answering")
        return take_in(*args, **kwargs)

    monkeypatch.setattr(intake, "take_in", store_fails_twice)
    uid = line.write(compose("ti prego rispondi"))
    wait_until(lambda: len(calls) >= 1, 30, what="a first attempt")
    assert "\\Seen" not in (flags_of(line.imap, uid) or set())  # fetched with BODY.PEEK
    assert line.inbound() == []
    line.wait_inbound(1, timeout=60)  # the listener reconnects and tries again
    wait_until(lambda: "\\Seen" in (flags_of(line.imap, uid) or set()), 30, what="\\Seen")
    assert len(line.inbound()) == 1 and len(calls) == 3


def test_processed_mail_is_moved_when_configured(make_line: Callable[..., Line]) -> None:
    line = make_line(SOS_EMAIL_PROCESSED_FOLDER="Gestite")
    line.write(compose("spostami"))
    line.wait_inbound(1)
    wait_until(lambda: len(line.imap.messages("Gestite")) == 1, 30, what="the move")
    assert line.imap.messages("INBOX") == []
    [(_, flags, raw)] = line.imap.messages("Gestite")
    assert "\\Seen" in flags and b"spostami" in raw


def test_uidvalidity_change_loses_nothing_and_duplicates_nothing(
    make_line: Callable[..., Line],
) -> None:
    line = make_line()
    old = [
        compose(f"vecchia {i}", sender=f"old{i}@example.org", message_id=f"<old{i}@x.org>")
        for i in range(2)
    ]
    for raw in old:
        line.write(raw)
    line.wait_inbound(2)
    line.wait_replies(1, to="old0@example.org")
    line.wait_replies(1, to="old1@example.org")
    line.stop()

    # The server rebuilds the folder: new UIDVALIDITY, UIDs start again from the bottom, so the
    # new mail gets the UIDs the old mail had, and the old mail comes back with higher ones.
    line.imap.recreate_inbox()
    for i in range(2):
        line.imap.deliver(compose(f"nuova {i}", sender=f"new{i}@example.org"))
    for raw in old:
        line.imap.deliver(raw)

    again = make_line()
    again.wait_inbound(4)
    again.settle()
    stored = again.inbound()
    assert sorted(m.body.split("\n\n")[-1] for m in stored) == [
        "nuova 0",
        "nuova 1",
        "vecchia 0",
        "vecchia 1",
    ]
    again.wait_replies(1, to="new0@example.org")
    again.wait_replies(1, to="new1@example.org")
    assert len(again.replies("old0@example.org")) == 1  # not answered twice
    wait_until(
        lambda: all("\\Seen" in f for _, f, _ in again.imap.messages()),
        30,
        what="every mail marked seen",
    )


def test_polling_when_the_server_has_no_idle(
    database_url: str, make_line: Callable[..., Line]
) -> None:
    server = ImapServer(LINE, PASSWORD, idle=False).start()
    try:
        line = make_line(imap_server=server, SOS_EMAIL_POLL_SECONDS=1)
        assert line.listener.idle_supported is False
        line.write(compose("c'è qualcuno?"))
        line.wait_inbound(1)
        line.wait_replies(1)
        assert server.idle_commands == 0
    finally:
        server.close()


def test_idle_is_issued_again_before_the_server_limit(make_line: Callable[..., Line]) -> None:
    line = make_line(SOS_EMAIL_IDLE_SECONDS=1)
    wait_until(lambda: line.imap.idle_commands >= 4, 30, what="IDLE issued again")
    line.write(compose("dopo vari IDLE"))
    line.wait_inbound(1)
    assert line.imap.connects == 1  # the same connection all along


@pytest.mark.parametrize("bye", [True, False], ids=["server-says-bye", "connection-dropped"])
def test_imap_server_restarted_while_idle(line: Line, bye: bool) -> None:
    line.write(compose("prima del riavvio"))
    line.wait_replies(1)
    wait_until(lambda: line.imap.idle_commands >= 1, 30, what="the listener to idle")
    line.imap.shutdown(bye=bye)
    line.imap.deliver(compose("arrivata mentre il server era giù", sender="down@example.org"))
    wait_until(lambda: line.listener.failures >= 1, 30, what="the listener to notice")
    line.imap.listen()
    stored = line.wait_inbound(2, timeout=60)
    line.wait_replies(1, to="down@example.org")
    wait_until(lambda: line.listener.sessions >= 2, 30, what="a new session")
    line.settle()
    assert len(line.inbound()) == 2 and stored[1].body.endswith("mentre il server era giù")
    assert len(line.replies("down@example.org")) == 1


def test_several_workers_on_one_mailbox_store_and_answer_once(
    make_line: Callable[..., Line],
) -> None:
    first, second = make_line(), make_line()
    for i in range(4):
        first.write(compose(f"messaggio {i}", sender=f"p{i}@example.org"))
    first.wait_inbound(4)
    for i in range(4):
        first.wait_replies(1, to=f"p{i}@example.org")
    first.settle()
    for line in (first, second):  # a mail either listener still holds is finished by now
        line.listener.stopping.set()
    first.listener.stop()
    second.listener.stop()
    first.settle()
    assert len(first.inbound()) == 4 and len(second.inbound()) == 4
    assert all(len(first.replies(f"p{i}@example.org")) == 1 for i in range(4))


def test_wrong_password_is_retried_with_backoff_and_never_logged(
    make_line: Callable[..., Line], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    line = make_line(start=False, SOS_EMAIL_PASSWORD="password-sbagliata")
    line.start(wait=False)
    wait_until(lambda: line.listener.failures >= 2, 30, what="two refused logins")
    assert not line.listener.connected.is_set()
    assert "IMAP login refused" in caplog.text
    assert "password-sbagliata" not in caplog.text


@pytest.fixture(params=["starttls", "tls"])
def tls_imap(request: pytest.FixtureRequest, certs: Certs) -> Iterator[ImapServer]:
    server = ImapServer(LINE, PASSWORD, tls=request.param, certs=certs).start()
    yield server
    server.close()


def test_imap_over_tls(tls_imap: ImapServer, certs: Certs, make_line: Callable[..., Line]) -> None:
    line = make_line(imap_server=tls_imap, SOS_EMAIL_TLS_CA_FILE=str(certs.cert))
    line.write(compose("cifrato"))
    line.wait_inbound(1)


def test_imap_refuses_an_untrusted_certificate(
    tls_imap: ImapServer, make_line: Callable[..., Line]
) -> None:
    line = make_line(start=False, imap_server=tls_imap)
    line.start(wait=False)
    wait_until(lambda: line.listener.failures >= 1, 30, what="a refused connection")
    assert line.listener.sessions == 0


def test_stop_is_prompt_while_idle(line: Line) -> None:
    wait_until(lambda: line.imap.idle_commands >= 1, 30, what="the listener to idle")
    started = time.monotonic()
    line.listener.stop()
    assert line.listener.thread is not None and not line.listener.thread.is_alive()
    assert time.monotonic() - started < 10


def test_listener_object_can_be_made_from_the_registry(line: Line) -> None:
    from bot.channels import registry

    found = registry.listeners(line.rt)
    assert [type(x) for x in found] == [MailboxListener]
    assert "email" in line.rt.senders
