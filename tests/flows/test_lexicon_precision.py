"""Precision round of the crisis lexicon: classes of harmless messages that used to be called a
crisis (an idiom not masked, a topic word out of context, a stem read too far, weak risk signals
adding up), each with the real disclosures sharing its words, which must stay crises."""

from __future__ import annotations

import pytest

from flows import Pack
from tests.flows.lexicon_cases import assert_crisis, assert_no_crisis, crises, look_alikes

# label: (real disclosures that stay crises, harmless messages with the same words)
PRECISION: dict[str, tuple[list[str], list[str]]] = {
    "dying_of_an_ordinary_hardship": (
        [
            "mi ammazzo stanotte, ho deciso",
            "giuro che mi ammazzo se mi rimandano a casa sua",
            "voglio morire, non ce la faccio piu a studiare cosi",
            "mi ammazzo, tanto a nessuno importa",
        ],
        [
            "mi sto ammazzando di studio per la maturita",
            "ho una fame che mi ammazzo, a che ora si mangia",
            "sto a mori de sonno stamattina",
            "crepo di fatica dopo la gita in montagna",
            "mi sento morire dalla vergogna, ho sbagliato nome alla prof",
        ],
    ),
    "dropping_onto_a_sofa": (
        [
            "mi butto dal balcone stanotte",
            "mi butto giu dal ponte",
            "voglio buttarmi sotto il treno",
        ],
        [
            "appena torno da scuola mi butto sul divano e dormo",
            "mi butto in piscina appena apre",
            "se perdo ancora a uno mi butto dal letto per la disperazione 😂",
        ],
    ),
    "beaten_at_a_game_or_worn_out_by_a_coach": (
        [
            "mio padre mi ha massacrata di botte ieri sera",
            "mi massacra ogni volta che torna ubriaco",
            "il mio patrigno ci picchia quando perde a carte",
        ],
        [
            "mia cugina mi ha stracciato a uno per la decima volta",
            "il mister ci ha massacrati all allenamento, 30 scatti",
            "la prof ci ha sterminati alla verifica di latino",
            "mi ha massacrato a scacchi in dieci mosse",
        ],
    ),
    "fed_up_with_something_ordinary": (
        [
            "non ce la faccio piu, voglio che finisca tutto",
            "non ce la faccio piu con questa vita",
            "non ce la faccio piu con mio fratello che mi picchia tutti i giorni",
        ],
        [
            "non ce la faccio piu con questo caldo",
            "non ce la faccio piu con la chimica, domani chiedo ripetizioni",
            "non ce la faccio piu con il wifi di casa, cade ogni 5 minuti",
        ],
    ),
    "goodbye_to_a_taste_or_a_screen": (
        [
            "addio a tutti, vi ho voluto bene",
            "addio raga",
            "ho scritto un messaggio di addio ai miei",
        ],
        [
            "ho bevuto il te bollente, addio lingua",
            "mi e caduto il telefono, addio schermo",
            "ho preso 4 in fisica, addio media",
        ],
    ),
    "food_coma_and_coma": (
        [
            "il mio amico e in coma dopo la festa",
            "la mia amica e finita in coma etilico",
        ],
        [
            "food coma totale dopo il sushi",
            "sono in coma dopo il pranzo dalla nonna",
        ],
    ),
    "a_crisis_topic_in_a_school_project_or_the_news": (
        [
            "penso al suicidio ogni giorno",
            "ho pensieri di suicidio da settimane",
            "mi autolesiono di nuovo",
            "vorrei scomparire e basta",
            "mi hanno drogata alla festa e non ricordo niente",
        ],
        [
            "sto preparando una presentazione sulla prevenzione del suicidio per scienze umane",
            "la prof ci ha chiesto una tesina sul bullismo e l autolesionismo",
            "al tg hanno detto che la ragazza scomparsa e stata ritrovata",
            "oggi in aula magna un incontro sulle droghe con la polizia",
            "in gita siamo andati al museo e c erano armi medievali ovunque",
        ],
    ),
    "words_read_too_far": (
        [
            "il mio ragazzo mi ha dato un calcio davanti ai suoi amici",
            "mi prende a calci quando torna a casa",
            "mi hanno chiusa in camera e non mi fanno uscire",
            "un uomo piu vecchio mi chiede foto",
            "ho preso 20 lassativi e ho crampi",
            "ho preso tutte le pillole di mia madre",
            "mi ha costretta anche se gli dicevo di no",
        ],
        [
            "tra scuola e calcio non ho mai tempo per niente",
            "quando litigano mi chiudo in camera con la musica",
            "la mia prof ha messo una foto vecchia della classe",
            "mi sono lassato co la regazza",
            "mi sono tagliata la frangia e sembro un fungo, sto malissimo",
            "voglio fare medicina ma tutti dicono che e troppo difficile",
            "mi vedo brutta anche se tutti dicono di no",
        ],
    ),
    "sport_falls_and_bruises": (
        [
            "mio padre mi ha lasciato i lividi sulle braccia",
            "mi do pugni sulle gambe fino a farmi i lividi",
            "mi sono fatta male apposta con la lametta",
        ],
        [
            "a karate oggi sparring durissimo, sono pieno di lividi",
            "mi sono fatto male alla caviglia a calcetto, niente partita sabato",
            "sono caduta dalla bici davanti a scuola, che figura",
        ],
    ),
    "ordinary_aches_photos_and_ties": (
        [
            "mi sono tagliata le braccia ieri sera",
            "minaccia di pubblicare le mie foto se non gli mando soldi",
            "he says he will send my pics to my parents",
            "someone has my nudes and wants money",
        ],
        [
            "mi fa male la pancia tutte le mattine prima della verifica",
            "ho tagliato i ponti con il mio vecchio gruppo",
            "ho i soldi contati per la gita, mio padre e preoccupato",
            "hate my yearbook photos, I look so weird",
            "mi tremano le gambe quando devo parlare in pubblico",
            "domani prelievo del sangue a digiuno, che ansia",
        ],
    ),
    "a_bone_broken_at_a_sport_a_finale_dying_single": (
        [
            "mio padre mi ha rotto il polso ieri sera",
            "mi ha rotto il naso con un pugno",
            "voglio morire da sola in camera mia",
            "i want to die, nobody would miss me",
        ],
        [
            "mio fratello si e rotto la gamba sciando, tre settimane di gesso",
            "mi sono slogata la caviglia a pallavolo",
            "that finale destroyed me, still crying lol",
            "moriro zitella con dieci gatti",
        ],
    ),
    "how_i_look_in_photos": (
        [
            "ha messo le mie foto nel gruppo e vuole soldi per toglierle",
            "minaccia di mandare i miei video a tutti se non pago",
        ],
        [
            "vengo sempre grassa nelle foto, odio farmele fare",
            "mi vedo orribile in tutte le foto della gita",
            "esco malissimo in ogni foto, che ansia",
        ],
    ),
    "heat_a_fall_and_a_product_gone": (
        [
            "non ne posso piu, stanotte la faccio finita",
            "my life is over and i want to end it",
            "mi sono buttata dal balcone ma sono ancora viva",
        ],
        [
            "non ne posso piu di questo caldo, 38 gradi in classe",
            "sono caduto dallo skate davanti a tutte le ragazze, che figura",
            "my life is over, they cancelled my favourite series",
        ],
    ),
    "vanishing_from_the_socials": (
        [
            "voglio sparire dal mondo",
            "vorrei solo sparire per sempre",
            "entro domenica sparisco, tanto a nessuno frega",
        ],
        [
            "vorrei sparire un attimo dai social, troppi commenti cattivi",
            "sto pensando di sparire da tutti i gruppi di classe",
            "mi sa che sparisco per una settimana da instagram",
        ],
    ),
    "medicine_with_everyday_words": (
        [
            "ho le pastiglie pronte, stavolta e per sempre",
            "ho mandato giu tutte le pastiglie di mia madre",
            "voglio mandare giu tutte le pillole",
        ],
        [
            "mio nonno prende sempre le pastiglie per il cuore dopo cena",
            "il gatto sputa sempre la pastiglia del veterinario, che fatica",
        ],
    ),
    "ordinary_decisions_and_a_whole_jar": (
        [
            "ho deciso. stasera",
            "ho gia deciso come e quando",
            "mi faccio fuori stanotte",
        ],
        [
            "ho deciso di lasciare il mio ragazzo, non mi trattava bene",
            "ho deciso di cambiare scuola l anno prossimo",
            "mi sono fatta fuori tutto il barattolo di nutella",
        ],
    ),
}


@pytest.mark.parametrize(("label", "text"), crises(PRECISION))
def test_real_disclosures_beside_the_harmless_classes_stay_crises(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text)


@pytest.mark.parametrize(("label", "text"), look_alikes(PRECISION))
def test_harmless_messages_sharing_a_crisis_word_are_no_crisis(
    pack: Pack, label: str, text: str
) -> None:
    assert_no_crisis(pack, label, text)
