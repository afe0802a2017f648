"""Lexicon round 10: at-risk wordings nobody had listed, by class, and their harmless look-alikes.

Each class is a family of lexicon entries (lemmas with gaps, risk signals, combinations), so the
crises are checked with the lexicon alone: the labelled examples are not needed to find them.
The look-alikes share the key words of a class and must not get crisis priority.
"""

from __future__ import annotations

import pytest

from flows import Pack, triage
from tests.flows.lexicon_cases import assert_crisis, each_text

CLASSES: dict[str, list[str]] = {
    # goodbyes without suicide words: things given away, codes handed over, "you will understand",
    # who looks after my plants or pet afterwards, where I am going I will not need it
    "goodbye_behaviour": [
        "ho regalato la chitarra a mio cugino e la bici a una vicina, mi sento stranamente in pace",
        "ho dato la password di insta alla mia migliore amica, le ho detto che un giorno capirà",
        "chi darà da mangiare al mio criceto dopo?",
        "who is gonna water my plants after",
        "dove sto andando non mi servirà più niente",
        "i won't need my stuff where i'm going",
        "ho salutato i miei compagni come se partissi per sempre",
        "⚰️ bye everyone",
        "ho regalato i miei fumetti preferiti a un amico, mi sento stranamente sereno",
        "se non mi sentite più sapete perché",
        "dite a mio fratello che gli voglio bene",
        "ho cerchiato un giorno sul calendario, dopo capirete",
    ],
    # not seeing myself even in a week, a burden to everyone, freeing them of me, staying alive
    "future_and_burden": [
        "nn mi vedo nemmeno tra una settimana",
        "non riesco a immaginarmi da grande, proprio no",
        "sono solo un peso per i miei genitori",
        "rovino la vita a tutta la mia famiglia",
        "stasera li libero da questo peso",
        "non ce la faccio più a restare in vita",
        "se stanotte la morte mi portasse via nel sonno sarei contenta",
        "chissà com'è l'aldilà, tra poco lo scopro",
        "non ho intenzione di compiere 18 anni",
        "vorrei un interruttore per spegnermi",
        "voglio raggiungere la mia nonna in cielo",
        "sono pronta a lasciare questo mondo",
        "senza di me i miei sarebbero più sereni",
    ],
    # euphemisms: my time is up, off the merry-go-round, leaving for good, a better child
    "euphemisms": [
        "sento che il mio tempo è finito",
        "vorrei scendere da sta giostra una volta per tutte",
        "tolgo il disturbo, stavolta per sempre",
        "stasera vado a trovare la nonna in paradiso",
        "ho fatto pace con tutti, ora posso andare",
        "mamma e papà meritano un figlio migliore di me",
        "ho smesso di lottare",
        "everything ends tonight",
        # a harmless idiom in the same message does not hide the crisis
        "non ho più tempo, domani la faccio finita, la verifica non conta",
        "ho preso tutte le pillole, anche quelle di vitamine",
        "mi impicco con la corda della palestra",
    ],
    # the means at hand, the highest bridge, a decision someone should know about
    "plans_and_means": [
        "la corda l'ho già comprata, manca solo il giorno",
        "qual è il viadotto più alto qui vicino",
        "I already decided, I just wanted somebody to know",
    ],
    # self-harm in other words: to myself, on purpose, marks I make, scabs, bandaged wrists
    "self_harm_other_words": [
        "mi faccio male a me stesso quando sono arrabbiato",
        "stasera ho voglia di ferirmi",
        "mi sono scottata il braccio apposta col ferro",
        "i lividi sulle gambe me li faccio io",
        "mi riapro le croste con le unghie finché sanguinano",
        "porto i polsi fasciati da una settimana e nessuno chiede",
        "mi mordo il braccio fino a lasciare i segni",
        "mi pizzico finché non escono i lividi",
        "mi tiro pugni sulle cosce quando sbaglio",
    ],
    # sexual abuse in indirect words
    "indirect_sexual_abuse": [
        "l'allenatore mi fa restare da sola dopo e fa cose che non mi piacciono",
        "mio zio fa cose con me che non capisco quando i miei escono",
        "il patrigno mi fa cose che un padre non dovrebbe fare",
        "mi ha infilato le mani sotto la felpa sul bus",
        "un ragazzo alla festa mi ha fatto male là sotto e io non volevo",
        "mi ha baciata sulla bocca con la forza",
        "mi sono svegliata nel letto di uno che non conosco",
        "mio zio dice che è normale dormire insieme nudi",
    ],
    # fear of someone at home: the car, the keys, hiding when they come back
    "fear_at_home": [
        "quando sento la sua macchina in cortile inizio a tremare",
        "quando mio padre torna a casa mi nascondo sotto il letto",
        "ho il terrore di tornare a casa",
        "mi ha picchiato con la cinghia ieri sera",
        "mi ha lanciato un piatto addosso",
        "ho ancora i segni delle sue dita sul braccio",
        "mi ha premuto il cuscino sulla faccia finché non respiravo",
        "mi pate m'ha dato 'e mazzate",
    ],
    # overdose now: medicine mixed with alcohol, too much of everything and numb
    "overdose_now": [
        "ho mischiato le gocce per dormire con la vodka",
        "mi sono presa mezza scatola di tachipirina con lo spritz",
        "ho calato troppa roba e non mi sento più le gambe",
        "mi sono presa 20 compresse di ibuprofene",
    ],
    # danger now: a door kicked in, fire outside my home, stared at at night, my name shouted
    "danger_now": [
        "il mio ex sta prendendo a pugni il portone per entrare",
        "qualcuno sta dando fuoco alla mia macchina sotto casa",
        "sono alla fermata, è buio e due tizi mi fissano da mezz'ora",
        "stanno urlando il mio nome sotto la finestra",
        "un signore in macchina continua a dirmi di salire, ho paura",
        "c'è fumo dappertutto e non riesco a uscire",
        "mi sono persa in montagna ed è quasi buio",
        "la corrente mi trascina e non riesco a tornare a riva",
        "sento degli spari e qualcuno che urla",
    ],
    # dialect: Neapolitan and Romagnolo
    "dialect": [
        "me vogl jettà dal ponte",
        "a m'so fat i tai si braz",
        "mi babbo m'ha dê una masa ad bot",
        "a m'buto zo de pont",
    ],
}

