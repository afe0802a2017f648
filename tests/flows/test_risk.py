"""The risk-signal layer (risk.toml): combinations escalate, single innocent words do not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows import Pack, PackError, load_pack, triage
from flows.pack import DEFAULT_DIR


def risk(pack: Pack, text: str) -> str | None:
    """The category of the risk layer alone (the phrase layer left out)."""
    tokens = pack.normalize(text)
    return pack.crisis.assess(tokens).category


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ho contato le pastiglie di mia madre, sono abbastanza", "suicide"),  # means + quantity
        ("sto mettendo da parte le compresse da settimane", "suicide"),  # means + intent
        ("quante gocce servono per non svegliarsi", "suicide"),
        ("sono sul cavalcavia e le macchine passano veloci", "suicide"),
        ("ho il collo viola da ieri sera", "self_harm"),
        ("🔪 ancora stanotte", "self_harm"),  # emoji read as a word
        ("mi ha tirato per i capelli e sbattuta contro il muro", "abuse"),
        ("ero ubriaca e quando mi sono svegliata lui era sopra di me", "sexual_violence"),
        ("devo pagare 150€ entro stasera o il filmato finisce nel gruppo", "sextortion"),
        ("mi sono calato mezza pasta e ora non sento più le mani", "overdose"),
        ("è una settimana che bevo solo acqua e mi si annebbia la vista", "eating"),
        ("c'è una macchina che mi viene dietro da tre isolati", "danger"),
    ],
)
def test_combinations_escalate_and_name_the_category(pack: Pack, text: str, category: str) -> None:
    assert risk(pack, text) == category
    assert triage(pack, text).reason == f"crisis:{category}"


@pytest.mark.parametrize(
    "text",
    [
        "il medico mi ha dato il paracetamolo per la febbre",  # a means word alone
        "mia nonna prende le gocce per dormire",
        "quanto costa il biglietto del treno per bologna?",
        "ci vediamo al ponte vicino alla stazione alle 5?",
        "la finestra di camera mia non si chiude bene",
        "stamattina mi è uscito sangue dal naso",
        "ho preso un livido giocando a pallavolo",
        "ho mandato le foto delle vacanze al gruppo di famiglia",
        "devo pagare 20 euro per la gita",
        "domani ultima volta che vado in piscina",
        "per sempre amiche ❤️ ti voglio bene",
        "mia mamma vuole che faccia medicina ma io voglio fare l'artistico",
    ],
)
def test_single_innocent_words_do_not_escalate(pack: Pack, text: str) -> None:
    assert risk(pack, text) is None
    assert triage(pack, text).intent != "crisis"


def test_pills_for_a_headache_score_under_the_threshold(pack: Pack) -> None:
    """Decision: a means word without intent, quantity or finality is not a crisis for the risk
    layer. (The phrase "ho preso ... pillole" of crisis.toml still escalates this message.)"""
    tokens = pack.normalize("ho preso le pillole per il mal di testa")
    assessed = pack.crisis.assess(tokens)
    assert assessed.category is None
    assert pack.crisis.risk is not None and assessed.score < pack.crisis.risk.threshold
    assert risk(pack, "ho preso tutte le pillole insieme") == "suicide"


@pytest.mark.parametrize(
    "text",
    [
        "muoio dal ridere",
        "mi ammazzo dalle risate",
        "crepo di sonno",
        "mi sparo una serie",
        "sono morta 💀",
        "stasera mi sparo una serie su netflix",
    ],
)
def test_idioms_do_not_escalate(pack: Pack, text: str) -> None:
    assert triage(pack, text).intent != "crisis"


def test_a_terse_last_word_is_a_crisis_only_in_a_short_message(pack: Pack) -> None:
    """[[combine]] with `words`: "basta, stanotte" alone is a last word; the same words inside a
    longer message are an ordinary evening, and the combination does not hold."""
    assert risk(pack, "basta, stanotte") == "suicide"
    assert risk(pack, "stasera chiudo") == "suicide"
    assert risk(pack, "basta compiti stanotte, domani ho la verifica") is None
    assert triage(pack, "basta compiti stanotte, domani ho la verifica").intent != "crisis"


def test_typos_are_tolerated(pack: Pack) -> None:
    assert risk(pack, "ho contato le pastiglei, sono abbastnza") == "suicide"


def test_long_distress_goes_to_a_listener(pack: Pack) -> None:
    text = (
        "ultimamente sono sempre triste, non ho voglia di uscire, i miei non capiscono e io "
        "non riesco a spiegare cosa ho dentro"
    )
    got = triage(pack, text)
    assert (got.intent, got.priority) == ("human", "high")
    assert triage(pack, "sono triste").intent != "crisis"


# -- risk.toml errors name file and line -----------------------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> tuple[str, str]:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_DIR, folder)
    path = folder / "risk.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as info:
        load_pack(folder)
    return str(info.value), text


def _line(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_unknown_category(tmp_path: Path) -> None:
    message, text = _broken(
        tmp_path,
        'category = "suicide"\nphrases = [\n  "pillol*"',
        'category = "suicid"\nphrases = [\n  "pillol*"',
    )
    line = _line(text, '"suicid"')
    assert message.startswith(f"risk.toml:{line}: signal 'means': category")


def test_bad_phrase(tmp_path: Path) -> None:
    message, text = _broken(tmp_path, '  "pillol*", ', '  "?!", "pillol*", ')
    line = _line(text, "?!") - 1  # the line of its `phrases = [` key
    assert message == f"risk.toml:{line}: means: '?!' has no letters in phrase '?!'"


def test_bad_weight(tmp_path: Path) -> None:
    message, text = _broken(tmp_path, "[signal.means]\nweight = 3", "[signal.means]\nweight = -3")
    assert message.startswith(f"risk.toml:{_line(text, 'weight = -3')}: signal 'means': weight")


def test_combination_of_an_unknown_signal(tmp_path: Path) -> None:
    message, text = _broken(
        tmp_path, 'signals = ["means", "intent"]', 'signals = ["means", "intnet"]'
    )
    assert message == f"risk.toml:{_line(text, 'intnet')}: [[combine]]: no signal 'intnet'"


def test_unknown_key(tmp_path: Path) -> None:
    message, text = _broken(tmp_path, "threshold = 10", "treshold = 10")
    assert message.startswith(f"risk.toml:{_line(text, 'treshold')}: [settings]")


def test_bad_word_limit_of_a_combination(tmp_path: Path) -> None:
    message, text = _broken(tmp_path, "words = 3", "words = 0")
    line = _line(text, "words = 0")
    assert message == f"risk.toml:{line}: [[combine]]: words must be a whole number, 1 to 50"
