"""What real mail servers and real mail do, end to end: auto-replies, bot ping-pong, bounces,
charset garbage, HTML-only mail, huge attachments, an SMTP server that is down for a while."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from sqlmodel import select

from bot import inbox
from bot.channel import Inbound
from bot.channels.email import intake
from bot.db import read_session, write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from tests.email.conftest import LINE, YOUNG, Line, compose, one_time_code, sample
from tests.email.mail_servers import Received
from tests.waiting import wait_until

AUTOMATIC = [
    "auto_reply_gmail.eml",
    "out_of_office_outlook.eml",
    "autoreply_x_header.eml",
    "newsletter.eml",
    "mailing_list.eml",
    "noreply.eml",
    "empty_return_path.eml",
    "read_receipt.eml",
]


def test_auto_replies_and_out_of_office_are_stored_but_never_answered(line: Line) -> None:
    for name in AUTOMATIC:
        line.write(sample(name))
    stored = line.wait_inbound(len(AUTOMATIC))
    assert all(m.body and m.meta["mail_kind"] != "person" and m.meta["loop_reason"] for m in stored)
    # replies would have been queued in the same transaction that stored the mail
    assert line.outbound() == []
    line.write(compose("io invece sono una persona", sender="probe@example.org"))
    line.wait_replies(1, to="probe@example.org")
    assert [r.rcpt_tos for r in line.smtp.received] == [["probe@example.org"]]


def test_two_bots_answering_each_other_stop(make_line: Callable[..., Line]) -> None:
    robot = "assistenza@negozio.example.com"
    line = make_line(SOS_EMAIL_MAX_AUTO_REPLIES_PER_DAY=3)

    def naive_autoresponder(mail: Received) -> None:  # answers everything, marks nothing
        if robot in mail.rcpt_tos:
            ours = mail.message
            line.imap.deliver(
                compose(
                    "Grazie per averci scritto, le risponderemo al più presto.",
                    sender=robot,
                    name="Assistenza",
                    subject=f"Re: {ours['Subject']}",
                    in_reply_to=ours["Message-ID"],
                    references=[ours["Message-ID"]],
                )
            )

    line.smtp.handler.on_message = naive_autoresponder
    line.write(
        compose(
            "Il suo ordine è stato spedito.", sender=robot, name="Negozio", subject="Ordine spedito"
        )
    )

    line.settle(90)  # the last mail of theirs is stored, and nothing of ours is left to send
    replies, stored = line.replies(robot), line.inbound()
    assert 1 <= len(replies) <= 3
    assert len(stored) == len(replies) + 1  # every mail of theirs is kept
    assert stored[-1].meta.get("quiet") or len(replies) < 3


def test_address_over_the_daily_limit_is_triaged_but_not_answered(line: Line) -> None:
    line.write(compose("ciao", message_id="<day1@mail.example.com>"))
    line.wait_replies(1)
    [conversation] = line.conversations()
    limit = line.rt.settings.email.max_auto_replies_per_day
    with write_session(line.rt.db) as session:  # the bot wrote to them all day long
        for i in range(limit):
            session.add(
                Message(
                    conversation_id=conversation.id,
                    channel="email",
                    direction="out",
                    author="bot",
                    body=f"risposta {i}",
                    status="sent",
                    created_at=utcnow() - timedelta(hours=1),
                )
            )
    before = len(line.outbound())
    line.write(compose("ci sei?", message_id="<day2@mail.example.com>"))
    stored = line.wait_inbound(2)
    assert stored[1].meta["quiet"] and stored[1].body.endswith("ci sei?")
    assert len(line.outbound()) == before  # no bot reply queued


def test_a_bounce_marks_the_reply_failed_and_is_shown_in_the_conversation(line: Line) -> None:
    line.write(compose("ciao, ho bisogno di parlare"))
    [reply] = line.wait_replies(1)
    our_id = str(reply.message["Message-ID"])
    wait_until(lambda: any(m.status == "sent" for m in line.outbound()), 30, what="sent")
    before = len(line.outbound())

    dsn = sample("bounce_dsn.eml").replace(b"<sos.bounced0001@example.org>", our_id.encode())
    line.write(dsn.replace(b"giovane@example.com", YOUNG.encode()))

    def bounced() -> Message | None:
        return next(
            (m for m in line.outbound() if m.external_id == our_id and m.status == "failed"), None
        )

    failed = wait_until(bounced, 60, what="the reply marked failed")
    assert failed.error_code == "bounce"
    assert failed.error_message and "5.1.1" in failed.error_message
    assert YOUNG not in failed.error_message  # no address in what listeners and logs see
    stored = line.wait_inbound(2)
    assert stored[1].meta["mail_kind"] == "bounce"
    assert stored[1].meta["bounce"]["message"] == failed.id
    assert stored[1].conversation_id == stored[0].conversation_id  # where listeners look
    assert YOUNG not in stored[1].body
    line.settle()
    assert len(line.outbound()) == before  # nobody answers a bounce
    assert all("mailer-daemon" not in r.rcpt_tos[0] for r in line.smtp.received)


def test_charset_garbage_and_html_only_mail_are_read_and_answered(line: Line) -> None:
    cases = {
        "unknown_8bit.eml": ("luca@example.org", "Perché nessuno mi capisce? È difficile."),
        "mislabelled.eml": ("sara@example.org", "Perché è così difficile? Città"),
        "header_8bit.eml": ("nicco@example.org", "ciao"),
        "bad_base64.eml": ("bea@example.org", "Mi sento molto giù oggi."),
        "html_only.eml": ("anna@example.org", "Non riesco più a dormire e ho paura."),
    }
    for name in cases:
        line.write(sample(name))
    line.wait_inbound(len(cases))
    for name, (sender, text) in cases.items():
        [message] = [
            m
            for m in line.inbound()
            if m.meta["message_id"]
            and sender.split("@")[0] in m.meta["message_id"]
            or _from(line, m) == sender
        ]
        assert text in message.body, name
        assert "<" not in message.body and "\ufffd" not in message.body
        line.wait_replies(1, to=sender)
    subjects = {_from(line, m): m.meta["subject"] for m in line.inbound()}
    assert subjects["nicco@example.org"] == "perché è così"  # 8-bit header, repaired


def _from(line: Line, message: Message) -> str:
    return _from_rt(line.rt, message)


def _from_rt(rt: Runtime, message: Message) -> str:
    with read_session(rt.db) as session:
        conversation = session.get(Conversation, message.conversation_id)
        contact = session.get(Contact, conversation.contact_id) if conversation else None
        return contact.address if contact else ""


def test_unparseable_mail_is_kept_raw_for_listeners(line: Line) -> None:
    line.write(sample("garbage.eml"))
    line.write(sample("garbage.eml").replace(b"binary junk", b"other junk"))
    first, second = line.wait_inbound(2)
    assert first.meta["raw"] and first.meta["mail_kind"] == "unreadable"
    assert _from(line, first).endswith("@invalid")  # nobody to answer, and no address made up
    # mail with no readable sender never meets mail from someone else in one conversation
    assert first.conversation_id != second.conversation_id
    assert {_queued(line, m) for m in (first, second)} == {("waiting", "unreadable")}
    assert line.outbound() == []


def _nested_multipart(levels: int, sender: str) -> bytes:
    head = (
        f"From: Giulia Rossi <{sender}>\r\nTo: {LINE}\r\nSubject: aiuto\r\n"
        f"Message-ID: <deep.{levels}@mail.example.com>\r\nMIME-Version: 1.0\r\n"
    )
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels)
    )
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(levels)))
    return (
        head + opening + "Content-Type: text/plain\r\n\r\nho bisogno di aiuto\r\n" + closing
    ).encode()


def _nested_messages(levels: int, sender: str) -> bytes:
    head = (
        f"From: Luca <{sender}>\r\nTo: {LINE}\r\nSubject: ciao\r\n"
        f"Message-ID: <inner.{levels}@mail.example.com>\r\nMIME-Version: 1.0\r\n"
    )
    inner = "".join(
        f"Content-Type: message/rfc822\r\n\r\nSubject: livello {i}\r\n" for i in range(levels)
    )
    return (head + inner + "Content-Type: text/plain\r\n\r\nci sono\r\n").encode()


@pytest.mark.timeout(300)  # storing 1,100 levels takes pymap seconds, more on a loaded machine
def test_a_mail_nested_too_deep_keeps_its_sender_and_reaches_a_listener(line: Line) -> None:
    limit = sys.getrecursionlimit()
    # pymap parses what it stores by recursion, also when the line fetches it (in the server's
    # thread, at any moment): raised for the whole test. Real servers don't need it.
    sys.setrecursionlimit(20_000)
    try:
        _nested_mail_reaches_a_listener(line)
    finally:
        sys.setrecursionlimit(limit)


def _nested_mail_reaches_a_listener(line: Line) -> None:
    line.write(_nested_multipart(1100, YOUNG))  # Python's own parser fails past ~1000
    line.write(_nested_messages(400, "luca@example.org"))
    deep, messages = line.wait_inbound(2, timeout=240)
    assert _from(line, deep) == YOUNG and _from(line, messages) == "luca@example.org"
    assert deep.conversation_id != messages.conversation_id
    for stored in (deep, messages):
        assert stored.meta["mail_kind"] == "unreadable"
        assert _queued(line, stored) == ("waiting", "unreadable")
        # the addresses are behind the coordinators' audited reveal, not in what is shown
        shown = stored.body + stored.meta["raw"] + stored.meta.get("full_text", "")
        assert "@example" not in shown
    assert deep.meta["subject"] == "aiuto" and "From:" not in deep.body  # headers read apart
    assert deep.meta["message_id"] == "<deep.1100@mail.example.com>"
    assert line.outbound() == []  # the bot never answers what it could not read


def _queued(line: Line, message: Message) -> tuple[str, str | None]:
    with read_session(line.rt.db) as session:
        conversation = session.get(Conversation, message.conversation_id)
        assert conversation is not None
        return conversation.status, conversation.escalation_reason


def test_huge_attachment_is_listed_not_downloaded(make_line: Callable[..., Line]) -> None:
    line = make_line(SOS_EMAIL_MAX_MESSAGE_BYTES=1_000_000, SOS_EMAIL_MAX_ATTACHMENT_BYTES=500_000)
    mail = message_from_bytes(compose("Vi mando il video di quello che è successo."))
    from email.message import EmailMessage

    big = EmailMessage()
    for key in ("From", "To", "Subject", "Date", "Message-ID"):
        big[key] = mail[key]
    big.set_content("Vi mando il video di quello che è successo.")
    video = bytes(range(256)) * (3 * 1024 * 1024 // 256)  # 3 MiB
    big.add_attachment(video, maintype="video", subtype="mp4", filename="video.mp4")
    line.write(bytes(big))

    [stored] = line.wait_inbound(1)
    assert stored.body.endswith("Vi mando il video di quello che è successo.")
    [attachment] = stored.media
    assert attachment["name"] == "video.mp4" and attachment["type"] == "video/mp4"
    assert abs(attachment["size"] - len(video)) < len(video) // 50  # the real size, from IMAP
    assert attachment["over_limit"] and set(attachment) == {"name", "type", "size", "over_limit"}
    assert "truncated" in stored.meta["problems"]
    line.wait_replies(1)


def test_smtp_server_down_then_back_sends_once(line: Line) -> None:
    line.smtp.stop()
    line.write(compose("c'è qualcuno?"))
    line.wait_inbound(1)

    def retrying() -> bool:
        rows = line.outbound()
        return bool(rows) and all(m.attempts >= 2 and m.status == "queued" for m in rows)

    wait_until(retrying, 60, what="the reply to be retried")
    assert line.smtp.received == []
    line.smtp.start()
    [reply] = line.wait_replies(1)
    line.settle()  # no row left to send or to retry
    assert len(line.replies()) == 1
    [row] = line.outbound()
    assert row.external_id == str(reply.message["Message-ID"]) and row.error_message is None


def test_an_auto_reply_does_not_undo_an_erasure(line: Line) -> None:
    line.write(compose("CANCELLA", message_id="<erase1@mail.example.com>"))
    (asked,) = line.wait_replies(1)
    line.write(compose(one_time_code(asked), message_id="<erase2@mail.example.com>"))

    def erasing() -> Contact | None:
        with read_session(line.rt.db) as session:
            found = session.exec(select(Contact).where(Contact.address == YOUNG)).first()
            return found if found is None or found.erase_requested_at else None

    wait_until(lambda: erasing() is not None or _gone(line), 60, what="the erasure")
    line.write(sample("auto_reply_gmail.eml"))  # their mailbox answers our confirmation
    line.write(compose("sono un'altra persona", sender="probe@example.org"))
    line.wait_replies(1, to="probe@example.org")
    with read_session(line.rt.db) as session:
        person = session.exec(select(Contact).where(Contact.address == YOUNG)).first()
    assert person is None or person.erase_requested_at is not None


def _gone(line: Line) -> bool:
    with read_session(line.rt.db) as session:
        return session.exec(select(Contact).where(Contact.address == YOUNG)).first() is None


def test_a_mail_that_fails_to_store_is_kept_raw_and_not_quoted_in_the_log(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    receive = inbox.receive
    calls: list[int] = []

    def fails_once(rt_: Runtime, inbound: Inbound, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError(f"unexpected: {inbound.text} from {inbound.address}")
        return receive(rt_, inbound, **kw)

    monkeypatch.setattr(inbox, "receive", fails_once)  # the one intake calls
    receipt = intake.take_in(rt, compose("mi sento sola stasera"))
    with read_session(rt.db) as session:
        stored = session.get(Message, receipt.message_id)
    assert stored is not None and "mi sento sola stasera" in stored.meta["raw"]
    assert stored.meta["problems"] == ["store_error"]
    assert _from_rt(rt, stored) == YOUNG  # in the young person's conversation, unanswered
    assert "mi sento sola" not in caplog.text and YOUNG not in caplog.text
    assert "ValueError" in caplog.text


def test_a_huge_html_mail_is_cut_before_it_is_converted(
    make_line: Callable[..., Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.channels.email import parse, text

    converted: list[int] = []
    real = text.html_to_text

    def measured(html: str) -> str:
        converted.append(len(html))
        return real(html)

    monkeypatch.setattr(parse, "html_to_text", measured)
    line = make_line()
    filler = "<p style='color:#333'>una riga di una newsletter enorme</p>\n" * 60_000
    html = f"<html><body><p>Vi scrivo perché ho paura.</p>{filler}</body></html>"
    assert len(html) > 3_000_000
    line.write(compose("", html=html))  # an empty plain part: the HTML is what they wrote
    [stored] = line.wait_inbound(1)
    assert converted and max(converted) <= 1_000_000  # cut first, then converted
    assert "ho paura" in stored.body
    assert "text_truncated" in stored.meta["problems"]
