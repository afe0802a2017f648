"""A coordinator edits the content while conversations are open: nobody is sent to the queue."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from bot import config
from bot.conversations import Status
from bot.db import read_session
from bot.inbox import receive
from bot.models import Conversation
from bot.runtime import Runtime
from flows import load_pack
from flows.pack import DEFAULT_DIR
from flows.state import FlowState
from tests.core.helpers import inbound

OPEN = 100


def _renamed(folder: Path) -> Path:
    """The default pack with the privacy node and the FAQ on personal data renamed."""
    shutil.copytree(DEFAULT_DIR, folder)
    flow = folder / "flow.toml"
    flow.write_text(
        flow.read_text()
        .replace('goto = "privacy"', 'goto = "riservatezza"')
        .replace("node.privacy", "node.riservatezza")
        .replace('faq = "privacy-dati"', 'faq = "dati-personali"')
    )
    faq = folder / "faq.toml"
    faq.write_text(faq.read_text().replace("[privacy-dati]", "[dati-personali]"))
    return folder


def _waiting(rt: Runtime) -> int:
    with read_session(rt.db) as session:
        query = select(func.count()).where(Conversation.status == Status.WAITING)
        return int(session.exec(query).one())


def test_a_content_edit_under_open_conversations_does_not_flood_the_queue(
    settings: config.Settings, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rt = Runtime.create(settings, engine=engine)
    addresses = [f"whatsapp:+39333{i:07d}" for i in range(OPEN)]
    for i, address in enumerate(addresses):
        receive(rt, inbound("ciao", address=address))
        receive(rt, inbound("4" if i % 2 else "dati", address=address))  # a node, a FAQ offered
    with read_session(rt.db) as session:
        states = [FlowState.from_json(c.flow_state) for c in session.exec(select(Conversation))]
    assert sum(s.node == "privacy" for s in states) == OPEN // 2
    assert sum(any(faq == "privacy-dati" for faq, _ in s.choices) for s in states) == OPEN // 2
    before = _waiting(rt)

    caplog.set_level(logging.WARNING, logger="bot.conversations")
    edited = Runtime.create(settings, engine=engine, pack=load_pack(_renamed(tmp_path / "pack")))
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.conversations"]
    assert logged == [
        f"repaired {OPEN} flow states pointing at content that is gone: back to the start"
    ]  # one line, a count: no content, no conversation
    for address in addresses:
        receipt = receive(edited, inbound("1", address=address))  # option 1 of the start node
        assert receipt.escalated is None and receipt.replies
    assert _waiting(edited) == before
