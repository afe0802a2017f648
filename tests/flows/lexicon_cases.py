"""Shared shape of the lexicon rounds' tests: classes of messages, each with the disclosures that
must be crises and, where a round narrowed or widened an entry, the harmless look-alikes that
must not be. Each is checked with the lexicon alone (the examples switched off) and as shipped."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from flows import Pack, triage

Cases = list[tuple[str, str]]  # (class label, message)


def each_text(classes: Mapping[str, Sequence[str]]) -> Cases:
    """Every message of every class, with its label (parametrize's ids stay readable)."""
    return [(label, text) for label, texts in classes.items() for text in texts]


def crises(classes: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> Cases:
    return each_text({label: pair[0] for label, pair in classes.items()})


def look_alikes(classes: Mapping[str, tuple[Sequence[str], Sequence[str]]]) -> Cases:
    return each_text({label: pair[1] for label, pair in classes.items()})


def lexicon_alone(pack: Pack) -> Pack:
    return dataclasses.replace(pack, examples=None)


def assert_crisis(pack: Pack, label: str, text: str, *, shipped: bool = True) -> None:
    """A crisis for the lexicon alone, and (`shipped`) with the examples too."""
    for each in (lexicon_alone(pack), pack) if shipped else (lexicon_alone(pack),):
        t = triage(each, text)
        assert (t.intent, t.priority) == ("crisis", "crisis"), (label, t)


def assert_no_crisis(pack: Pack, label: str, text: str) -> None:
    """No crisis priority, with the lexicon alone or with the examples."""
    for each in (lexicon_alone(pack), pack):
        t = triage(each, text)
        assert t.priority != "crisis", (label, t)
