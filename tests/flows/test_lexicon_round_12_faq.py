"""Lexicon round 12, FAQ part: the service questions by class, and personal look-alikes.

Each class is a family of wordings of one FAQ (synonyms, slang, dialect, short forms, English)
added to faq.toml, with messages that must get that FAQ. Its look-alikes share the class's words
but tell something personal: they must reach a listener, never a FAQ alone. English "tell" is no
longer read as "tel" (telefono), and not knowing who one is any more is personal.
"""

from __future__ import annotations

import pytest

from flows import Pack, triage
from flows.evaluate import first_contact
from tests.flows.lexicon_cases import each_text

FAQS: dict[str, tuple[str, list[str]]] = {
    # someone around at a time of day, weekdays or weekends, 24/7, in English and dialect
    "hours": (
        "orari",
        [
            "rispondete h24?",
            "ce state stasera?",
            "r u guys open on weekdays?",
            "what time do u close",
        ],
    ),
    # the mechanism explained, the procedure, this thing
    "how_it_works": (
        "come-funziona",
        [
            "mi spiegate il meccanismo della chat?",
            "qual e la procedura x scrivervi",
            "come funziona sto coso?",
        ],
    ),
    # charges on the bill or the phone, dialect and slang for paying
    "cost": (
        "gratuito",
        [
            "ci sono addebiti sul credito?",
            "quantu costa scrivivi?",
            "quanto se paga?",
            "will my parents get billed?",
        ],
    ),
    # a made-up name, a pseudonym, in English with "tell"
    "anonymity": (
        "anonimato",
        [
            "posso usare un nome inventato?",
            "posso scrivervi con uno pseudonimo",
            "will you tell my parents what i write?",
        ],
    ),
    # introduce yourselves, who you are in dialect, in English
    "who_we_are": (
        "chi-siamo",
        [
            "presentatevi un attimo",
            "ma vuatri cu siti?",
            "who r u guys??",
        ],
    ),
    # an ambulance, or writing here
    "emergency": (
        "emergenza",
        [
            "per le emergenze chiamo l ambulanza o vi scrivo?",
            "is this for emergencies or should i call an ambulance",
        ],
    ),
    # counsellors, the ASL, help desks near home
    "local_services": (
        "servizi-territorio",
        [
            "c e uno sportello dell ausl per ragazzi?",
            "are there any counselors in cesena?",
            "ci sono sportelli di ascolto in zona?",
        ],
    ),
    # a contact number, a hotline, a video call
    "phone": (
        "telefono",
        [
            "avete un recapito telefonico?",
            "is there a hotline i can ring?",
            "can we vc?",
        ],
    ),
    # joining the team, an internship, getting involved
    "volunteering": (
        "volontariato",
        [
            "posso entrare nel vostro team?",
            "posso fare il tirocinio con voi?",
            "how can i get involved with u",
        ],
    ),
    # trading skills for hours, time banking
    "time_bank": (
        "banca-del-tempo",
        [
            "can i trade my skills for hours?",
            "how does time banking work",
        ],
    ),
}

PERSONAL: dict[str, list[str]] = {
    # the classes' words in a personal message: a listener, never a FAQ alone
    "class_words": [
        "nel mio team di calcio nessuno mi passa la palla e mi sento escluso",
        "il tirocinio mi sta schiacciando, piango ogni sera",
        "mio padre urla per gli addebiti sulla carta e ho paura",
        "presentatevi pure ma io sto malissimo",
        "i trade my lunch for cigarettes and my mom found out",
    ],
    # not knowing or recognising oneself any more
    "identity": [
        "nn so piu chi sono",
        "i don't know who i am anymore",
        "non mi riconosco piu",
    ],
    # confiding, or asking to be told what to do
    "confiding": [
        "can i tell you something?",
        "tell me what to do",
        "posso dirvi una cosa?",
        "ditemi cosa devo fare",
    ],
}


def each_faq() -> list[tuple[str, str, str]]:
    return [(label, faq_id, text) for label, (faq_id, texts) in FAQS.items() for text in texts]


@pytest.mark.parametrize(("label", "faq_id", "text"), each_faq())
def test_round_12_faq_class_is_answered(pack: Pack, label: str, faq_id: str, text: str) -> None:
    assert triage(pack, text).faq_id == faq_id, (label, triage(pack, text))


@pytest.mark.parametrize(("label", "text"), each_text(PERSONAL))
def test_round_12_personal_reaches_a_listener(pack: Pack, label: str, text: str) -> None:
    escalated, _faq = first_contact(pack, text)
    assert escalated is not None, (label, triage(pack, text))


def test_round_12_tell_is_not_tel(pack: Pack) -> None:
    assert pack.normalize("tell me")[0] == "tell"
    assert pack.normalize("il tel")[-1] == "telefono"
