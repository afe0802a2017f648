"""Loop protection rules: which mail gets no automatic answer, and the daily limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels.email.loops import classify, over_daily_limit
from bot.channels.email.parse import parse
from bot.db import read_session, write_session
from bot.models import Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from tests.email.conftest import LINE, compose, sample


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("plain_utf8.eml", "person"),
        ("reply_gmail_it.eml", "person"),
        ("html_only.eml", "person"),
        ("auto_reply_gmail.eml", "auto_reply"),  # Auto-Submitted: auto-replied
        ("out_of_office_outlook.eml", "auto_reply"),  # Exchange rules / out of office
        ("autoreply_x_header.eml", "auto_reply"),  # X-Autoreply
        ("newsletter.eml", "bulk"),  # Precedence: bulk
        ("mailing_list.eml", "list"),  # List-Id
        ("noreply.eml", "no_reply"),
        ("empty_return_path.eml", "auto_reply"),  # Return-Path: <>
        ("bounce_dsn.eml", "bounce"),
        ("bounce_plain.eml", "bounce"),
        ("bounce_delayed.eml", "bounce"),
        ("read_receipt.eml", "report"),
        ("garbage.eml", "unreadable"),
    ],
)
def test_classification(name: str, kind: str) -> None:
    verdict = classify(parse(sample(name)), LINE)
    assert verdict.kind == kind
    assert verdict.answer is (kind == "person")


@pytest.mark.parametrize(
    ("headers", "answered"),
    [
        ({"Auto-Submitted": "no"}, True),
        ({"Auto-Submitted": "auto-generated"}, False),
        ({"Auto-Submitted": "auto-notified; owner-email=x@y.z"}, False),
        ({"Precedence": "junk"}, False),
        ({"Precedence": "list"}, False),
        ({"Precedence": "auto_reply"}, False),
        ({"X-Autorespond": "yes"}, False),
        ({"X-Autoreply": "no"}, True),
        ({"List-Post": "<mailto:lista@example.org>"}, False),
    ],
)
def test_header_rules(headers: dict[str, str], answered: bool) -> None:
    assert classify(parse(compose("ciao", headers=headers)), LINE).answer is answered


@pytest.mark.parametrize(
    ("sender", "answered"),
    [
        ("noreply@example.com", False),
        ("no-reply@example.com", False),
        ("do-not-reply@example.com", False),
        ("donotreply@example.com", False),
        ("MAILER-DAEMON@example.com", False),
        ("postmaster@example.com", False),
        ("notifications@example.com", False),
        ("bounces+123@example.com", False),
        (LINE, False),  # our own mail coming back
        ("noemi@example.com", True),
        ("replyguy@example.com", True),
    ],
)
def test_sender_rules(sender: str, answered: bool) -> None:
    assert classify(parse(compose("ciao", sender=sender, name="")), LINE).answer is answered


@pytest.mark.parametrize(
    ("subject", "answered"),
    [
        ("Risposta automatica: Re: ciao", False),
        ("Automatic reply: ciao", False),
        ("Out of Office: ciao", False),
        ("Fuori ufficio", False),
        ("Sono fuori sede e mi sento sola", True),  # a student away from home, not an autoresponder
        ("Assente da scuola da una settimana", True),
    ],
)
def test_out_of_office_subjects(subject: str, answered: bool) -> None:
    assert classify(parse(compose("testo", subject=subject)), LINE).answer is answered


def test_daily_limit_counts_automatic_mail_to_the_address(rt: Runtime) -> None:
    now = utcnow()
    with write_session(rt.db) as session:
        person = Contact(channel="email", address="a@example.org", pseudonym="Airone 1")
        other = Contact(channel="email", address="b@example.org", pseudonym="Airone 2")
        session.add_all([person, other])
        session.flush()
        conv = Conversation(contact_id=person.id, channel="email")
        conv_other = Conversation(contact_id=other.id, channel="email")
        session.add_all([conv, conv_other])
        session.flush()

        def mail(conversation: Conversation, author: str, age: timedelta) -> Message:
            return Message(
                conversation_id=conversation.id,
                channel="email",
                direction="out",
                author=author,
                body="x",
                created_at=now - age,
            )

        session.add_all(
            [
                mail(conv, "bot", timedelta(hours=1)),
                mail(conv, "system", timedelta(hours=2)),
                mail(conv, "bot", timedelta(hours=30)),  # yesterday: does not count
                mail(conv, "listener", timedelta(minutes=5)),  # a person wrote it: does not count
                mail(conv_other, "bot", timedelta(minutes=1)),
            ]
        )
    with read_session(rt.db) as session:
        assert over_daily_limit(session, "a@example.org", 2, now)
        assert not over_daily_limit(session, "a@example.org", 3, now)
        assert not over_daily_limit(session, "c@example.org", 1, now)
