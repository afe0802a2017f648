"""The content pack: the built-in one is complete, and a broken one is refused with file:line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from flows import Pack, PackError, load_pack
from flows.directory import on_topics
from flows.pack import DEFAULT_DIR, FILES
from flows.render import LANGUAGES

REQUIRED_FAQ = {
    "orari",
    "anonimato",
    "gratuito",
    "chi-siamo",
    "come-funziona",
    "privacy-dati",
    "cancellazione",
    "servizi-territorio",
    "telefono",
    "volontariato",
    "banca-del-tempo",
    "emergenza",
}
NETWORK = {  # the 11 services of the Rete di mediazione comunitaria (seed 001)
    "mediazione-sociale",
    "polizia-sociale",
    "servizi-sociali",
    "via-delle-stelle",
    "riduzione-danno",
    "marmotta-rossa",
    "oltre-la-strada",
    "centro-stranieri",
    "accoglienza-profughi",
    "caritas",
    "progetto-giovani",
}
OTHERS = {"centro-famiglie", "banca-del-tempo", "stanze-mediazione"}


# -- the built-in pack ---------------------------------------------------------------------


def test_default_pack_has_everything(pack: Pack) -> None:
    assert REQUIRED_FAQ <= set(pack.faqs)
    assert set(pack.services) == NETWORK | OTHERS
    assert {s.id for s in pack.services.values() if s.network} == NETWORK
    assert pack.no_response_minutes > 0
    assert pack.start in pack.nodes
    assert "FAQ" in pack.summary()


def test_every_text_in_both_languages(pack: Pack) -> None:
    for texts in pack.texts.values():
        assert set(texts) == set(LANGUAGES)
    for faq in pack.faqs.values():
        assert all(faq.answer[lang] and faq.questions[lang] for lang in LANGUAGES)


def test_menu_numbers_are_listed_in_order(pack: Pack) -> None:
    for node in pack.nodes.values():
        assert [o.key for o in node.options] == [str(i) for i in range(1, len(node.options) + 1)]


def test_no_phone_numbers_written_in_texts() -> None:
    """Emergency numbers come from the configuration, never from the texts."""
    for name in FILES:
        text = (DEFAULT_DIR / name).read_text(encoding="utf-8")
        for number in ("112", "19696", "2327", "1522", "114"):
            assert number not in text, f"{name} writes the number {number}"


def test_every_services_menu_lists_some_service(pack: Pack) -> None:
    listing = [node for node in pack.nodes.values() if node.services]
    assert len(listing) == 6
    for node in listing:
        assert on_topics(pack.services.values(), node.services), node.id
    assert all(s.topics for s in pack.services.values())


def test_contacts_are_left_for_the_coordinator(pack: Pack) -> None:
    assert all(not any(s.contacts.values()) for s in pack.services.values())


def test_loading_is_cached_until_a_file_changes(tmp_path: Path) -> None:
    assert load_pack() is load_pack()
    folder = _copy(tmp_path)
    first = load_pack(folder)
    assert load_pack(folder) is first
    path = folder / "flow.toml"
    path.write_text(path.read_text().replace("minutes = 30", "minutes = 45"))
    assert load_pack(folder).no_response_minutes == 45


# -- broken packs: the error names the file and the line ---------------------------------------


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "pack"
    shutil.copytree(DEFAULT_DIR, folder)
    return folder


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def broken(tmp_path: Path, name: str, old: str, new: str) -> tuple[str, str]:
    """Edit one file of a copy of the pack; the error message and the edited text."""
    folder = _copy(tmp_path)
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PackError) as info:
        load_pack(folder)
    return str(info.value), text


def test_faq_without_an_english_answer(tmp_path: Path) -> None:
    old = "answer.en = \"It's free"
    message, text = broken(tmp_path, "faq.toml", old, "# " + old)
    line = _line(text, 'answer.it = "È gratis')
    assert message == f"faq.toml:{line}: faq 'gratuito' has no answer in 'en'"


def test_faq_answer_in_an_unknown_language(tmp_path: Path) -> None:
    old = "answer.en = \"It's free"
    message, text = broken(tmp_path, "faq.toml", old, old.replace(".en", ".es"))
    line = _line(text, "answer.es")
    assert message == f"faq.toml:{line}: faq 'gratuito': answer: unknown key 'es' (expected en, it)"


def test_toml_syntax_error_keeps_line_and_column(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "texts.toml", '[menu]\nit = "Cosa', "[menu]\nit = Cosa")
    line = _line(text, "it = Cosa")
    assert message.startswith(f"texts.toml:{line}:6: "), message
    assert f"(at line {line}, column 6)" in message


def test_option_to_an_unknown_node(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "flow.toml", 'goto = "privacy"', 'goto = "privaci"')
    line = _line(text, 'goto = "privaci"')
    assert message == f"flow.toml:{line}: node 'menu': option 4 goes to unknown node 'privaci'"


def test_menu_numbers_unique(tmp_path: Path) -> None:
    old = 'key = "2"\nlabel = "menu_services"'
    message, text = broken(tmp_path, "flow.toml", old, old.replace('"2"', '"1"'))
    line = _line(text, old.replace('"2"', '"1"'))
    assert message == f"flow.toml:{line}: node 'menu': option number 1 is used twice"


def test_option_to_an_unknown_faq(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "flow.toml", 'faq = "orari"', 'faq = "orario"')
    line = _line(text, 'faq = "orario"')
    assert message == f"flow.toml:{line}: node 'faq': option 2: no faq 'orario' in faq.toml"


def test_services_come_from_the_directory_not_from_options(tmp_path: Path) -> None:
    old = 'services = ["bisogni"]'
    new = '[[node.services-basic.option]]\nkey = "1"\nservice = "caritas"'
    message, text = broken(tmp_path, "flow.toml", old, new)
    line = _line(text, 'service = "caritas"')
    assert message.startswith(
        f"flow.toml:{line}: node 'services-basic': services come from the directory now"
    )
    both = 'services = ["bisogni"]\n[[node.services-basic.option]]\nkey = "1"\naction = "menu"\n'
    message, text = broken(
        tmp_path / "b", "flow.toml", old, both.replace("action", 'label = "menu_back"\naction')
    )
    assert message == (
        f"flow.toml:{_line(text, old)}: node 'services-basic': a node lists "
        "either services or options, not both"
    )


def test_node_text_must_exist(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "flow.toml", 'say = "faq_list"', 'say = "faq_lista"')
    line = _line(text, "faq_lista")
    assert message == f"flow.toml:{line}: node 'faq': no text 'faq_lista' in texts.toml"


def test_unknown_placeholder(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "texts.toml", 'tornano {when_back}."', 'tornano {quando}."')
    line = _line(text, "{quando}")
    assert message.startswith(f"texts.toml:{line}: unknown placeholder {{quando}}"), message


def test_required_text_missing(tmp_path: Path) -> None:
    message, _ = broken(tmp_path, "texts.toml", "[goodbye]", "[goodbye_old]")
    assert message == "texts.toml:1: text 'goodbye' is missing (the bot needs it)"


def test_unknown_key_is_a_typo(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "services.toml", 'about.it = "Spazi', 'abuot.it = "Spazi')
    line = _line(text, "abuot.it")
    assert message.startswith(f"services.toml:{line}: service 'progetto-giovani': unknown key")


def test_unknown_contact_field(tmp_path: Path) -> None:
    old = '[caritas.contacts]\nphone = ""'
    message, text = broken(tmp_path, "services.toml", old, old.replace("phone", "fax"))
    line = _line(text, 'fax = ""')
    assert message.startswith(f"services.toml:{line}: service 'caritas': contacts: unknown key")


def test_same_question_in_two_faqs(tmp_path: Path) -> None:
    message, text = broken(
        tmp_path, "faq.toml", '"quanto costa", "e gratis"', '"quanto costa", "chi siete"'
    )
    line = _line(text, '"chi siete", "chi sei"') - 1  # chi-siamo comes after gratuito
    assert message == (
        f"faq.toml:{line}: faq 'chi-siamo': question 'chi siete' is the same as "
        "one of faq 'gratuito'"
    )


def test_bad_crisis_phrase(tmp_path: Path) -> None:
    old = 'phrases = [\n  "=voglio|=vorrei'
    message, text = broken(tmp_path, "crisis.toml", old, old.replace('[\n  "', '[\n  "?!", "'))
    line = _line(text, '"?!"') - 1
    assert message == f"crisis.toml:{line}: suicide: '?!' has no letters in phrase '?!'"


def test_bad_settings(tmp_path: Path) -> None:
    message, text = broken(tmp_path, "flow.toml", "minutes = 30", "minutes = 0")
    line = _line(text, "no_response_minutes = 0")
    assert message == f"flow.toml:{line}: no_response_minutes: 1 to 1440"
    message, text = broken(tmp_path / "b", "lexicon.toml", "suggest = 40", "suggest = 99")
    line = _line(text, "suggest = 99")
    assert message == f"lexicon.toml:{line}: suggest must not be above answer"


def test_missing_file(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "crisis.toml").unlink()
    with pytest.raises(PackError, match=r"^crisis\.toml: missing from "):
        load_pack(folder)


def test_error_messages_always_name_a_line(tmp_path: Path) -> None:
    message, _ = broken(tmp_path, "faq.toml", "[telefono]", "[Telefono!]")
    assert re.match(r"^faq\.toml:\d+:", message), message


def test_bad_personal_words_name_file_and_line(tmp_path: Path) -> None:
    message, text = broken(
        tmp_path, "lexicon.toml", 'person = [\n  "=io",', 'person = [\n  "?!", "=io",'
    )
    assert message.startswith("lexicon.toml:") and "[about] person: '?!' has no letters" in message
    message, _ = broken(
        tmp_path / "b", "lexicon.toml", "[about]\nperson = [", "[about]\npeople = ["
    )
    assert "[about] has no 'person' list" in message


def test_faq_keywords_must_be_words(tmp_path: Path) -> None:
    old = 'keywords = ["paga", "costa",'
    message, text = broken(tmp_path, "faq.toml", old, 'keywords = [42, "costa",')
    line = _line(text, "keywords = [42")
    assert message == f"faq.toml:{line}: keywords must be a non-empty string"
    message, text = broken(tmp_path / "b", "faq.toml", old, 'keywords = ["il"] #')
    line = _line(text, 'keywords = ["il"]')
    assert message == (
        f"faq.toml:{line}: faq 'gratuito': keywords have only small words (nothing to look for)"
    )
