"""Lexicon entries whose "a|b" choice was written as if it held several words.

In a phrase, `a|b` chooses between single words: "dormo male|non dormo" is "dormo", then "male"
or "non", then "dormo", and never finds "dormo male". These entries were rewritten as their
authors meant them (several phrases, or a choice of single words); each message below is one the
old entry was written for, and a crisis for the lexicon alone only since the rewrite.
"""

from __future__ import annotations

import dataclasses

import pytest

from flows import Pack, triage

MEANT: list[tuple[str, str]] = [
    # crisis.toml "odio la mia vita|vita": "odio la mia vita" or "odio la vita"
    ("odio la vita", "raga io odio la vita ormai"),
    # crisis.toml "... come si fa|farlo|farla|morire": "come si fa" or "come morire"
    ("come morire", "mi sono informato come morire senza sentire niente"),
    # crisis.toml "if i ... was|were not ... in it|there|anymore"
    ("not there anymore", "if i was not there anymore nobody would care"),
    # crisis.toml "my time ... is up|has come"
    ("my time has come", "i feel like my time has come"),
    # crisis.toml "giorni ... solo acqua|non mangio|digiuno|digiun*"
    ("giorni non mangio", "sono 4 giorni che nn mangio niente"),
    # crisis.toml "nothing but|only|just water ... since|days|week|faint|dizzy"
    ("only water", "only water since monday and i feel dizzy"),
    ("just water", "just water for days now"),
    # risk.toml "quante|quanti|quanto ... servono|ci vogliono|bastano|basta", with a means
    ("quante servono", "quante ne servono di tachipirina"),
]


@pytest.mark.parametrize(("entry", "text"), MEANT)
def test_rewritten_choice_is_a_crisis_for_the_lexicon_alone(
    pack: Pack, entry: str, text: str
) -> None:
    t = triage(dataclasses.replace(pack, examples=None), text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), (entry, t)
