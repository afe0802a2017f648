"""Lexicon round 12 (crisis lexicon): crises told indirectly, and idioms that sounded like them.

CLASSES: each class is a family of lexicon entries (lemmas with gaps, co-occurrences), so its
crises are checked with the lexicon alone; its look-alikes share the class's key words and must not
get crisis priority.
PRECISION: each class of harmless messages narrowed in this round (an idiom masked, an entry or a
signal narrowed), with the disclosures sharing its words that must stay crises.
"""

from __future__ import annotations

import pytest

from flows import Pack
from tests.flows.lexicon_cases import assert_crisis, assert_no_crisis, crises, look_alikes

CLASSES: dict[str, tuple[list[str], list[str]]] = {
    # no next year, summer or birthday for me
    "no_next_year": (
        [
            "tanto nn ci sara nessuna estate x me",
            "mi chiedono dell universita ma non ci sara nessun futuro per me",
            "there's no next year for me, i know it",
        ],
        [
            "quest'anno nessuna vacanza al mare per me, resto in città",
        ],
    ),
    # a last message to the listeners, thanks for trying; not around any more
    "last_message": (
        [
            "last message from me, thanks for everything",
            "this is my last text, sorry for everything",
            "grazie per averci provato, questo e l'ultimo messaggio",
            "if i don't answer tomorrow it's because i'm not around anymore",
        ],
        [
            "last message here, see you on discord",
            "this is my last text here tonight, going to bed",
            "grazie per averci provato, ci sentiamo domani",
        ],
    ),
    # looked up how high a bridge or a building is; going to the tracks and wanting it known
    "heights_and_tracks": (
        [
            "i googled how high the bridge on the ring road is",
            "ho cercato quanto e alto il cavalcavia vicino casa",
            "vado ai binari stanotte, addio",
            "sto andando sui binari, volevo che qualcuno lo sapesse",
        ],
        [
            "vado ai binari a prendere il treno per milano",
        ],
    ),
    # it ends tonight; tried before and better organised; a car running in a closed garage;
    # not waking up, and liking the idea
    "tonight_and_plans": (
        [
            "stanotte finisce tutto",
            "stanotti a finisciu, nun ce la fazzu chiu",
            "stanotte chiudo i conti con tutto",
            "ci avevo gia provato, stavolta mi organizzo meglio",
            "i tried before, this time i'll do it properly",
            "sono nel box con il motore acceso",
            "se non mi svegliassi domani mi piacerebbe",
        ],
        [
            "stasera finisce tutto, ultima puntata della serie!",
            "ho gia provato a fare la torta, stavolta ci riesco",
        ],
    ),
    # not having to put up with him or me much longer; nobody would look for me before it is enough
    "burden_and_time": (
        [
            "la mia amica dice che presto non dovremo piu sopportarla",
            "he says we won't have to deal with him for much longer",
            "nessuno mi cercherebbe prima di domani sera, basta e avanza",
            "nobody would look for me until monday, that's enough time",
        ],
        [
            "l'anno prossimo non dovremo più sopportarlo, cambia scuola il prof",
            "se salto scuola nessuno mi cerca fino a sera, dormo tutto il giorno",
        ],
    ),
    # a farewell to a parent: sorry, I love you, but I cannot stay
    "farewell_to_parent": (
        [
            "scusa papa, ti voglio bene, ma non riesco a restare",
            "sorry mom, love you, but i can't stay",
        ],
        [
            "scusa mamma non posso restare a cena, ti voglio bene",
        ],
    ),
    # needing physical pain; lines made on the skin; deeper this time; redone after clean months;
    # hiding arms or thighs at the pool; a relapse told alone
    "self_harm_told_sideways": (
        [
            "i need to feel physical pain, it's the only thing that helps",
            "ho bisogno di sentire dolore fisico, è l'unica cosa che mi calma",
            "mi faccio delle righe sulle cosce che nessuno vede",
            "le braccia di mia sorella sono piene di linee fresche",
            "ho usato il temperino, stavolta piu a fondo",
            "l'ho rifatto dopo due mesi pulito",
            "did it again, my arms are a mess",
            "non vengo in piscina, vedrebbero i polsi",
            "ci sono ricaduta",
        ],
        [
            "i need to feel the pain of leg day lol",
            "ho bisogno di sentire meno dolore al ginocchio, che faccio?",
            "ci sono ricascata col mio ex, l'ho richiamato",
        ],
    ),
    # touched and told it is normal or a game; hands on me; clothes off on camera; not
    # remembering saying yes; not stopping when I said no
    "sexual_violence_told_sideways": (
        [
            "il vicino mi toccava e poi diceva che era normale",
            "mi tocca e dice che e il nostro gioco",
            "mi mette sempre le mani addosso quando siamo soli",
            "in videochiamata mi ha chiesto di togliermi la maglietta",
            "i don't remember agreeing to anything last night",
            "non mi ricordo di aver detto di si",
            "non si e fermato neanche quando gli ho detto basta",
            "he wouldn't stop even though i said no, anche se gli ho detto di smettere",
        ],
        [
            "mi tocca studiare, dice la prof che è normale",
            "non si è fermato allo stop e la prof ha detto no",
        ],
    ),
    # photos posted if I leave; a countdown and the list of my followers
    "sextortion_threats": (
        [
            "dice che se la lascio pubblica le foto nella chat di classe",
            "ha la lista dei miei contatti e fa il countdown",
        ],
        [
            "conta i giorni che mancano alla gita, lo dice a tutti i suoi contatti",
        ],
    ),
    # a bottle or a blister emptied; pills finished and the eyes closing
    "overdose_told_sideways": (
        [
            "ho svuotato il flacone di sonniferi",
            "mio fratello ha svuotato il blister di ansiolitici",
            "ho preso tutte le pastiglie, mi si chiudono gli occhi",
        ],
        [
            "ho svuotato lo zaino e l'armadio per le vacanze",
        ],
    ),
    # afraid of what someone at home does to me; a drunk parent heard coming up the stairs;
    # bruises again
    "abuse_told_sideways": (
        [
            "ho paura di quello che mi fa mio padre quando torna",
            "lo sento salire le scale, è ubriaco",
            "my stepdad is drunk and i can hear him at my door",
            "l'ha fatto di nuovo, sono pieno di lividi",
        ],
        [
            "ho paura di quello che mi farà la prof all'orale",
            "sono pieno di lividi dopo il torneo di judo",
        ],
    ),
    # someone beaten up now; lost at night with a dying phone; a car slowing beside me; a group
    # closing in
    "danger_now": (
        [
            "stanno picchiando un mio amico fuori da scuola",
            "they are beating up my brother outside",
            "sono in un bosco, non so dove sono, è buio e il telefono è scarico",
            "una macchina mi sta affiancando piano da dieci minuti",
            "mi stanno circondando in 4, ho paura",
        ],
        [
            "mi sono persa in centro, non so dove sono, ma ho google maps",
            "la macchina dietro di me mi sta affiancando per parcheggiare",
            "la stanno circondando di regali",
        ],
    ),
    # making myself vomit after meals
    "purging": (
        [
            "mi faccio vomitare dopo ogni pasto",
            "dopo pranzo corro in bagno a vomitare",
            "i purge after every meal",
        ],
        [
            "dopo cena vado in bagno a lavarmi i denti",
        ],
    ),
}

