"""Words to lemma keys (flows.lemmas): the dictionaries are read in place, the keys are the same."""

from __future__ import annotations

import pytest
from simplemma.strategies.dictionaries import StreamDictionaryFactory

from flows.lemmas import LEMMAS


def test_the_dictionaries_are_read_in_place_not_unpacked() -> None:
    """Unpacked into Python dicts, the Italian and English dictionaries took some 70 MB."""
    assert isinstance(LEMMAS.dictionaries, StreamDictionaryFactory)


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (["taglio", "tagliando", "tagliata", "tagli", "tagliarmi"], "tagl"),
        (["muoio", "morto", "morirei"], "morire"),
        (["ammazzare", "ammazzato", "ammazzo"], "ammazzare"),
    ],
)
def test_every_inflection_shares_the_key(words: list[str], key: str) -> None:
    for word in words:
        *_, verb = LEMMAS.pieces(word)
        assert key in verb.keys, (word, sorted(verb.keys))
        assert verb.known, word


def test_a_joined_pronoun_is_read_first_and_dialect_as_standard_italian() -> None:
    pronoun, verb = LEMMAS.pieces("tagliandomi")
    assert (pronoun.surface, verb.surface, verb.joined) == ("mi", "tagliando", True)
    (standard,) = LEMMAS.pieces("tajando")  # Romanesco "j" for "gli"
    assert standard.surface == "tagliando" and "tagl" in standard.keys


def test_a_word_known_in_one_language_is_keyed_in_that_one_alone() -> None:
    (english,) = LEMMAS.pieces("running")
    assert english.keys == {"=runing", "run"}
    (unknown,) = LEMMAS.pieces("amazzare")  # a typo: not a word of either dictionary
    assert not unknown.known and "=amazare" in unknown.keys
