"""The triage gate: every labelled split must reach its bars, judged on what the engine does with
each message on first contact (flows.evaluate). Run with -s to see the figures.

SPLITS is the one place where splits and their bars are set. Tuning splits are the files the
lexicons are written against; blind splits were written by people who saw neither the lexicons
nor the tuning splits, and are never used for tuning. A missing file FAILS the gate.

The blind splits hold the issue's bars where they are met, and floors against regressions where
they are not yet (the gap is the work left; it is closed by classes in the tuning splits, never by
copying blind wordings into the lexicons):
- tests/data/triage_holdout.jsonl: measured blind on 2026-11-22 (before the fail-safe triage):
  crisis recall 41/45, FAQ top-1 43/50; with the lemma lexicons: at-risk reaching a listener
  70/75, crisis priority 42/45; with the fail-safe for messages the bot cannot place: 75/75.
- tests/data/triage_blind.jsonl (written 2026-12-02, 286 messages): first measured with the lemma
  lexicons: at-risk reaching a listener 159/176, crisis priority 104/126, idioms called crisis
  3/25, FAQ top-1 43/50; with the fail-safe for messages the bot cannot place: 175/176 reach a
  listener (its misses had been seen by then: that figure is no longer blind). After a second
  round of class work on a new tuning split (triage_dev_crisis2.jsonl) by someone who had not
  seen it: crisis priority 112/126 (holdout: 42/45, unchanged); after a third round
  (triage_dev_crisis3.jsonl), likewise blind to it: 114/126 (holdout unchanged). After a round
  of FAQ wordings (triage_dev_faq2.jsonl), blind to both: FAQ top-1 45/50 (holdout 46/50).
- tests/data/triage_dev_crisis4.jsonl (fourth tuning round, 161 messages: long and minimising
  messages, the body, home, online, a friend): before its entries crisis priority 86/121 and
  idioms called crisis 4/30; after, 121/121 and 0/30, every other tuning split unchanged. The
  blind splits did not move with it (114/126 and 42/45).
- tests/data/triage_dev_personal.jsonl (236 ordinary personal messages and controls that share
  crisis words, none a crisis): a tuning split for the example layer's false alarms.
- The example layer (flows/examples.py; flows/default/examples.jsonl holds every tuning split as
  labelled examples), thresholds chosen by cross-validation on the tuning splits only, then
  measured once on the blind splits: crisis priority 114/126 -> 120/126 on triage_blind (idioms
  called crisis 3/25 and false crises 6/160 unchanged) and 42/45 -> 43/45 on triage_holdout
  (false crises 1/115 unchanged); FAQ figures unchanged.
- tests/data/triage_blind2.jsonl (written 2026-12-02, 320 messages, 170 crisis; BLIND2.md), a
  fresh blind split measured once before anything else changed: at-risk reaching a listener
  205/205, crisis priority 129/170 (75.9%), idioms called crisis 4/40, FAQ top-1 42/50. The
  fail-safe holds on wordings nobody foresaw (every one reaches a person); the crisis priority on
  them is the gap. Then measured once with the example layer (written without knowing this split
  existed): crisis priority 137/170 (80.6%), idioms 4/40, false crises 5/150 -> 6/150.
- After a fifth crisis round by class (triage_dev_crisis5.jsonl, written blind to every blind
  split; lexicon entries by class and its messages added to the examples), measured once:
  triage_blind2 crisis priority 144/170 (84.7%), idioms 4/40, false crises 7/150;
  triage_blind 121/126 (96.0%), idioms 3/25; triage_holdout 44/45 (97.8%, at the bar).
- tests/data/triage_dev_crisis5.jsonl (fifth tuning round, 350 messages written by class: 230
  crises, 60 personal, 60 idioms), measured once as written, before anything else changed:
  at-risk reaching a listener 289/290 (a goodbye read as STOP), crisis priority 180/230 (the
  lexicon alone 169/230), idioms called crisis 19/60. After its lexicon round (leave-one-file-out,
  lexicon alone): crisis priority 211/230, idioms 12/60; every other tuning split unchanged.
- tests/data/triage_dev_faq3.jsonl (215 messages: 183 FAQ questions written the way teenagers
  write on WhatsApp, indirect, with greetings, slang, dialect and English, and 32 personal
  messages and mixed ones that look like questions), written before the triage was run on it:
  FAQ top-1 119/183 (65.0%), at-risk reaching a listener 30/32, personal answered by a FAQ alone
  1. After its classes (FAQ words and phrasings, dialect short forms, a "ragazzi" in front read
  as addressing us, an ex and talk behind one's back as personal): 148/183 (80.9%), 32/32, 0;
  every other tuning split unchanged. A first round reached 162/183, but the blind gate failed
  (an at-risk message answered by a FAQ, a crisis losing its priority): the words with a
  personal meaning too ("chiuso", "spendere", "baby", "grave", "chi sono"...), a greeting read
  past before "ma", and the FAQ questions as examples were taken back out. Of the 35 it still
  misses, 27 go to a listener or are called a crisis ("se sto male", "c'è qualcuno", "aiuto", a
  distress word, words it cannot place) and 8 get another FAQ.
- tests/data/triage_dev_crisis6.jsonl (sixth tuning round, 220 messages written by class: 150
  crises weighted to hopelessness in indirect words, danger and abuse, third party, overdose; 40
  personal, 30 idioms), measured once as written, before anything else changed: at-risk reaching
  a listener 190/190, crisis priority 119/150 (the lexicon alone 104/150; hopelessness 38/60),
  idioms called crisis 6/30, false crises 9/70. After its lexicon round (lexicon alone): crisis
  priority 150/150, idioms 0/30, false crises 0/70.
- After the sixth round, measured once: triage_blind2 crisis priority 144/170 (unchanged),
  false crises 8/150; triage_blind 122/126 (96.8%); triage_holdout 44/45. A round of FAQ wordings
  (a tuning split of 215 questions) was measured with it and taken back out: FAQ top-1 rose on
  the blind splits (blind2 42 -> 44/50) but one at-risk message of blind2 stopped reaching a
  listener (205 -> 204/205), and safety comes first.
- tests/data/triage_dev_crisis7.jsonl (seventh tuning round, 260 messages written by class by
  someone who saw no lexicon, no example and no other split: 170 crises, 50 personal, 40
  idioms), measured once as written: with the bot before the learned layer (flows.learned) at-risk
  reaching a listener 219/220 ("he ... said to delete our chats" was read as CANCELLA), crisis
  priority 137/170 (80.6%), idioms called crisis 6/40, false crises 8/90; with the learned
  layer, before its messages joined the examples: crisis priority 149/170 (87.6%), idioms 6/40,
  false crises 8/90. Someone else's words are no longer a command (lexicon [reported]).
- After the learned layer and the seventh round, measured once: triage_blind2 crisis priority
  158/170 (92.9%; was 144), idioms 4/40, false crises 10/150 (was 8); triage_blind 124/126
  (98.4%; was 122), idioms 3/25, false crises 8/160 (was 6); triage_holdout 45/45 (was 44),
  false crises 1/115.
- tests/data/triage_blind3.jsonl (260 messages: 170 crises told in long, indirect or minimising
  messages, 50 personal, 40 idioms; written by someone who saw only the label schema; BLIND3.md),
  measured once as written, with the learned layer and the seventh round's lexicon: at-risk
  reaching a listener 220/220, crisis priority 156/170 (91.8%; without the learned layer
  144/170), idioms called crisis 7/40 (5/40), false crises 13/90 (11/90). Figures only: its
  rows are never read.
- tests/data/triage_dev_crisis9.jsonl (ninth round, 260 short messages: slang, algospeak,
  emoji, 36% English or mixed; written the same way), measured once as written: at-risk reaching
  a listener 211/220 ("aiutoooo", "help", "sos 🆘", "🆘🆘🆘" were the menu or a FAQ; a cry for
  help alone is now a crisis: 219/220), crisis priority 146/170 (85.9%; without the learned
  layer 143/170), idioms 6/40, false crises 6/90. Added with triage_blind3 to the examples, the
  two of them raised everyday messages to crisis ("mia mamma mi chiede cosa voglio per cena")
  and did not help on triage_blind2 (158 -> 156/170): they stay out of examples.jsonl.
- After a round of FAQ wordings with a structural guard (a personal or distressed message is
  never answered by a FAQ alone, tests/data/triage_dev_faq3.jsonl), measured once: FAQ top-1
  holdout 47/50, blind 46/50, blind2 44/50 (was 42); blind2 crisis priority 157/170 (was 158),
  every at-risk message of every blind split reaching a listener but one (blind 175/176).
- tests/data/triage_dev_crisis10.jsonl (300 crises in wordings a lexicon author would not think
  of) and tests/data/triage_dev_calm10.jsonl (300 messages that only sound like one), measured
  once as written: crisis priority 242/300 (80.7%), idioms called crisis 18/120, false crises
  49/300. A precision round against calm10 (idioms and topic words out of context, stems that
  went too far) and a recall round against the EVEN rows of crisis10 only: crisis10 odd rows
  122 -> 131/150 (87.3%, the rows nobody tuned against), even rows 120 -> 149/150; calm10 idioms
  4/120, false crises 15/300; personal false crises 12 -> 2/236. Neither file is in the
  examples (adding crisis10's even rows there left its odd rows where they were).
- After those two rounds, measured once: triage_blind idioms 3 -> 1/25 (its bars are all met now),
  crisis priority 124/126; triage_blind3 crisis priority 156 -> 159/170 (93.5%), idioms 7/40
  (unchanged), false crises 13/90; triage_blind2 unchanged (157/170, idioms 4/40, FAQ 44/50);
  holdout unchanged. The recall round looked at one blind figure while it worked (blind2's
  idiom count, which one of its entries had raised to 5/40) and narrowed that entry: blind2's
  idiom figure is no longer blind.
- tests/data/triage_dev_crisis11.jsonl (180 messages of suicide risk told without its words, 60
  look-alikes), measured once as written: reach 239/240, crisis priority 96/180 (53.3%), idioms
  called crisis 5/21, false crises 12/60. A round against its EVEN rows only: even 49 -> 82/90,
  odd 47 -> 51/90 (the rows nobody tuned against: the round carried little). Measured once
  after it, with the fixes of entries whose `a|b` choices held several words: triage_blind2
  crisis priority 157 -> 159/170 (93.5%); every other blind figure unchanged.
- Twelfth round, three tuning splits written by class by people who saw neither the lexicons nor
  any split, measured once as written, then tuned against their EVEN rows only:
  tests/data/triage_dev_faq12.jsonl (192 FAQ questions, 16 a FAQ, and 48 personal or mixed
  messages that look like questions): FAQ top-1 even 49 -> 70/96, odd 50 -> 56/96; reach 47/48
  (an odd row, "... l'ho eliminato senza inviarlo, come sempre", got a FAQ suggestion: read after
  the round, the comparing "come" was counted as a question word; fixed by class, 48/48, so
  faq12's odd reach is no longer blind). tests/data/triage_dev_calm12.jsonl (120 idioms, 60
  personal, 60 everyday): idioms called crisis even 11 -> 1/60, odd 8 -> 8/60; false crises
  even 22 -> 2/120, odd 18 -> 18/120. tests/data/triage_dev_crisis12.jsonl (240 crises, mostly
  indirect): crisis priority even 104 -> 119/120, odd 106 -> 106/120. The crisis and calm
  rounds carried nothing to the rows nobody tuned against; crisis9 rose 154 -> 156/170 and
  crisis10 281 -> 282/300 with them. Measured once after the rounds: triage_blind2 FAQ top-1
  44 -> 45/50 (90%, the bar); triage_blind idioms 1 -> 0/25, false crises 6 -> 5/160; every
  other blind figure unchanged (blind2 and blind3 crisis priority 159/170, blind3 idioms 7/40).
The tuning splits ARE the shipped examples, so their figures here are in-sample: the honest
figures of the example layer are the cross-validated ones (`sos-bot triage --cross-validate`,
docs/triage.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from flows import Pack
from flows.evaluate import BARS, Bars, evaluate, main, read, tags_of

DATA = Path(__file__).parents[1] / "data"
HERE = Path(__file__).parent
UNSET = Bars(
    reached=None, crisis_priority=None, idioms_as_crisis=None, faq_top1=None, faq_alone=None
)

SPLITS: list[tuple[Path, Bars]] = [
    # tuning splits: the bars (in-sample for the example layer: they are its examples)
    (DATA / "triage_eval.jsonl", BARS),
    (DATA / "triage_dev_classes.jsonl", BARS),
    (HERE / "dev_triage.jsonl", BARS),
    (HERE / "dev_triage_2.jsonl", BARS),
    (HERE / "dev_triage_3.jsonl", BARS),
    (HERE / "dev_triage_risk.jsonl", BARS),
    (DATA / "triage_dev_crisis2.jsonl", BARS),
    (DATA / "triage_dev_crisis3.jsonl", BARS),
    (DATA / "triage_dev_faq2.jsonl", BARS),
    (DATA / "triage_dev_crisis4.jsonl", BARS),
    # controls written for the example layer: the lexicon alone calls 6/35 of them crisis (work
    # left for a lexicon round), so their idiom rate is reported here, not checked
    (DATA / "triage_dev_personal.jsonl", replace(BARS, idioms_as_crisis=None)),
    # fifth crisis round, written by class; the lexicon alone calls 12/60 of its idioms crisis
    # (work left for a lexicon round), so its idiom rate is reported here, not checked
    (DATA / "triage_dev_crisis5.jsonl", replace(BARS, idioms_as_crisis=None)),
    # FAQ questions written the way teenagers write: the FAQ top-1 it misses are mostly asked in
    # words that send a message to a person on purpose ("se sto male...", "c'è qualcuno"), so
    # its FAQ bar is a floor below the issue's
    (DATA / "triage_dev_faq3.jsonl", replace(BARS, faq_top1=0.80)),
    # sixth crisis round, written by class; its idioms are checked (the lexicon alone calls 0/30)
    (DATA / "triage_dev_crisis6.jsonl", BARS),
    # seventh crisis round, written by class; the lexicon alone calls 6/40 of its idioms crisis
    # (work left for a lexicon round), so its idiom rate is reported here, not checked
    (DATA / "triage_dev_crisis7.jsonl", replace(BARS, idioms_as_crisis=None)),
    # ninth crisis round (short, slang, English), written by class and kept OUT of the examples
    # (adding it there raised everyday messages to crisis): its crisis priority is a floor at
    # what it measured, its idioms are reported
    (
        DATA / "triage_dev_crisis9.jsonl",
        replace(BARS, crisis_priority=0.90, idioms_as_crisis=None),
    ),
    # tenth round: crises in wordings nobody listed (its odd rows were never tuned against: 87.3%)
    # and messages that only sound like one; both kept out of the examples
    (DATA / "triage_dev_crisis10.jsonl", replace(BARS, crisis_priority=0.93)),
    (DATA / "triage_dev_calm10.jsonl", BARS),
    # eleventh round: suicide risk without its words (odd rows never tuned against: 51/90); its
    # crisis priority and idioms are floors at what it measures
    (
        DATA / "triage_dev_crisis11.jsonl",
        replace(BARS, crisis_priority=0.73, idioms_as_crisis=0.20),
    ),
    # twelfth round, kept out of the examples: FAQ questions as teenagers write them (odd rows
    # never tuned against: 56/96; its FAQ bar is a floor at what it measures), messages that
    # only sound like a crisis (the bars), crises told indirectly (a floor)
    (DATA / "triage_dev_faq12.jsonl", replace(BARS, faq_top1=0.65)),
    (DATA / "triage_dev_calm12.jsonl", BARS),
    (DATA / "triage_dev_crisis12.jsonl", replace(BARS, crisis_priority=0.93)),
    # blind splits
    (DATA / "triage_holdout.jsonl", BARS),
    (DATA / "triage_blind.jsonl", BARS),
    (DATA / "triage_blind2.jsonl", replace(BARS, crisis_priority=0.93)),
    # long, indirect and minimising messages (BLIND3.md), measured once as written
    (DATA / "triage_blind3.jsonl", replace(BARS, crisis_priority=0.93, idioms_as_crisis=0.175)),
]
BLIND = ("triage_holdout.jsonl", "triage_blind.jsonl", "triage_blind2.jsonl", "triage_blind3.jsonl")
OUT_OF_EXAMPLES = (  # not in the examples
    "triage_dev_crisis9.jsonl",
    "triage_dev_faq3.jsonl",
    "triage_dev_crisis10.jsonl",
    "triage_dev_calm10.jsonl",
    "triage_dev_crisis11.jsonl",
    "triage_dev_faq12.jsonl",
    "triage_dev_calm12.jsonl",
    "triage_dev_crisis12.jsonl",
)
TUNING = [path for path, _ in SPLITS if path.name not in BLIND + OUT_OF_EXAMPLES]
CLASSES = (
    "inflected",
    "hopelessness",
    "abuse",
    "overdose",
    "third_party",
    "personal_faqlike",
    "mixed_question",
    "idiom",
)


@pytest.mark.parametrize(("path", "bars"), SPLITS, ids=[p.stem for p, _ in SPLITS])
def test_split_reaches_its_bars(pack: Pack, path: Path, bars: Bars) -> None:
    assert path.exists(), f"{path} is missing: the gate cannot be checked"
    report = evaluate(pack, read(path), path.name)
    print(f"\n{report.table(bars)}")
    assert not report.failures(bars), report.failures(bars)


def test_a_missing_split_fails_instead_of_skipping(tmp_path: Path, pack: Pack) -> None:
    """The gate asserts the file is there: a missing split is an error, never a skip."""
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "triage_blind.jsonl")


def test_tuning_splits_are_big_and_cover_every_class() -> None:
    rows = [row for path in TUNING for row in read(path)]
    at_risk = [r for r in rows if r["intent"] == "crisis" or "personal" in tags_of(r)]
    assert len(rows) >= 600 and len(at_risk) >= 250
    tags = [t for r in rows for t in tags_of(r)]
    for tag in (*CLASSES, "en", "mixed", "dialect", "typo", "emoji"):
        assert tags.count(tag) >= 2, tag


def test_gate_fails_below_the_bars(pack: Pack, tmp_path: Path) -> None:
    """A split where a crisis reaches no one, or a personal message gets a FAQ alone, fails."""
    rows = [
        {"text": "quanto costa?", "intent": "faq", "faq_id": "gratuito", "tags": []},
        # labelled wrong on purpose: a question about the service called a personal message
        {"text": "a che ora aprite?", "intent": "human", "faq_id": None, "tags": ["personal"]},
        {"text": "grazie", "intent": "crisis", "faq_id": None, "tags": []},
    ]
    path = tmp_path / "split.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate(pack, read(path), path.name)
    assert (report.reached, report.at_risk) == (0, 2)
    assert report.faq_alone == 1 and report.crisis_recall == 0.0
    failures = " ".join(report.failures())
    for measure in ("reaching a listener", "crisis priority recall", "FAQ alone"):
        assert measure in failures
    assert main([str(path)]) == 1


def test_rows_without_tags_count_human_as_personal() -> None:
    assert tags_of({"text": "x", "intent": "human"}) == {"personal"}
    assert tags_of({"text": "x", "intent": "human", "tags": ["ask_person"]}) == {"ask_person"}
    assert tags_of({"text": "x", "intent": "faq"}) == set()


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(TUNING[2]), str(TUNING[1]), "--errors"]) == 0
    out = capsys.readouterr().out
    for measure in (
        "at-risk reaching a listener",
        "crisis priority recall",
        "idioms called crisis",
        "FAQ top-1",
        "personal answered by FAQ alone",
    ):
        assert measure in out
    assert "dev_triage.jsonl" in out and "triage_dev_classes.jsonl" in out
