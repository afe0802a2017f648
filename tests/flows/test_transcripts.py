"""Recorded conversations: a young person writes X -> the bot answers Y, the queue shows Z."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flows import Pack
from tests.flows.transcript import FOLDER, dump, load, play

UPDATE = os.environ.get("UPDATE_TRANSCRIPTS") == "1"
FILES = sorted(FOLDER.glob("*.toml"))


def test_there_are_transcripts() -> None:
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_transcript(pack: Pack, path: Path) -> None:
    script = load(path)
    events = play(pack, script)
    if UPDATE:
        dump(path, script, events)
        return
    for number, (turn, got) in enumerate(zip(script["turn"], events, strict=True), 1):
        said = turn.get("send", "(no answer: timeout)")
        assert got == turn.get("event", []), f"{path.name}, turn {number}: {said!r}"
