"""Retention: old closed conversations are anonymised; nothing recent is touched."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner

from bot.cli import cli
from bot.db import write_session
from bot.inbox import receive
from bot.models import AuditEvent, Contact, Conversation, Message, utcnow
from bot.runtime import Runtime
from bot.worker import purge
from tests.core.helpers import inbound, rows


def _close(rt: Runtime, conversation_id: str | None, days_ago: int) -> None:
    with write_session(rt.db) as session:
        conv = session.get(Conversation, conversation_id)
        assert conv is not None
        conv.status = "closed"
        conv.closed_at = utcnow() - timedelta(days=days_ago)
        conv.topics = ["scuola"]
        session.add(conv)


def test_purge_anonymises_only_what_is_older_than_retention(rt: Runtime) -> None:
    rt.settings.privacy.retention_days = 30
    old = receive(rt, inbound("ciao", address="whatsapp:+39old"))
    _close(rt, old.conversation_id, 31)
    recent = receive(rt, inbound("ciao", address="whatsapp:+39new"))
    _close(rt, recent.conversation_id, 29)
    still_open = receive(rt, inbound("ciao", address="whatsapp:+39open"))
    assert purge(rt) == 1
    addresses = {c.address for c in rows(rt, Contact)}
    assert addresses == {"whatsapp:+39new", "whatsapp:+39open"}
    assert rows(rt, Message, Message.conversation_id == old.conversation_id) == []
    kept = rows(rt, Conversation, Conversation.id == old.conversation_id)[0]
    assert kept.contact_id is None and kept.topics == ["scuola"]  # anonymous counts remain
    assert rows(rt, Message, Message.conversation_id == recent.conversation_id)
    assert rows(rt, Message, Message.conversation_id == still_open.conversation_id)
    assert [e.action for e in rows(rt, AuditEvent)] == ["retention_purge"]
    assert purge(rt) == 0


def test_contact_with_a_recent_conversation_is_kept(rt: Runtime) -> None:
    rt.settings.privacy.retention_days = 30
    first = receive(rt, inbound("ciao"))
    _close(rt, first.conversation_id, 60)
    receive(rt, inbound("sono tornato"))
    purge(rt)
    assert len(rows(rt, Contact)) == 1


def test_purge_command(rt: Runtime, database_url: str) -> None:
    first = receive(rt, inbound("ciao"))
    _close(rt, first.conversation_id, 1000)
    env = {"SOS_DATABASE_URL": database_url, "SOS_SERVICE_HOURS": "mon-sun 00:00-24:00"}
    result = CliRunner().invoke(cli, ["purge"], env=env)
    assert result.exit_code == 0, result.output
    assert "anonymised 1 conversations" in result.output
    assert rows(rt, Contact) == []
