"""What the examples teach together (flows.learned): a crisis probability from every example's
pieces, for wordings close to no single example."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import pytest

from flows import Pack, triage
from flows.examples import Example, Examples
from flows.learned import LIKELY, Learned, pieces


def _learned(pack: Pack, rows: Sequence[tuple[str, bool]]) -> Learned:
    return Learned((pack.normalize(text), crisis) for text, crisis in rows)


# each crisis example shares one piece with the message below, none shares a neighbourhood
# (words no lexicon knows: the lesson alone decides)
CRISES = [
    "ho comprato la lanterna",
    "ho già scelto la scogliera",
    "stasera il velluto",
    "la lanterna è nel cassetto",
    "dalla scogliera non si torna",
    "velluto tranquillo",
]
ORDINARY = [
    "ho comprato le scarpe nuove",
    "stasera esco con le amiche",
    "il cassetto della scrivania è rotto",
    "domani verifica di storia",
    "la prof di mate mi odia",
    "mia madre non mi lascia uscire",
]
UNSEEN = "lanterna scogliera velluto"


def test_pieces_are_character_grams_within_words_and_word_pairs() -> None:
    chars, words = pieces(("mi", "taglio"))
    assert {" mi", "mi ", " mi ", " ta", "tag", "agl", "glio ", " tagl"} <= set(chars)
    assert " mi t" not in chars  # "mi" is whole at 4 letters, spaces included: no longer grams
    assert "o m" not in chars  # never across words
    assert words == {"mi": 1, "taglio": 1, "mi taglio": 1}
    assert pieces(("a",))[0] == {" a ": 1}  # a short word counts once, whole
    assert pieces(("a", "b"))[1] == {}  # one-letter words are not words


def test_a_message_made_of_crisis_pieces_is_likely_a_crisis(pack: Pack) -> None:
    learned = _learned(pack, [(t, True) for t in CRISES] + [(t, False) for t in ORDINARY])
    assert learned.probability(pack.normalize(UNSEEN)) >= LIKELY
    assert learned.likely(pack.normalize(UNSEEN))
    ordinary = learned.probability(pack.normalize("stasera verifica di storia con la prof"))
    assert ordinary < 0.5


def test_the_probability_follows_the_labels(pack: Pack) -> None:
    """Swap the labels and the same message leans the other way."""
    rows = [(t, True) for t in CRISES] + [(t, False) for t in ORDINARY]
    swapped = [(t, not crisis) for t, crisis in rows]
    tokens = pack.normalize(UNSEEN)
    p, q = _learned(pack, rows).probability(tokens), _learned(pack, swapped).probability(tokens)
    assert p > 0.5 > q
    assert math.isclose(p + q, 1.0, abs_tol=0.05)


def test_unknown_pieces_change_nothing(pack: Pack) -> None:
    learned = _learned(pack, [(t, True) for t in CRISES] + [(t, False) for t in ORDINARY])
    prior = learned.probability(())
    assert learned.probability(pack.normalize("xyzzy qwfp")) == prior
    assert math.isclose(prior, 0.5)  # as many crises as not


@pytest.mark.parametrize("crisis", [True, False])
def test_examples_of_one_label_teach_nothing(pack: Pack, crisis: bool) -> None:
    learned = _learned(pack, [(t, crisis) for t in CRISES])
    assert not learned.likely(pack.normalize(UNSEEN))


def _pack(pack: Pack, rows: Sequence[tuple[str, str | None]]) -> Pack:
    built = Examples((Example(t, c), pack.normalize(t)) for t, c in rows)
    return replace(pack, examples=built)


def test_the_triage_raises_a_message_the_examples_together_call_a_crisis(pack: Pack) -> None:
    rows = [(t, "suicide") for t in CRISES] + [(t, None) for t in ORDINARY]
    taught = _pack(pack, rows)
    assert taught.examples is not None
    tokens = pack.normalize(UNSEEN)
    assert taught.examples.nearest(tokens)[0][0] < 0.5  # no example is close: not the neighbours
    before = triage(replace(pack, examples=None), UNSEEN)
    assert (before.intent, before.priority) == ("human", "normal")
    after = triage(taught, UNSEEN)
    assert (after.intent, after.priority, after.reason) == ("crisis", "crisis", "crisis:suicide")


def test_without_a_crisis_example_near_nothing_is_raised(pack: Pack) -> None:
    """The category comes from the closest crisis examples: with none near, no guess."""
    rows = [(t, "suicide") for t in CRISES] + [(t, None) for t in ORDINARY]
    taught = _pack(pack, rows)
    assert taught.examples is not None
    alone = Examples(
        [(Example(t, c), pack.normalize(t)) for t, c in rows if c is None]
        + [(Example("zzz", "suicide"), ("zzz",))]
    )
    alone.__dict__["learned"] = taught.examples.learned  # the same lesson, no crisis close by
    assert alone.crisis(pack.normalize(UNSEEN)) is None


def test_a_known_harmless_idiom_is_never_raised_by_the_lesson(pack: Pack) -> None:
    text = f"muoio dal ridere, {UNSEEN}"
    rows = [(t, "suicide") for t in CRISES] + [(t, None) for t in ORDINARY]
    taught = _pack(pack, rows)
    assert taught.examples is not None and taught.examples.learned.likely(pack.normalize(text))
    assert triage(taught, text).intent != "crisis"


def test_the_lesson_is_learned_on_first_use(pack: Pack) -> None:
    taught = _pack(pack, [(t, "suicide") for t in CRISES] + [(t, None) for t in ORDINARY])
    assert taught.examples is not None and "learned" not in taught.examples.__dict__
    triage(taught, UNSEEN)
    assert "learned" in taught.examples.__dict__
