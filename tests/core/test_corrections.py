"""Triage corrections: what the bot read, kept while retention allows, then only the counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from click.testing import CliRunner

from bot import corrections
from bot.cli import cli
from bot.db import write_session
from bot.inbox import receive
from bot.models import Conversation, Operator, TriageCorrection, utcnow
from bot.runtime import Runtime
from bot.worker import purge
from operators import accounts
from tests.core.helpers import inbound, rows


def _listener(rt: Runtime) -> Operator:
    with write_session(rt.db) as session:
        return accounts.create(session, "anna", "una-password-lunga", "listener")


def _correct(rt: Runtime, conversation_id: str | None, category: str) -> None:
    listener = _listener(rt)
    with write_session(rt.db) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        corrections.record(session, conversation, listener, category, utcnow())


def _close(rt: Runtime, conversation_id: str | None, days_ago: int) -> None:
    with write_session(rt.db) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status, conversation.closed_at = "closed", utcnow() - timedelta(days_ago)
        session.add(conversation)


def test_a_correction_keeps_the_message_and_what_the_bot_did(rt: Runtime) -> None:
    receipt = receive(rt, inbound("quanto costa?", address="whatsapp:+39faq"))
    receive(rt, inbound("grazie", address="whatsapp:+39faq"))
    _correct(rt, receipt.conversation_id, "should_be_listener")
    (found,) = rows(rt, TriageCorrection)
    assert (found.category, found.reading, found.text) == (
        "should_be_listener",
        "faq:gratuito",
        "quanto costa?",
    )  # the first message by default
    assert found.conversation_id == receipt.conversation_id and found.operator_id


def test_a_crisis_reading_is_named_by_its_escalation(rt: Runtime) -> None:
    receipt = receive(rt, inbound("muoio dal ridere ma voglio morire"))
    _correct(rt, receipt.conversation_id, "not_crisis")
    (found,) = rows(rt, TriageCorrection)
    assert found.reading == "crisis:suicide"


def test_unknown_category_is_refused(rt: Runtime) -> None:
    receipt = receive(rt, inbound("ciao"))
    with pytest.raises(corrections.CorrectionError):
        _correct(rt, receipt.conversation_id, "boh")
    assert rows(rt, TriageCorrection) == []


def test_after_retention_only_category_and_counts_remain(rt: Runtime) -> None:
    rt.settings.privacy.retention_days = 30
    old = receive(rt, inbound("mi sono tagliata i capelli", address="whatsapp:+39old"))
    _correct(rt, old.conversation_id, "not_crisis")
    recent = receive(rt, inbound("sto male", address="whatsapp:+39new"))
    with write_session(rt.db) as session:
        listener = session.get(Operator, rows(rt, Operator)[0].id)
        conversation = session.get(Conversation, recent.conversation_id)
        assert listener is not None and conversation is not None
        corrections.record(session, conversation, listener, "should_be_crisis", utcnow())
    _close(rt, old.conversation_id, 31)
    _close(rt, recent.conversation_id, 1)
    assert purge(rt) == 1
    by_category = {c.category: c for c in rows(rt, TriageCorrection)}
    gone = by_category["not_crisis"]
    assert (gone.text, gone.message_id, gone.conversation_id, gone.operator_id) == (
        None,
        None,
        None,
        None,
    )
    assert gone.reading and gone.created_at  # what the bot did, and when: no personal data
    assert by_category["should_be_crisis"].text == "sto male"  # within retention: kept
    assert corrections.counts(rows(rt, TriageCorrection)) == {
        "should_be_crisis": 1,
        "not_crisis": 1,
        "should_be_listener": 0,
    }


def test_cancella_scrubs_the_message_copy(rt: Runtime) -> None:
    web = {"channel": "web", "address": "sim:erase"}
    receipt = receive(rt, inbound("quando aprite? a casa è un casino", **web))
    _correct(rt, receipt.conversation_id, "should_be_listener")
    receive(rt, inbound("CANCELLA", **web))
    receive(rt, inbound("si", **web))
    (found,) = rows(rt, TriageCorrection)
    assert found.text is None and found.conversation_id is None
    assert found.category == "should_be_listener"


def test_csv_lists_every_correction(rt: Runtime) -> None:
    receipt = receive(rt, inbound("è gratis, vero?"))
    _correct(rt, receipt.conversation_id, "should_be_listener")
    table = list(csv.DictReader(io.StringIO(corrections.as_csv(rows(rt, TriageCorrection)))))
    assert [(r["category"], r["reading"], r["text"]) for r in table] == [
        ("should_be_listener", "faq:gratuito", "è gratis, vero?")
    ]


def test_command_prints_the_counts_and_the_csv(rt: Runtime, database_url: str) -> None:
    receipt = receive(rt, inbound("a che ora aprite?"))
    _correct(rt, receipt.conversation_id, "should_be_listener")
    env = {"SOS_DATABASE_URL": database_url, "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00"}
    counts = CliRunner().invoke(cli, ["triage", "corrections"], env=env)
    assert counts.exit_code == 0, counts.output
    assert "1  should_be_listener" in counts.output and "0  not_crisis" in counts.output
    table = CliRunner().invoke(cli, ["triage", "corrections", "--csv"], env=env)
    assert table.exit_code == 0, table.output
    (row,) = csv.DictReader(io.StringIO(table.output))
    assert row["text"] == "a che ora aprite?" and row["reading"] == "faq:orari"