PRECISION: dict[str, tuple[list[str], list[str]]] = {
    # a glue gun, a water gun, a toy gun
    "tool_guns": (
        [
            "mi serve la pistola per la colla a caldo per il lavoretto di arte",
            "ho comprato una pistola ad acqua per il mare",
            "where do i buy a glue gun refill?",
        ],
        [
            "ho una pistola in camera e ci penso",
            "mio padre ha una pistola e stanotte ha minacciato mia madre",
        ],
    ),
    # cooking cuts and haircuts
    "cuts_of_food_and_hair": (
        [
            "le carote si tagliano a rondelle?",
            "la cipolla si taglia fine o grossa?",
            "mi sono fatto un nuovo taglio di capelli, sfumato",
            "mi sono fatta un taglio nuovo, caschetto corto",
            "my barber cut it way too short",
        ],
        [
            "mi taglio le braccia quando sono sola",
            "mi sono fatta un bel taglio sul braccio ieri sera",
            "mi sono fatta un nuovo taglio sul polso",
        ],
    ),
    # a hand cut off as hyperbole
    "cut_off_a_hand": (
        [
            "piuttosto mi taglio un braccio che andare in gita con loro",
            "mi taglierei una mano piuttosto che rivederlo",
        ],
        [
            "mi sono tagliata il braccio con la lametta",
        ],
    ),
    # "a suicide" said of an outing or a test; a character's suicide in a play
    "suicide_as_a_word": (
        [
            "uscire con questo freddo sarebbe un suicidio",
            "il compito di latino e un suicidio",
            "quel look era un suicidio sociale",
            "why does juliet commit suicide at the end of the play?",
            "in amleto ofelia si suicida o è un incidente?",
        ],
        [
            "penso al suicidio ogni giorno",
            "ho tentato un suicidio l'anno scorso",
            "il mio ragazzo e io abbiamo pensato a un doppio suicidio",
        ],
    ),
    # embarrassment: a hole to vanish in, a cringe; overwhelmed; a joke that floored me; fans
    "embarrassment_and_hyperbole": (
        [
            "volevo scavarmi una buca e sparirci dentro",
            "ho detto ti amo alla prof invece di buongiorno, figuraccia, voglio morire",
            "i called my teacher mom, so cringe i want to die",
            "sono sotto un treno con i compiti",
            "quel meme mi ha steso",
            "i'm shaking i'm crying, they announced the tour",
            "ho visto un film horror, morti ammazzati ovunque",
            "ho bruciato la torta di nuovo",
        ],
        [
            "voglio morire, nessuno mi capisce",
            "voglio buttarmi sotto un treno",
            "che figuraccia, hanno condiviso le mie foto nude, voglio morire",
        ],
    ),
    # one dose for an illness
    "one_dose": (
        [
            "ho la febbre e ho preso una tachipirina, domani resto a casa",
            "ho mal di denti, posso prendere un moment?",
            "can i take ibuprofen for period cramps?",
            "took an advil for my headache",
        ],
        [
            "ho la febbre e ho preso tutta la scatola di tachipirina",
            "ho mal di testa e ho preso 20 tachipirine",
            "i took the whole bottle of tylenol for my headache",
        ],
    ),
    # a date chosen is "la data", not "ogni giorno"; who would cry for me, not crying for him;
    # not breathing for work; studying that is no use
    "narrowed_entries": (
        [
            "non so se ho scelto l'indirizzo giusto, ogni giorno ci penso",
            "piango per lui da una settimana ma passera",
            "tra lavoro e compiti non respiro, come fate voi?",
            "studio tutto il giorno ma sembra non servire a nulla",
        ],
        [
            "ho scelto il giorno, sabato",
            "nessuno piangerebbe per me",
            "la mia amica non respira bene dopo la festa",
            "tanto io non servo a niente",
        ],
    ),
}


@pytest.mark.parametrize(("label", "text"), crises(CLASSES))
def test_round_12_class_is_a_crisis_for_the_lexicon_alone(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text, shipped=False)


@pytest.mark.parametrize(("label", "text"), look_alikes(CLASSES))
def test_round_12_lookalike_is_not_a_crisis(pack: Pack, label: str, text: str) -> None:
    assert_no_crisis(pack, label, text)


@pytest.mark.parametrize(("label", "text"), crises(PRECISION))
def test_round_12_harmless_is_not_a_crisis(pack: Pack, label: str, text: str) -> None:
    assert_no_crisis(pack, label, text)


@pytest.mark.parametrize(("label", "text"), look_alikes(PRECISION))
def test_round_12_disclosure_beside_a_narrowed_class_stays_a_crisis(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text)
