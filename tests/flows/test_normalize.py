"""How messages are normalised before matching: the way young Italians really write."""

from __future__ import annotations

import pytest

from flows import Pack
from flows.normalize import Normalizer, collapse, fold, unstretch


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Perché NON rispondete?!", "perche non rispondete"),
        ("è già così 😭😭🙏", "e gia cosi"),
        ("l'ansia, l’ansia", "l ansia l ansia"),
        ("nn ce la faccio +", "nn ce la faccio piu"),
        ("I'm not OK, can't sleep, won't eat", "i am not ok can not sleep will not eat"),
        ("don't care", "do not care"),
        ("  ciao\n\ncome va\t", "ciao come va"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("word", "collapsed"),
    [("aiutooo", "aiuto"), ("ciaooooo", "ciao"), ("ammazzare", "amazare"), ("2000", "2000")],
)
def test_collapse_repeated_letters(word: str, collapsed: str) -> None:
    assert collapse(word) == collapsed


@pytest.mark.parametrize(
    ("word", "kept"),
    [("aiutooo", "aiuto"), ("ciaooooo", "ciao"), ("ammazzare", "ammazzare"), ("ciaoo", "ciaoo")],
)
def test_stretched_letters_squeeze_but_double_letters_stay(word: str, kept: str) -> None:
    """Dictionaries know "ammazzare", not "amazare": only a letter typed 3+ times is squeezed."""
    assert unstretch(word) == kept


def test_abbreviations_expand_to_normalised_words() -> None:
    normalize = Normalizer({"nn": "non", "xke": "perché", "kms": "kill myself", "6": "sei"})
    assert normalize("NN lo so xkè") == ("non", "lo", "so", "perche")
    assert normalize("nnn") == ("non",)  # repeated letters collapse before the look-up
    assert normalize("kms") == ("kill", "myself")
    assert normalize("dove 6?") == ("dove", "sei")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nn ce la faccio +", "non ce la faccio piu"),
        ("xke nn mi rispondete cmq", "perche non mi rispondete comunque"),
        ("ke ore sn?", "che ore sono"),
        ("ho bisogno di parlare cn qlcn", "ho bisogno di parlare con qualcuno"),
        ("x favore", "per favore"),
        ("tvb", "ti voglio bene"),
        ("me vojo levà de mezzo", "mi voglio levare di mezzo"),
        ("u r kind", "you are kind"),
        ("AIUTOOOO!!!", "aiuto"),
    ],
)
def test_pack_abbreviations(pack: Pack, text: str, expected: str) -> None:
    assert pack.normalize.text(text) == " ".join(pack.normalize(expected))
