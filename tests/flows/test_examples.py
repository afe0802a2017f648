"""The example layer: labelled messages raise a message going to a person to crisis, never lower.

The shipped examples.jsonl holds the tuning splits, so on them these checks are in-sample; the
honest figures come from `sos-bot triage --cross-validate` (docs/triage.md).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from flows import Pack, PackError, load_pack, triage
from flows.evaluate import cross_table, cross_validate, main, read
from flows.examples import NEIGHBOURS, Example, Examples, parse
from flows.pack import DEFAULT_DIR
from tests.flows.test_eval import TUNING
from tests.flows.test_triage import IDIOMS

PARAPHRASES = [  # no lexicon entry covers these wordings; crisis examples come close
    "sono 3 gg che salto i pasti e mi gira tutto",
    "la mia amica ha bevuto una bottiglia intera e non risponde",
    "i'm on the balcony and thinking about how high it is",
    "my bf punched the wall next to my face and grabbed my neck",
]
BRIDGE = "il ponte l'ho già scelto"  # no lexicon entry, no shipped example raises it
WHEN = ("ieri", "oggi", "ormai", "da tempo", "sai", "ragazzi", "davvero", "stasera", "tutto")


def _alone(pack: Pack) -> Pack:
    return replace(pack, examples=None)


def _with(pack: Pack, *examples: tuple[str, str | None]) -> Pack:
    """The pack with these examples only: (text, crisis category or None)."""
    built = Examples((Example(t, c), pack.normalize(t)) for t, c in examples)
    return replace(pack, examples=built)


@pytest.mark.parametrize("text", PARAPHRASES)
def test_a_paraphrase_close_to_crisis_examples_is_raised(pack: Pack, text: str) -> None:
    before = triage(_alone(pack), text)
    assert before.intent == "human" and before.priority != "crisis", before
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), t
    assert t.reason and t.reason.startswith("crisis:")


def test_examples_only_raise_a_message_already_going_to_a_person(pack: Pack) -> None:
    """Over every tuning message: with or without examples the same answer, or a message going
    to a person or answered with a FAQ raised to crisis. Never a FAQ, a menu or a lower
    priority."""
    alone = _alone(pack)
    raised = 0
    for path in TUNING:
        for row in read(path):
            before, after = triage(alone, row["text"]), triage(pack, row["text"])
            if before != after:
                assert before.intent in ("human", "faq"), row["text"]
                assert after.intent == "crisis", row["text"]
                assert after.priority == "crisis"
                raised += 1
    assert raised > 0


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_stay_not_crisis(pack: Pack, text: str) -> None:
    assert triage(pack, text).intent != "crisis"


def _bridges(category: str = "suicide") -> list[tuple[str, str | None]]:
    return [(f"{BRIDGE} {w}", category) for w in WHEN]


def test_the_category_is_the_closest_crisis_examples(pack: Pack) -> None:
    found = _with(pack, (f"{BRIDGE}!", "danger"), *_bridges())
    assert found.examples is not None
    closest = found.examples.nearest(pack.normalize(BRIDGE))[0][1]
    assert closest.category == "danger"
    assert triage(_alone(pack), BRIDGE).intent == "human"
    assert triage(found, BRIDGE).reason == "crisis:danger"


def test_a_close_non_crisis_example_keeps_the_message_as_it_was(pack: Pack) -> None:
    assert triage(_with(pack, *_bridges()), BRIDGE).intent == "crisis"
    silenced = _with(pack, *_bridges(), (f"{BRIDGE}!!", None))
    assert triage(silenced, BRIDGE) == triage(_alone(pack), BRIDGE)


def test_a_few_non_crisis_neighbours_keep_the_message_as_it_was(pack: Pack) -> None:
    others = [(f"{BRIDGE} {w}", None) for w in ("ok", "eh", "no")]
    assert triage(_with(pack, *_bridges(), *others), BRIDGE).intent == "human"


def test_far_examples_raise_nothing(pack: Pack) -> None:
    found = _with(pack, *_bridges())
    assert found.examples is not None
    assert found.examples.crisis(pack.normalize("a che ora chiude la biblioteca comunale")) is None
    near = found.examples.nearest(pack.normalize(BRIDGE))
    assert len(near) == NEIGHBOURS and near[0][0] > 0.5


def test_a_known_harmless_idiom_is_never_raised(pack: Pack) -> None:
    """Even if every example says crisis: the lexicon knows "muoio dal ridere" is harmless."""
    text = "mia sorella mi fa morire dal ridere, muoio dal ridere ogni volta"
    found = _with(pack, *[(f"{text} {w}", "suicide") for w in WHEN])
    assert triage(_alone(pack), text).intent == "human"
    assert triage(found, text).intent == "human"


def test_a_crisis_the_lexicon_finds_keeps_its_reading(pack: Pack) -> None:
    found = _with(pack, *[(f"voglio morire {w}", None) for w in WHEN])
    assert triage(found, "voglio morire") == triage(_alone(pack), "voglio morire")


# -- examples.jsonl ------------------------------------------------------------------------


def _folder(tmp_path: Path, lines: list[str] | None) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_DIR, folder)
    path = folder / "examples.jsonl"
    if lines is None:
        path.unlink()
    else:
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return folder


def test_a_pack_without_examples_has_no_example_layer(tmp_path: Path) -> None:
    pack = load_pack(_folder(tmp_path, None))
    assert pack.examples is None and " examples (" not in pack.summary()
    assert triage(pack, PARAPHRASES[0]).intent == "human"


def test_the_shipped_examples_load(pack: Pack) -> None:
    assert pack.examples is not None and pack.examples.crises >= 800
    assert len(pack.examples) - pack.examples.crises >= 800
    assert " examples (" in pack.summary()


def test_editing_the_examples_reloads_the_pack(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path, ['{"text": "voglio sparire", "label": "crisis", "category": "suicide"}']
    )
    first = load_pack(folder)
    assert first.examples is not None and len(first.examples) == 1
    (folder / "examples.jsonl").write_text(
        '# two now\n{"text": "a", "label": "not_crisis"}\n{"text": "b", "label": "not_crisis"}\n'
    )
    assert len(load_pack(folder).examples or ()) == 2


GOOD = '{"text": "ho già scelto il ponte", "label": "crisis", "category": "suicide"}'


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ('{"text": "ciao", "label": "crisis"', "not a JSON object"),
        ('["ciao"]', "not a JSON object"),
        ('{"text": "", "label": "not_crisis"}', "'text' must be a non-empty string"),
        ('{"text": "ciao", "label": "crisi"}', "'label' must be one of crisis, not_crisis"),
        ('{"text": "ciao", "label": "crisis"}', "a crisis example needs a 'category'"),
        ('{"text": "ciao", "label": "crisis", "category": "sad"}', "needs a 'category'"),
        (
            '{"text": "ciao", "label": "not_crisis", "category": "suicide"}',
            "only a crisis example has a 'category'",
        ),
        ('{"text": "ciao", "lable": "not_crisis"}', "unknown key 'lable'"),
        ('{"text": "Ho già scelto  il ponte", "label": "not_crisis"}', "same message as line 2"),
    ],
)
def test_a_broken_example_is_refused_with_file_and_line(
    tmp_path: Path, bad: str, error: str
) -> None:
    folder = _folder(tmp_path, ["# comment", GOOD, "", bad])
    with pytest.raises(PackError) as info:
        load_pack(folder)
    assert str(info.value).startswith("examples.jsonl:4: "), info.value
    assert error in str(info.value)


def test_parse_reads_categories_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "examples.jsonl"
    path.write_text(f'{GOOD}\n\n{{"text": "muoio dal ridere", "label": "not_crisis"}}\n')
    found = parse(path, {"suicide"})
    assert found == [
        Example("ho già scelto il ponte", "suicide", 1),
        Example("muoio dal ridere", None, 3),
    ]


# -- cross-validation ----------------------------------------------------------------------


def _split(path: Path, rows: list[tuple[str, str, list[str]]]) -> Path:
    lines = [
        json.dumps({"text": t, "intent": i, "faq_id": None, "tags": tags}) for t, i, tags in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cross_validation_leaves_the_measured_file_out(pack: Pack, tmp_path: Path) -> None:
    a = _split(tmp_path / "a.jsonl", [(BRIDGE, "crisis", [])])
    b = _split(
        tmp_path / "b.jsonl",
        [(f"{BRIDGE} {w}", "crisis", []) for w in WHEN]
        + [("mi butto giù dal letto alle sei", "unknown", ["idiom"])],
    )
    before, after = cross_validate(pack, [a, b])
    assert (before[0].crisis_priority, after[0].crisis_priority) == (0, 1)  # from b's examples
    assert (before[1].crises, after[1].idioms_as_crisis) == (len(WHEN), 0)
    table = cross_table(before, after)
    assert "a.jsonl" in table and "total" in table and "0/1 -> 1" in table
    assert main(["--cross-validate", str(a), str(b)]) == 0


def test_tuning_rows_print_as_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _split(
        tmp_path / "a.jsonl",
        [("voglio morire", "crisis", []), ("voglio morire", "crisis", []), ("ok", "unknown", [])],
    )
    assert main(["--examples", str(a)]) == 0
    out = tmp_path / "examples.jsonl"
    out.write_text(capsys.readouterr().out, encoding="utf-8")
    found = parse(out, {"suicide"})
    assert [(e.text, e.category) for e in found] == [("voglio morire", "suicide"), ("ok", None)]
