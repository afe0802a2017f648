"""A young person writes by e-mail → the bot answers in the same thread → their answer joins the
same conversation. Real IMAP (pymap) and SMTP (aiosmtpd) servers on loopback."""

from __future__ import annotations

from email.message import Message as MimeMessage

from tests.email.conftest import LINE, YOUNG, Line, compose
from tests.waiting import wait_until


def _header(mail: MimeMessage, name: str) -> str:
    return " ".join(str(mail.get(name, "")).split())


def test_mail_is_answered_in_its_thread_and_the_answer_joins_the_conversation(line: Line) -> None:
    first = compose(
        "Ciao, a scuola va tutto male e non so con chi parlare.",
        subject="Ho bisogno di aiuto",
        message_id="<first.1@mail.example.com>",
    )
    line.write(first)

    replies = line.wait_replies(1)
    reply = replies[0].message
    assert replies[0].mail_from == LINE and replies[0].rcpt_tos == [YOUNG]
    assert LINE in _header(reply, "From")
    assert _header(reply, "Subject") == "Re: Ho bisogno di aiuto"
    assert _header(reply, "In-Reply-To") == "<first.1@mail.example.com>"
    assert "<first.1@mail.example.com>" in _header(reply, "References")
    assert _header(reply, "Message-ID").endswith("@example.org>")
    assert _header(reply, "Auto-Submitted") == "auto-replied"
    assert _header(reply, "X-Auto-Response-Suppress") == "All"
    assert reply.get_content_type() == "text/plain"
    assert reply.get_content_charset() == "utf-8"
    body = reply.get_payload(decode=True)
    assert isinstance(body, bytes) and body.decode("utf-8").strip()

    stored = line.inbound()
    assert len(stored) == 1 and "a scuola va tutto male" in stored[0].body
    assert stored[0].meta["subject"] == "Ho bisogno di aiuto"
    sent = wait_until(
        lambda: [m for m in line.outbound() if m.status == "sent"],
        30,
        what="the outbox row marked sent",
    )
    assert sent[0].external_id == _header(reply, "Message-ID")

    # the young person answers the bot's mail, as a mail program does
    our_id = _header(reply, "Message-ID")
    answer = compose(
        "Sì, vorrei parlare con una persona.\n\nIl giorno lun 3 giu 2024 "
        f"S.O.S. <{LINE}> ha scritto:\n> testo del bot",
        subject="Re: Ho bisogno di aiuto",
        message_id="<second.2@mail.example.com>",
        in_reply_to=our_id,
        references=["<first.1@mail.example.com>", our_id],
    )
    line.write(answer)
    line.wait_inbound(2)
    stored = line.inbound()
    assert stored[1].conversation_id == stored[0].conversation_id
    assert stored[1].body == "Sì, vorrei parlare con una persona."  # triage sees the new text
    assert "testo del bot" in stored[1].meta["full_text"]  # the listener sees everything
    assert len(line.conversations()) == 1

    # whatever the bot answers next continues the same thread
    def threaded() -> list[MimeMessage]:
        return [
            r.message
            for r in line.replies()
            if _header(r.message, "In-Reply-To") == "<second.2@mail.example.com>"
        ]

    if any(m.author == "bot" for m in line.outbound()[len(sent) :]):
        later = wait_until(threaded, 60, what="a reply to the answer")[0]
        refs = _header(later, "References").split()
        assert refs[0] == "<first.1@mail.example.com>" and our_id in refs
        assert _header(later, "Subject") == "Re: Ho bisogno di aiuto"


def test_mail_is_marked_seen_only_once_stored_and_read_once(line: Line) -> None:
    uid = line.write(compose("prima mail", message_id="<once@mail.example.com>"))
    line.wait_inbound(1)
    wait_until(
        lambda: any(u == uid and "\\Seen" in flags for u, flags, _ in line.imap.messages()),
        30,
        what="the \\Seen flag",
    )
    line.wait_replies(1)
    # a copy of the same mail (same Message-ID) delivered again is not stored or answered twice
    line.write(compose("prima mail", message_id="<once@mail.example.com>"))
    line.write(compose("seconda mail", message_id="<twice@mail.example.com>"))
    line.wait_inbound(2)
    wait_until(
        lambda: all("\\Seen" in flags for _, flags, _ in line.imap.messages()),
        30,
        what="every mail marked seen",
    )
    assert [m.external_id for m in line.inbound()] == [
        "<once@mail.example.com>",
        "<twice@mail.example.com>",
    ]


def test_the_bots_answer_to_one_mail_is_one_mail(line: Line) -> None:
    """The first answer (welcome, privacy notice, reply) arrives as one mail, not several."""
    line.write(compose("Ciao, vorrei sapere come funziona il servizio."))
    line.wait_replies(1)
    line.settle()
    assert len(line.replies()) == 1 and len(line.outbound()) == 1


def test_join_replies_keeps_the_other_events_in_order() -> None:
    from bot.inbox import join_replies
    from flows.events import ConsentShown, Escalate, Event, Priority, Reply

    events: list[Event] = [
        ConsentShown(),
        Reply("benvenuto"),
        Escalate(Priority.HIGH, "personal"),
        Reply("ciao"),
    ]
    assert join_replies(events) == [
        ConsentShown(),
        Reply("benvenuto\n\nciao"),
        Escalate(Priority.HIGH, "personal"),
    ]
    assert join_replies([Reply("uno")]) == [Reply("uno")]
