"""SMTP out: headers, threading, TLS and login, and what each SMTP answer means for the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from bot.channel import PermanentFailure, TemporaryFailure
from bot.channels.email.outbound import SmtpSender, reply_subject
from bot.config import Email
from bot.models import Contact, Conversation, Message
from tests.email.conftest import LINE, PASSWORD, YOUNG
from tests.email.mail_servers import Certs, SmtpServer


def email_settings(smtp: SmtpServer, **overrides: object) -> Email:
    values: dict[str, Any] = {
        "address": LINE,
        "imap_host": "127.0.0.1",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_tls": smtp.tls,
        "password": PASSWORD,
        "smtp_timeout_seconds": 10.0,
        **overrides,
    }
    return Email(**values)


def outbox_row(author: str = "bot", body: str = "Ciao! Sono qui. È tutto ok? 💬") -> Message:
    return Message(conversation_id="c1", channel="email", direction="out", author=author, body=body)


def thread(**data: object) -> Conversation:
    return Conversation(id="c1", contact_id="p1", channel="email", channel_data=dict(data))


@pytest.fixture
def young() -> Contact:
    return Contact(id="p1", channel="email", address=YOUNG, pseudonym="Airone 1")


@pytest.fixture
def tls_smtp(certs: Certs) -> Iterator[SmtpServer]:
    server = SmtpServer(tls="starttls", certs=certs, login=(LINE, PASSWORD)).start()
    yield server
    server.stop()


def test_bot_reply_headers(smtp: SmtpServer, young: Contact) -> None:
    sender = SmtpSender(email_settings(smtp))
    row = outbox_row()
    conv = thread(
        subject="Ho bisogno di aiuto",
        last_message_id="<b@mail.example.com>",
        references=["<a@mail.example.com>", "<b@mail.example.com>"],
    )
    sent = sender.send(row, young, conv)

    [received] = smtp.received
    assert received.mail_from == LINE and received.rcpt_tos == [YOUNG]
    mail = message_from_bytes(received.raw, policy=policy.default)
    [origin] = mail["From"].addresses
    assert (origin.display_name, origin.addr_spec) == ("S.O.S. Amico Giovani", LINE)
    assert str(mail["To"]) == YOUNG
    assert str(mail["Subject"]) == "Re: Ho bisogno di aiuto"
    assert str(mail["In-Reply-To"]) == "<b@mail.example.com>"
    assert str(mail["References"]).split() == ["<a@mail.example.com>", "<b@mail.example.com>"]
    assert str(mail["Message-ID"]) == sent.external_id == f"<sos.{row.id}@example.org>"
    assert str(mail["Auto-Submitted"]) == "auto-replied"
    assert str(mail["X-Auto-Response-Suppress"]) == "All"
    assert mail["Date"] is not None
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == row.body
    # the conversation learns our id, so the next mail continues the chain
    assert sent.thread["references"][-1] == sent.external_id


def test_listener_reply_is_not_marked_automatic(smtp: SmtpServer, young: Contact) -> None:
    SmtpSender(email_settings(smtp)).send(
        outbox_row("listener", "Ciao, sono Marta."), young, thread(subject="Re: R: ciao")
    )
    mail = message_from_bytes(smtp.received[0].raw, policy=policy.default)
    assert "Auto-Submitted" not in mail
    assert str(mail["X-Auto-Response-Suppress"]) == "All"
    assert str(mail["Subject"]) == "Re: ciao"  # one "Re:", whatever the thread had


def test_system_notice_is_auto_generated(smtp: SmtpServer, young: Contact) -> None:
    SmtpSender(email_settings(smtp)).send(outbox_row("system"), young, thread())
    mail = message_from_bytes(smtp.received[0].raw, policy=policy.default)
    assert str(mail["Auto-Submitted"]) == "auto-generated"
    assert str(mail["Subject"]) == "S.O.S. Amico Giovani"  # no thread yet: the line's name


def test_chat_bold_marks_are_dropped_from_bot_mail(smtp: SmtpServer, young: Contact) -> None:
    sender = SmtpSender(email_settings(smtp))
    bot_text = "Scrivi *OPERATORE* per un volontario. 2*3 resta."
    sender.send(outbox_row(body=bot_text), young, thread())
    sender.send(outbox_row("listener", "Ti ho scritto *davvero* io"), young, thread())
    bot, listener = (message_from_bytes(m.raw, policy=policy.default) for m in smtp.received)
    assert bot.get_content().strip() == "Scrivi OPERATORE per un volontario. 2*3 resta."
    assert listener.get_content().strip() == "Ti ho scritto *davvero* io"  # a person's words stay


def test_retry_keeps_the_same_message_id(smtp: SmtpServer, young: Contact) -> None:
    sender = SmtpSender(email_settings(smtp))
    row = outbox_row()
    first = sender.send(row, young, thread())
    second = sender.send(row, young, thread())
    assert first.external_id == second.external_id  # the recipient's program shows it once


def test_subjects() -> None:
    assert reply_subject("Re: RE: R: Fwd: aiuto") == "Re: aiuto"
    assert reply_subject("Rif: orari") == "Re: orari"
    assert reply_subject("") == "S.O.S. Amico Giovani"
    assert reply_subject("riga\r\nBcc: x@y.z") == "Re: riga Bcc: x@y.z"  # no header injection


def test_long_threads_keep_the_first_and_latest_references(
    smtp: SmtpServer, young: Contact
) -> None:
    refs = [f"<r{i}@example.com>" for i in range(60)]
    SmtpSender(email_settings(smtp)).send(outbox_row(), young, thread(references=refs))
    mail = message_from_bytes(smtp.received[0].raw, policy=policy.default)
    kept = str(mail["References"]).split()
    assert kept[0] == "<r0@example.com>" and kept[-1] == "<r59@example.com>" and len(kept) == 20


def test_long_and_non_ascii_message_ids_keep_the_thread(smtp: SmtpServer, young: Contact) -> None:
    outlook = (
        "<AM9PR07MB7A1B2C3D4E5F60718293A4B5C6D7E8F9A1B2C3D@AM9PR07MB7123.eurprd07.prod"
        ".outlook.com>"
    )  # 90 characters, as Outlook writes them
    assert len(outlook) == 90
    accented = "<caffè.42@posta.example.it>"  # only SMTPUTF8 could carry it as it is
    refs = ["<a@mail.example.com>", outlook, accented]
    SmtpSender(email_settings(smtp)).send(
        outbox_row(), young, thread(last_message_id=outlook, references=refs)
    )
    [received] = smtp.received
    head = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?" not in head  # never an encoded word
    mail = message_from_bytes(received.raw, policy=policy.default)
    assert str(mail["In-Reply-To"]) == outlook
    assert str(mail["References"]).split() == ["<a@mail.example.com>", outlook]
    for line in head.split("\r\n"):  # folded only between ids: each line ends with a whole id
        assert len(line) <= 998
        if line.startswith((" ", "References:", "In-Reply-To:")):
            assert line.rstrip().endswith(">"), line


def test_starttls_and_login(tls_smtp: SmtpServer, young: Contact, certs: Certs) -> None:
    settings = email_settings(tls_smtp, tls_ca_file=str(certs.cert))
    SmtpSender(settings).send(outbox_row(), young, thread())
    assert tls_smtp.auth_attempts == ["ok"] and len(tls_smtp.received) == 1


def test_implicit_tls(certs: Certs, young: Contact) -> None:
    server = SmtpServer(tls="tls", certs=certs, login=(LINE, PASSWORD)).start()
    try:
        SmtpSender(email_settings(server, tls_ca_file=str(certs.cert))).send(
            outbox_row(), young, thread()
        )
        assert server.auth_attempts == ["ok"] and len(server.received) == 1
    finally:
        server.stop()


def test_an_untrusted_certificate_is_never_accepted(tls_smtp: SmtpServer, young: Contact) -> None:
    with pytest.raises(TemporaryFailure, match="TLS"):
        SmtpSender(email_settings(tls_smtp)).send(outbox_row(), young, thread())
    assert tls_smtp.received == [] and tls_smtp.auth_attempts == []


def test_wrong_password_is_retried_not_failed(
    tls_smtp: SmtpServer, young: Contact, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    settings = email_settings(tls_smtp, tls_ca_file=str(certs.cert), password="sbagliata-123")
    with pytest.raises(TemporaryFailure, match="login"):
        SmtpSender(settings).send(outbox_row(), young, thread())
    assert "sbagliata-123" not in caplog.text


def test_recipient_refused_is_final_and_says_why_without_the_address(
    smtp: SmtpServer, young: Contact
) -> None:
    smtp.handler.refuse = f"550 5.1.1 <{YOUNG}>: Recipient address rejected"
    with pytest.raises(PermanentFailure) as failure:
        SmtpSender(email_settings(smtp)).send(outbox_row(), young, thread())
    assert failure.value.code == "smtp_550"
    assert "5.1.1" in failure.value.reason and YOUNG not in failure.value.reason


def test_try_again_later_is_temporary(smtp: SmtpServer, young: Contact) -> None:
    smtp.handler.refuse = "451 4.7.1 Greylisted, try again later"
    with pytest.raises(TemporaryFailure, match="451"):
        SmtpSender(email_settings(smtp)).send(outbox_row(), young, thread())


def test_server_down_is_temporary(smtp: SmtpServer, young: Contact) -> None:
    smtp.stop()
    with pytest.raises(TemporaryFailure, match="unreachable"):
        SmtpSender(email_settings(smtp)).send(outbox_row(), young, thread())


def test_no_usable_address_is_final(smtp: SmtpServer) -> None:
    nobody = Contact(id="p1", channel="email", address="unknown-0123abcd@invalid", pseudonym="X")
    with pytest.raises(PermanentFailure):
        SmtpSender(email_settings(smtp)).send(outbox_row(), nobody, thread())