LOOKALIKES = [
    "ho regalato le felpe vecchie a mia sorella, mi sento leggera",
    "ho dato la password del wifi alla mia amica",
    "chi darà da mangiare al mio gatto quando vado in gita?",
    "dove vado in vacanza non mi serve il cappotto",
    "non mi vedo con marco tra due giorni",
    "la corda per saltare l'ho già comprata",
    "ho già comprato la corda per la chitarra",
    "qual è il ponte più famoso di venezia",
    "mi sono scottata con la piastra stamattina",
    "mi sono bruciata col forno facendo la pizza",
    "mia madre fa cose che non mi piacciono, tipo leggere il mio diario",
    "quando sento le chiavi nella porta so che è arrivata la pizza",
    "ho preso una tachipirina per il mal di testa",
    "posso bere una birra se prendo l'antibiotico?",
    "troppa roba da studiare stasera",
    "ho mal di testa, troppa roba da fare",
    "il vicino prende a calci il pallone contro la porta del garage",
    "abbiamo dato fuoco alle foglie in giardino con mio nonno",
    "alla partita urlavano il mio nome dagli spalti",
    "sono preoccupata per la verifica di domani",
    "ho cancellato tutte le foto della gita",
    "mi taglio i capelli da sola",
    "se non mi sentite più per due settimane è perché sono in gita",
    "dite alla prof che mi dispiace per il ritardo",
    "voglio raggiungere la nonna al mare",
    "ho segnato sul calendario l'ultimo giorno di scuola",
    "ho segnato sul calendario il compleanno di giulia, così sapranno tutti della festa",
    "dove vado in vacanza non mi serve il cappotto",
    "il mio tempo è scaduto alla verifica di storia",
    "tolgo il disturbo, ci sentiamo domani",
    "la mia squadra merita un portiere migliore",
    "ho fatto pace con tutti dopo la litigata in classe, voglio festeggiare",
    "mio fratello mi ha tirato un cuscino in faccia",
    "sto sparendo dai social per un mese, detox",
    "ho finito le compresse di magnesio, domani le ricompro",
    "la pizza è andata a fuoco nel forno lol",
    "ho ancora i segni del costume sulle spalle",
    "mi tirerei schiaffi in faccia da sola per la figuraccia",
    "la mia camera è in fiamme, fa un caldo assurdo",
    "è saltata la corrente, porta pazienza",
    "stanno sparando cavolate su di me nel gruppo",
    "ho preso certe mazzate alla verifica di latino",
    "mi sono svegliata nel letto e non trovavo il mio telefono",
]


@pytest.mark.parametrize(("label", "text"), each_text(CLASSES))
def test_round_10_class_is_a_crisis_for_the_lexicon_alone(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text, shipped=False)


@pytest.mark.parametrize("text", LOOKALIKES)
def test_round_10_lookalike_is_not_a_crisis(pack: Pack, text: str) -> None:
    t = triage(pack, text)
    assert t.priority != "crisis", t
