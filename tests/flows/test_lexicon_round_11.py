"""Lexicon round 11: suicide risk told without its words, by class, and harmless look-alikes.

Each class is a family of lexicon entries (lemmas with gaps, co-occurrences), so its crises are
checked with the lexicon alone. The look-alikes share a class's key words (vanishing, sleeping,
a goodbye, giving things away, a decision, heaven) and must not get crisis priority.
"""

from __future__ import annotations

import pytest

from flows import Pack
from tests.flows.lexicon_cases import assert_crisis, assert_no_crisis, crises, look_alikes

CLASSES: dict[str, tuple[list[str], list[str]]] = {
    # sleeping and that's it, not existing, melting away, swallowed for ever
    "vanish_or_not_wake": (
        [
            "vorrei dormire x sempre",
            "vorrei addormentarmi stasera e basta, senza sveglia domani",
            "vorrei nn esistere",
            "vorrei evaporare",
            "wish i could fall asleep forever",
            "vorrei che la terra mi inghiottisse x sempre",
            "a n'ho piò voja ad gnint, a voi sparì",
            "ogni mattina spero di nn essermi svegliata",
            "ho smesso di fare progetti, tanto a che serve",
        ],
        [
            "vorrei sparire sotto le coperte fino a lunedi",
            "sono cosi stanca che dormirei x due giorni",
            "vorrei sparire in montagna per un weekend senza telefono",
        ],
    ),
    # a weight for everyone, life easier without me, nobody having to put up with me
    "burden": (
        [
            "sono un peso x tutti, lo so",
            "i'm just dead weight to everyone",
            "senza di me avrebbero meno problemi",
            "mia madre avrebbe una vita piu facile senza di me",
            "tra poco nn sarete piu costretti a sopportarmi",
            "tanto fra una settimana nn sara piu un problema vostro",
            "rovino tutto a tutti, meglio se mi tolgo",
        ],
        [
            "lo zaino di scuola pesa un sacco, e un peso che porto tutti i giorni",
        ],
    ),
    # farewells: take care of someone, remember me, sorry for the trouble, the last goodbye
    "farewells": (
        [
            "se leggete questo prendetevi cura di mio fratello",
            "sorry for everything. take care of my dog",
            "grazie e scusate, nn dimenticatevi di me",
            "questo e il mio ultimo saluto",
            "when you read this i'll be gone",
            "scusate se vi ho fatto soffrire cosi tanto",
            "grazie x avermi ascoltato, questa e l'ultima volta",
            "mi chiedo come si ricorderanno di me i miei compagni",
        ],
        [
            "grazie di tutto prof, buona estate a tutti",
            "scusate il ritardo, buona vita a tutti gli ex compagni del liceo",
            "ho scritto una lettera alla mia prof per ringraziarla",
        ],
    ),
    # things given away or left to someone, who gets what, unfinished business closed
    "preparations": (
        [
            "ho dato via le mie cose piu care",
            "ho deciso a chi va cosa, e scritto tutto",
            "le mie cose le ho lasciate a mia sorella",
            "ho chiuso tutti i conti in sospeso",
            "ho gia scritto un messaggio programmato per domenica notte",
            "so gia come e quando",
            "ho trovato il posto giusto, e alto abbastanza",
        ],
        [
            "ho regalato le felpe vecchie alla caritas",
            "ho tutto pronto per la gita di sabato",
            "ho comprato una corda per saltare",
        ],
    ),
    # endings as metaphors: the off button, no light in the tunnel, no more tomorrows, credits
    "endings": (
        [
            "cerco il pulsante off della mia vita",
            "mi sto spegnendo piano piano",
            "il tunnel nn finisce e nn c e nessuna luce",
            "per me sono finiti i domani",
            "vorrei che scorressero i titoli di coda della mia vita",
            "nn vedo un domani",
            "non ci saro al mio compleanno",
            "non arrivero a natale",
            "tra poco i soldi nn mi serviranno piu",
        ],
        [
            "il film era lunghissimo, sono uscita prima dei titoli di coda",
            "ho spento la tv e sono andata a letto",
        ],
    ),
    # calm or relief once decided; no way out; no strength left
    "calm_and_no_way_out": (
        [
            "stranamente sono calma, ho preso la mia decisione",
            "finalmente mi sento leggera, ho preso una decisione",
            "mo sto sereno, ho deciso, nun ve preoccupate",
            "nn c e via di uscita",
            "i see no way out",
            "sono stanca di lottare, mi arrendo",
            "non ho piu la forza di andare avanti",
            "nn ha piu importanza niente",
            "nn ho piu niente da perdere",
            "tanto nn cambia niente se ci sono o no",
            "nn voglio piu sentire niente, mai piu",
            "i don't see the point of anything anymore",
        ],
        [
            "mi sento in pace dopo la meditazione",
            "ho deciso la data della festa",
            "ogni tanto penso di nn essere abbastanza per la mia ragazza",
        ],
    ),
    # heaven and someone dead, soon; going away for ever; a friend who will not be around
    "heaven_and_friends": (
        [
            "mi manca la nonna, vorrei essere con lei ora",
            "chissa com e il paradiso, presto lo vedo",
            "il mio amico dice che nn ci sara x molto",
            "il mio amico se ne va per sempre e nn parla di viaggi",
            "la mia amica ha regalato tutte le sue cose",
            "ho paura che il mio amico si faccia qualcosa",
            "mia sorella dice che ha gia scelto la canzone per il mio funerale",
            "il mio amico ha scritto che e stato bello conoscerci e ha spento il telefono",
        ],
        [
            "la nonna e in cielo e mi manca tanto",
            "al funerale del nonno hanno messo la sua canzone",
        ],
    ),
}


@pytest.mark.parametrize(("label", "text"), crises(CLASSES))
def test_round_11_class_is_a_crisis_for_the_lexicon_alone(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text, shipped=False)


@pytest.mark.parametrize(("label", "text"), look_alikes(CLASSES))
def test_round_11_lookalike_is_not_a_crisis(pack: Pack, label: str, text: str) -> None:
    assert_no_crisis(pack, label, text)
