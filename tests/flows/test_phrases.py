"""The phrase finder behind crisis and intent lexicons, and typo-tolerant look-up."""

from __future__ import annotations

import pytest

from flows.normalize import Normalizer
from flows.phrases import PhraseBook, PhraseSyntaxError
from flows.spelling import Vocabulary

NORMALIZE = Normalizer({"nn": "non", "+": "piu"})


def book(*rules: str | list[str], gap: int = 2) -> PhraseBook:
    b = PhraseBook(NORMALIZE, gap=gap)
    for i, rule in enumerate(rules):
        b.add(f"r{i}", rule)
    return b


def found(b: PhraseBook, text: str) -> str | None:
    hit = b.find(NORMALIZE(text))
    return hit.label if hit else None


def test_words_in_order_with_small_gaps() -> None:
    b = book("voglio morire")
    assert found(b, "voglio morire") == "r0"
    assert found(b, "voglio davvero tanto morire") == "r0"
    assert found(b, "voglio proprio davvero tanto morire") is None  # gap 2
    assert found(b, "morire voglio") is None


def test_choices_prefixes_and_wide_gaps() -> None:
    b = book("mi voglio|vorrei uccidere|ammazzare", "suicid*", "penso ... morire")
    assert found(b, "mi vorrei ammazzare") == "r0"
    assert found(b, "suicidarmi") == "r1"
    assert found(b, "ogni tanto penso che forse sarebbe meglio morire") == "r2"


def test_together_means_all_phrases_anywhere() -> None:
    b = book(["foto|video", "soldi"])
    assert found(b, "vuole soldi per non girare le foto") == "r0"
    assert found(b, "vuole soldi") is None


def test_same_normalisation_as_messages() -> None:
    b = book("non ce la faccio più")
    assert found(b, "nn ce la faccio +") == "r0"
    assert found(b, "NON CE LA FACCIOOO PIÙ") == "r0"


def test_one_typo_in_long_words_only() -> None:
    b = book("suicidarmi", "morire", "autolesion*")
    assert found(b, "suicidrami") == "r0"  # two letters swapped
    assert found(b, "autolesonismo") == "r2"  # a letter missing in a prefix
    assert found(b, "moire") is None  # short words must be exact


def test_real_words_are_not_typos() -> None:
    b = book("suicidarmi")
    b.protect({"suicidarti"})
    assert found(b, "suicidarti") is None


def test_what_a_word_stands_for_is_read_again_after_the_book_changes() -> None:
    b = book("voglio morire")
    assert found(b, "suicidrami") is None  # read (and remembered) while no rule knew it
    b.add("later", "suicidarmi")
    assert found(b, "suicidrami") == "later"  # a rule added later: the word is read afresh
    b.protect({"suicidrami"})
    assert found(b, "suicidrami") is None  # now a real word, never a typo


def test_skipped_positions_are_ignored() -> None:
    b = book("voglio morire")
    tokens = NORMALIZE("voglio morire dal ridere")
    assert b.find(tokens, skip=frozenset({1})) is None


def test_bad_phrases() -> None:
    with pytest.raises(PhraseSyntaxError):
        book("!!!")
    with pytest.raises(PhraseSyntaxError):
        book([])


def test_vocabulary_one_edit() -> None:
    v = Vocabulary(["orari", "gratuito", "anonimo", "costi"])
    assert v.near("orai") == ["orari"]  # a letter missing
    assert v.near("gratuiot") == ["gratuito"]  # swapped
    assert v.near("anonnimo") == ["anonimo"]  # a letter too many
    assert v.near("corti") == []  # a changed letter in a short word: another real word
    assert v.correct("gratuitto") == "gratuito"
    assert v.near("xyz") == []


def test_vocabulary_words_sharing_a_deletion_are_all_found() -> None:
    v = Vocabulary(["orari", "orali", "gratuito"])  # "orai" is a deletion of both
    assert v.near("orai") == ["orali", "orari"]
    assert v.correct("orai") is None  # two words that close: no correction
