"""Retention: old closed conversations are anonymised; nothing recent is touched."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot.channel import PermanentFailure, Sent
from bot.cli import cli
from bot.db import write_session
from bot.inbox import receive
from bot.models import AuditEvent, Contact, Conversation, Message, utcnow
from bot.pseudonym import name_for, pseudonym
from bot.runtime import Runtime
from bot.worker import deliver_due, purge
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


def test_erased_text_is_left_neither_in_the_database_nor_in_its_log(
    rt: Runtime, database_url: str
) -> None:
    if not database_url.startswith("sqlite:///"):
        pytest.skip("SQLite's own files")
    path = Path(database_url.removeprefix("sqlite:///"))
    marker = f"segreto-{uuid.uuid4().hex}"
    receive(rt, inbound(f"ti racconto un {marker} che non ho mai detto"))
    receive(rt, inbound("CANCELLA"))
    receive(rt, inbound("sì"))
    with rt.db.connect() as conn:  # deleted rows are overwritten, whatever the build's default
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    log = path.with_name(path.name + "-wal")
    for file in (path, log):
        assert not file.exists() or marker.encode() not in file.read_bytes(), file.name


def test_pseudonyms_come_from_chance_not_from_the_number() -> None:
    names = {pseudonym() for _ in range(50)}
    assert len(names) > 40 and all(" " in n for n in names)
    assert name_for(b"\x00" * 8) == name_for(b"\x00" * 8)


def test_an_opted_out_contact_gets_nothing_left_in_flight(rt: Runtime) -> None:
    """A message a worker was sending when STOP arrived is not sent again after its lease."""
    refusing = _Refusing()
    rt.senders["whatsapp"] = refusing
    first = receive(rt, inbound("ciao"))
    with write_session(rt.db) as session:
        for message in session.exec(select(Message).where(Message.direction == "out")):
            message.status, message.lease_until = "sending", utcnow() - timedelta(seconds=1)
            session.add(message)
    receive(rt, inbound("STOP"))
    deliver_due(rt)
    old = rows(
        rt, Message, Message.conversation_id == first.conversation_id, Message.direction == "out"
    )
    assert all(m.status == "failed" and m.error_code == "opted_out" for m in old[:-1])
    assert old[-1].status == "failed" and old[-1].error_code == "refused"  # the confirmation
    assert refusing.bodies == [old[-1].body]  # was tried; nothing sent before the STOP was


class _Refusing:
    """A sender that records what it is asked to send, and refuses it."""

    channel = "whatsapp"

    def __init__(self) -> None:
        self.bodies: list[str] = []  # this test's own, not shared with the next run

    def send(self, message: Message, contact: Contact, conversation: Conversation) -> Sent:
        self.bodies.append(message.body)
        raise PermanentFailure("refused in the test", code="refused")
