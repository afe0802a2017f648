"""The typed, versioned flow state: stored as JSON, migrated, fitted to a changed pack."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from flows import Context, Pack, step
from flows.events import Escalate
from flows.state import VERSION, ErasureCode, FlowState

Make = Callable[..., Context]
UNTIL = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def test_a_state_stored_before_versions_reads_as_the_current_version() -> None:
    untyped = {  # what the engine stored when the state was a plain dict
        "node": "faq",
        "choices": [["orari", 60.5], ["anonimato", 58]],
        "lang": "en",
        "crisis": 2,
        "confirm": "erase_code",
        "reminded": True,
        "raised": True,
        "media": True,
        "answered": True,
        "code": {"digest": "ab12", "until": UNTIL.isoformat(), "tries": 1},
        "broken": "a key nobody knows any more",
    }
    state = FlowState.from_json(untyped)
    assert state == FlowState(
        version=VERSION,
        lang="en",
        node="faq",
        choices=[("orari", 60.5), ("anonimato", 58.0)],
        answered=True,
        crisis=2,
        media=True,
        confirm="erase_code",
        code=ErasureCode("ab12", UNTIL, 1),
        reminded=True,
        raised=True,
    )
    stored = json.loads(json.dumps(state.to_json()))
    assert stored["version"] == VERSION and "broken" not in stored
    assert FlowState.from_json(stored) == state


def test_values_of_the_wrong_type_are_dropped_not_trusted() -> None:
    odd = {
        "version": "1",
        "node": 3,
        "choices": [["orari"], "x", ["ok", "60"]],
        "crisis": True,
        "code": {"digest": "ab", "until": "yesterday"},
        "closed": "yes",
    }
    assert FlowState.from_json(odd) == FlowState()
    assert FlowState.from_json(None) == FlowState() == FlowState.from_json({})


def test_a_state_pointing_at_removed_content_goes_back_to_the_start(pack: Pack) -> None:
    fine = FlowState(node="faq", choices=[("orari", 60.0)], lang="en", crisis=1)
    assert fine.fits(pack) and fine.fitted(pack) is fine
    for stale in (
        FlowState(node="vecchio-menu", lang="en", crisis=1),
        FlowState(node="faq", choices=[("orari", 60.0), ("tolta", 55.0)], lang="en", crisis=1),
    ):
        assert not stale.fits(pack)
        assert stale.fitted(pack) == FlowState(lang="en", crisis=1)  # the rest is kept


def test_a_message_to_a_stale_state_is_answered_not_escalated(pack: Pack, context: Make) -> None:
    stale = FlowState(node="vecchio-menu", choices=[("tolta", 60.0)])
    result = step(pack, stale, "1", context(lang="it"))  # option 1 of the start node
    assert not any(isinstance(e, Escalate) for e in result.events)
    first = pack.nodes[pack.start].option("1")
    assert first is not None and result.state.node == first.goto
