"""Triage of one message: what `sos-bot triage` prints and what the engine acts on."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from typing import Any

import pytest

from flows import Pack, Triage, triage
from flows.evaluate import first_contact
from flows.triage import language
from tests.flows.lexicon_cases import (
    assert_crisis,
    assert_no_crisis,
    crises,
    each_text,
    look_alikes,
)

CRISES = [
    "mi voglio ammazzà",
    "nn ce la faccio +",
    "me taglio",
    "kms",
    "unalive",
    "voglio morireee",
    "vorrei farla finita",
    "mi sono tagliata di nuovo",
    "mio padre mi picchia",
    "mi hanno violentata",
    "minaccia di pubblicare le mie foto",
    "ho preso troppe pillole",
    "c'è uno che mi segue e ho paura",
    "non mangio da giorni",
    "I want to kill myself",
    "he's threatening to leak my nudes",
    "my friend is not breathing",
    "suicidarmi",
    "voglio suicidarmi",
    "sucidarmi",  # typos too
]
IDIOMS = [
    "muoio dal ridere",
    "ho deciso: mi iscrivo a nuoto",
    "mio cugino mi ha battuto a fortnite",
    "addio dolci, da lunedì dieta",
    "il cane mi ha morso il dito e sanguina",
    "sto morendo di caldo",
    "ammazza che bello",
    "mi uccide sto compito di mate",
    "la festa è stata una bomba",
    "sto morendo dal ridere 😂",
    "this homework is killing me lol",
    "mi sono tagliata i capelli",
    "voglio dormire",
    "ammazzare il tempo",
    # words a crisis shares with sport, games, kitchen, shaving, school and the end of summer
    "mi sono fatto male a calcio",
    "mi butto giù dal letto alle sei",
    "addio estate",
    "goodbye summer",
    "ho fatto un'overdose di serie tv",
    "mi sono bruciata con la piastra",
    "i burned myself on the stove",
    "lametta nuova per la barba",
    "la prof ci ha massacrati di compiti",
    "ho picchiato il gomito contro la porta",
    "nel gioco devi buttarti dal ponte per finire il livello",
    "ho preso la pillola anticoncezionale in ritardo",
    "i'm done with homework for tonight",
    "che senso ha svegliarmi presto di domenica",
    "nascondo i segni dell'acne",
    "thinking about ending things with my boyfriend",
    "stasera me ne vado a dormire presto",
    # a last word for the evening, absences, goodbyes to things, plans, games, pets, diets,
    # small accidents and one pill: the words of a crisis in ordinary days
    "basta per stasera, ci sentiamo domani",
    "domani non ci sono a lezione",
    "addio vecchie scarpe 👟",
    "ho deciso: stasera sushi",
    "ho un piano per il weekend",
    "ci hanno asfaltato a pallavolo",
    "il cane mi ha morso il dito giocando",
    "back to day 1 on my diet",
    "non mangio glutine da due anni",
    "mi sono tagliato l'unghia troppo corta",
    "mi sanguina il naso",
    "mi sono bruciato col bollitore",
    "mi hanno escluso dal gruppo del progetto",
    "mi sono fatta il piercing, fa male?",
    "ho preso una tachipirina per la febbre",
    # followed on a social network or by a pet, a religious fast, the weather, binge-watching
    "il mio crush mi ha seguito su tiktok",
    "un gattino mi segue fino al portone",
    "faccio digiuno per il ramadan fino a stasera, sono stanchissima",
    "non ce la faccio più con questo caldo",
    "i wanna disappear from this group chat lol",
    "stasera mi ubriaco di netflix",
    "ho un taglietto sul dito, che dolore",
    # see you in September, too much coffee, sleeping for days, the floor, dead weight, a
    # parent's reaction, an uncle who drinks too much, "he is not violent"
    "addio ragazzi, ci si sente domani",
    "ho bevuto troppo caffè stamattina",
    "i could sleep forever after that shift",
    "volevo sparire sotto il banco dalla vergogna",
    "in palestra sono un peso morto",
    "ho paura della reazione di mia madre per il voto",
    "mio zio beve troppo alle cene di famiglia",
    "lui non è violento, è solo timido",
]


@pytest.mark.parametrize("text", CRISES)
def test_crisis(pack: Pack, text: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), t
    assert t.reason and t.reason.startswith("crisis:")


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_are_not_crises(pack: Pack, text: str) -> None:
    """Decided: "X mi uccide" (something else "kills me") is an idiom; "mi uccido" is not."""
    assert triage(pack, text).intent != "crisis"


def test_idiom_does_not_hide_a_crisis_in_the_same_message(pack: Pack) -> None:
    assert triage(pack, "muoio dal ridere ma in realtà voglio morire").intent == "crisis"


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("operatore", "normal"),
        ("voglio parlare con qualcuno", "normal"),
        ("posso parlare con una persona vera?", "normal"),
        ("can I talk to a real person", "normal"),
        ("i miei litigano sempre", "high"),
        ("a scuola mi prendono in giro", "high"),
        ("mi sento solo", "high"),
        ("il mio ragazzo mi ha lasciata", "high"),
        ("ho l'ansia", "high"),
        ("non mangio quasi niente e mi faccio schifo", "high"),
        ("voglio parlare con qualcuno, i miei si separano", "high"),
    ],
)
def test_person(pack: Pack, text: str, priority: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("human", priority), t


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("a che ora aprite?", "orari"),
        ("orai??", "orari"),
        ("è gratis", "gratuito"),
        ("quanto csota", "gratuito"),
        ("i miei lo verranno a sapere?", "anonimato"),
        ("sei un bot?", "come-funziona"),
        ("come faccio a cancellare i miei dati?", "cancellazione"),
        ("cos'è la banca del tempo", "banca-del-tempo"),
        ("how much does it cost", "gratuito"),
    ],
)
def test_faq(pack: Pack, text: str, faq_id: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.faq_id, t.priority) == ("faq", faq_id, None), t
    assert t.score is not None and 0 <= t.score <= 100


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP", "stop"),
        ("basta messaggi", "stop"),
        ("unsubscribe", "stop"),
        ("non mi scrivete più", "stop"),
        ("per favore non scrivetemi più", "stop"),
        ("CANCELLA", "erase"),
        ("cancellate tutto", "erase"),
        ("delete my data", "erase"),
        ("ciao", "greeting"),
        ("ciaooo raga", "greeting"),
        ("MENU", "greeting"),
        ("stop stop", "stop"),
        ("hey", "greeting"),
        ("grazie", "unknown"),
        ("ok", "unknown"),
        ("boh", "unknown"),
        ("", "unknown"),
    ],
)
def test_commands_and_small_talk(pack: Pack, text: str, intent: str) -> None:
    t = triage(pack, text)
    assert t.intent == intent, t
    assert t.priority is None


@pytest.mark.parametrize(
    "text",
    [
        "AIUTO",
        "aiutoooo",
        "aiuto aiuto aiuto",
        "help",
        "help me pls",
        "sos",
        "sos 🆘",
        "🆘🆘🆘",
        "rispondete x favore è urgente",
        "mi tocca",
        "he touches me",
    ],
)
def test_a_cry_for_help_alone_reaches_a_person_at_once(pack: Pack, text: str) -> None:
    """Too short for any lexicon, and never the menu: crisis priority, the emergency numbers."""
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), t
    assert first_contact(pack, text)[0] == "crisis"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("aiuto per i compiti di mate", "human"),
        ("mi tocca studiare tutto il weekend", "human"),
        ("sos amico giovani chi siete?", "faq"),
        ("MENU", "greeting"),
    ],
)
def test_the_same_words_in_a_longer_message_are_read_as_usual(
    pack: Pack, text: str, intent: str
) -> None:
    t = triage(pack, text)
    assert t.intent == intent and t.priority != "crisis", t


@pytest.mark.parametrize(
    "text",
    [
        "ho fatto sh ieri sera",
        "rifatto sh dopo due mesi",
        "did sh again last night",
        "sono in macchina con uno ubriaco che corre",
        "im in a car with a drunk driver",
    ],
)
def test_self_harm_shorthand_and_a_drunk_driver_are_crises(pack: Pack, text: str) -> None:
    assert triage(replace(pack, examples=None), text).intent == "crisis"


def test_saying_i_will_not_write_again_is_not_the_stop_command(pack: Pack) -> None:
    """Said of oneself, not asked of us: a person reads it; as a last word it is a crisis."""
    assert triage(pack, "non vi scrivo più, grazie").intent == "human"
    assert triage(pack, "volevo ringraziarvi, tanto non vi scriverò più").intent == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "voglio parlare con un operatore",
        "vorrei parlare con un volontario",
        "posso parlare con una persona vera?",
    ],
)
def test_asking_for_a_person_brings_no_faq_along(pack: Pack, text: str) -> None:
    """The words of the request itself ("operatore", "volontario") are no evidence for a FAQ."""
    t = triage(pack, text)
    assert (t.intent, t.faq_id) == ("human", None)


def test_a_question_beside_the_request_is_still_answered(pack: Pack) -> None:
    t = triage(pack, "esiste un posto dove andare a parlare con qualcuno a cesena?")
    assert (t.intent, t.faq_id) == ("human", "servizi-territorio")


@pytest.mark.parametrize(
    "text",
    [
        "ho una cosa da raccontare ma non so come iniziare",
        "things have gotten really weird lately and idk",
        "mi consigli una pizzeria?",
    ],
)
def test_what_the_bot_cannot_place_goes_to_a_person(pack: Pack, text: str) -> None:
    """Fail-safe: no lexicon entry, no FAQ, but a real message: a listener reads it."""
    t = triage(pack, text)
    assert (t.intent, t.reason, t.priority) == ("human", "unrecognised", "normal")


@pytest.mark.parametrize("text", ["boh", "ah ok", "lol", "muoio dal ridere 😂", "ciao grazie"])
def test_chatter_and_idioms_stay_with_the_bot(pack: Pack, text: str) -> None:
    assert triage(pack, text).intent in ("unknown", "greeting")


def test_asking_whether_we_are_there_tonight_is_no_last_word(pack: Pack) -> None:
    """ "ci siamo" (this is it) is a terse last word only as written: "ci siete stasera?" asks
    about the opening hours, while "ci siamo, stanotte" stays a crisis."""
    assert triage(pack, "ci siete stasera??").faq_id == "orari"
    assert triage(pack, "ci siamo, stanotte").intent == "crisis"


@pytest.mark.parametrize(
    "text",
    [
        "ho cancellato tutti i miei profili",
        "ho eliminato la chat con lui",
        "yesterday i deleted everything from my phone",
    ],
)
def test_a_report_of_deleting_something_is_not_the_erase_command(pack: Pack, text: str) -> None:
    """ "cancellate i miei dati" is a request; "ho cancellato..." tells what happened."""
    assert triage(pack, text).intent != "erase"


@pytest.mark.parametrize(
    "text",
    [
        "he told me to delete our messages and not to tell anyone",
        "my bf makes me delete all my chats every night",
        "a guy i met online said to delete our chats",
        "he told me to stop texting you",
        "un ragazzo mi ha detto di cancellare tutte le chat",
        "mi ha detto di smettere di scrivervi",
    ],
)
def test_someone_elses_words_are_not_our_command(pack: Pack, text: str) -> None:
    """ "he said to delete our chats" tells what someone made the young person do (often a
    groomer's instruction): never an erasure or an opt-out, and a person reads it."""
    t = triage(pack, text)
    assert t.intent in ("human", "crisis"), t
    assert first_contact(pack, text)[0] is not None  # a listener has it


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("please delete my data", "erase"),
        ("i want to delete my data", "erase"),
        ("delete everything", "erase"),
        ("cancellate i miei dati per favore", "erase"),
        ("stop writing to me", "stop"),
    ],
)
def test_a_request_in_the_first_person_is_still_the_command(
    pack: Pack, text: str, intent: str
) -> None:
    assert triage(pack, text).intent == intent


def test_commands_only_as_the_whole_message(pack: Pack) -> None:
    assert triage(pack, "stop al bullismo: ci sono incontri a scuola?").intent != "stop"
    assert triage(pack, "come si cancella la chat?").intent == "faq"


def test_every_faq_phrasing_finds_its_faq(pack: Pack) -> None:
    """The pack's own questions: never a crisis, almost always their own FAQ."""
    total = right = 0
    for faq in pack.faqs.values():
        for question in (q for qs in faq.questions.values() for q in qs):
            t = triage(pack, question)
            assert t.intent != "crisis", question
            total += 1
            right += t.faq_id == faq.id
    assert right / total >= 0.9


def test_as_dict_has_exactly_the_public_fields(pack: Pack) -> None:
    d = triage(pack, "è anonimo?").as_dict()
    assert list(d) == ["intent", "faq_id", "score", "priority"]
    assert d["intent"] == "faq" and d["faq_id"] == "anonimato"
    json.dumps(d)
    assert triage(pack, "voglio morire").as_dict() == {
        "intent": "crisis",
        "faq_id": None,
        "score": None,
        "priority": "crisis",
    }


def test_triage_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Triage("unknown").intent = "faq"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("ciao, come funziona?", "it"), ("hi, how does this work?", "en"), ("ok", None), ("🙂", None)],
)
def test_language(pack: Pack, text: str, lang: str | None) -> None:
    assert language(pack, text) == lang


# --- the fail-safe classes: each fixed as a class, by lemma entries, not single sentences ---

CLASSES = {
    "inflected": [
        "mi sto tagliando adesso",
        "continuo a tagliarmi",
        "sto tagliandomi",
        "mi sono bruciata",
        "sto pensando di uccidermi",
        "mi sto facendo male",
        "mi sto tagliadno",  # a typo too
        "me sto a taglià",
        "i keep cutting myself",
        "mi sto hurting again",
    ],
    "hopelessness": [
        "non ho più un motivo per vivere",
        "vorrei non svegliarmi domani",
        "sono un peso per tutti",
        "immagino il mio funerale",
        "volevo salutarvi, grazie di tutto",
        "no reason to live",
        "everyone would be better off without me",
        "i picture my own funeral",
    ],
    "abuse": [
        "mio zio mi tocca quando siamo soli",
        "mi fa delle cose che non voglio",
        "un adulto su instagram mi chiede foto intime",
        "my uncle touches me when we're alone",
        "someone at home does things to me",
        "an older guy wants pics of my body",
    ],
    "overdose": [
        "ho preso delle pillole con la vodka",
        "ho ingoiato una boccetta di gocce",
        "took a bunch of pills with alcohol",
        "i feel faint after taking something",
    ],
    "third_party": [
        "la mia amica ha detto che vuole morire",
        "ho paura che mio fratello si faccia del male",
        "my sister is cutting herself",
        "i'm scared my brother will hurt himself",
        "il mio migliore amico ha regalato le sue cose a tutti, mi preoccupa",
    ],
    "veiled_suicide": [
        "se non esistessi sarebbe meglio per tutti",
        "i'm so sick of living",
        "non riesco più a vedermi tra qualche anno",
        "ho già fissato la data",
        "sto cercando modi indolori",
        "how many tylenol would it take to die",
        "a settembre tanto non ci arrivo",
    ],
    "goodbye": [
        "ho lasciato una lettera per i miei genitori sulla scrivania",
        "left a note for my mom under her pillow",
        "stasera me ne vado e vi voglio bene",
        "love you all, sorry for everything",
    ],
    "self_harm_slang": [
        "mi sono ricaduta dopo tre settimane pulita",
        "been clean for 3 months and relapsed",
        "my legs look like a barcode",
        "nascondo i tagli con i braccialetti",
        "the urge to cut is so strong",
        "ho spento la sigaretta sul braccio",
        "me so' fatto i tajetti",
    ],
    "sexual_abuse_indirect": [
        "l'allenatore mi massaggia dove non dovrebbe",
        "my teacher puts his hand on my thigh",
        "mio cugino si infila nel mio letto di notte",
        "il mio ragazzo vuole farlo anche quando piangevo",
    ],
    "grooming": [
        "he said i'm mature for my age and wants pics",
        "un ragazzo di 35 anni mi chiede foto",
        "he's 30 and keeps asking for videos",
        "uno su tiktok mi chiede foto seggs",
    ],
    "sextortion": [
        "ha gli screenshot della chiamata e minaccia di pubblicarli",
        "he's threatening to expose me",
        "hanno le mie foto e vogliono una gift card",
    ],
    "drunk_violence": [
        "mio padre è ubriaco e sta spaccando tutto",
        "my stepdad is drunk and hitting my mom",
        "my boyfriend strangled me",
        "papà me vatte quann'è mbriaco",
    ],
    "overdose_now": [
        "ho preso un sacco di gocce e ho la schiuma alla bocca",
        "took a whole box of pills",
    ],
    "eating_emergency": [
        "vomito tutti i pasti e anche l'acqua",
        "i've been purging and my heart is racing",
        "sto a 400 calorie e oggi sono crollata",
    ],
    "dialect_algospeak": [
        "m'ammazzo stasera",
        "nun ce vojo più sta' a sto monno",
        "a m'voi amazè",
        "ho voglia di fare sewer slide",
        "un ci la fazzu cchiù, mi vogghiu livari di mezzu",
    ],
    "terse_and_final": [
        "stanotte basta",
        "ci siamo, stasera",
        "per me è finita",
        "game over per me",
    ],
    "past_attempt": [
        "ci avevo già provato con i sonniferi a marzo",
        "per poco non mi buttavo ieri",
        "i almost ended it on sunday",
    ],
    "future_absence": [
        "a natale non mi rivedrete",
        "won't be a burden for anyone after tonight",
        "non uscirò viva da questa stanza",
    ],
    "method_question": [
        "si soffre a morire annegati?",
        "quanto ci vuole per morire impiccati",
        "would it hurt to drown",
        "con i sonniferi non si sente niente vero?",
    ],
    "algospeak_en": [
        "ctb soon",
        "logging off for good",
        "ppl keep saying kys",
        "so done with living",
    ],
    "self_harm_slang_en": [
        "catscratches again tonight",
        "i think i saw styro",
        "i keep reopening my cuts",
    ],
    "partner_and_threats": [
        "il mio ex dice che mi sfregia",
        "if i dump him he'll post my pics",
        "mi hanno detto che all'uscita mi spaccano la faccia",
        "se rimetto piede in classe mi ammazzano, me l'hanno scritto",
    ],
    "thrown_out_at_night": [
        "mi hanno sbattuta fuori di casa e sono su una panchina",
        "i miei mi hanno cacciata, dormo in stazione",
        "got kicked out, sleeping in my car tonight",
    ],
    "spiking_and_unresponsive": [
        "mi hanno corretto il drink, mi gira tutto",
        "think my drink got spiked",
        "è sdraiato sul pavimento e non respira bene",
        "she's not waking up after the party",
    ],
    "sibling_beaten": [
        "mio padre prende a cinghiate mio fratello",
        "my mom beats my little sister",
    ],
    "adult_watching_or_asking": [
        "lo zio mi spia quando faccio la doccia",
        "il mister mi ha chiesto delle foto in costume",
        "an older guy wants to move our chat to a private app",
    ],
    "burden_and_waste": [
        "costo solo problemi ai miei",
        "sono solo uno spreco di spazio",
        "i'm a waste of space",
    ],
    "dialect_more": [
        "me copo",
        "bollu morrere",
        "m'aggiu tagliata 'e vracce",
    ],
    "emoji_only": [
        "🪢🪢",
        "⚰️🪦",
        "💊💊💊",
    ],
    # round 4 (triage_dev_crisis4.jsonl): a stash that is enough, not coming back
    "stash_and_absence": [
        "quello che tengo nel comodino basterebbe, ci penso ogni sera",
        "sarebbe più facile per tutti se un giorno non esistessi",
        "ho lasciato tutto in ordine per quando non ci sarò",
    ],
    "friend_said_it_and_is_silent": [
        "my brother said he'd do it tonight and he's not answering his phone",
        "la mia amica ha detto che stasera lo fa e ora non visualizza",
    ],
    "silenced_by_a_threat": [
        "mi ha detto che se lo dico a qualcuno mi ammazza",
        "if i tell anyone he said he'll hurt me",
    ],
    "no_consent": [
        "mi sono svegliato senza vestiti dopo la festa e non so cosa è successo",
        "he wouldn't stop even when i told him no",
    ],
    "given_something": [
        "una tipa mi ha dato qualcosa in discoteca e vedo doppio",
        "some guy gave me something at the rave and i can't stop shaking",
    ],
    "danger_at_home_or_outside": [
        "sono in campagna, mi hanno lasciata qui di notte e ho paura",
        "my dad said he's going to kill her, they're screaming in the kitchen",
    ],
    "purging_and_infected_cuts": [
        "she keeps making herself sick and her heart is pounding",
        "i've been throwing up on purpose every day",
        "i tagli sul braccio si sono infettati e c'è il pus",
    ],
    # round 5 (triage_dev_crisis5.jsonl): conditional and dialect forms, nothing that holds me
    # here, staring down, read too late, a goodbye that thanks, a crash, a car in a closed garage
    "conditional_and_dialect": [
        "mi ammazzerei stasera stessa",
        "se potessi mi ucciderei",
        "stanotte m'aggia accirere",
        "vojo solo famme fori",
    ],
    "veiled_goodbye_and_plan": [
        "non c'è più nulla che mi trattiene qui",
        "there's nothing keeping me here anymore",
        "ho cercato quanto è alto il cavalcavia della statale",
        "sono ore che fisso giù dal terrazzo",
        "quando leggerete questo sarà tardi",
        "ciao ragazzi, è stato bello finché è durato",
        "ormai non vi disturberò più",
        "tanto da domani non vi scriverò più",
        "i keep thinking of swerving into a truck",
        "how many of these pills would it take",
    ],
    "someone_close_at_the_edge": [
        "mio fratello si è chiuso in garage col motore acceso",
        "mia sorella è sul tetto e piange al telefono",
        "il mio amico ha regalato tutte le sue felpe",
        "mia cugina vomita dopo ogni pasto ed è caduta in bagno",
    ],
    "needles_and_on_purpose": [
        "mi infilo gli spilli nelle dita quando sono nervosa",
        "graffiata di proposito fino al sangue",
        "cutting helps me feel something",
    ],
    "silenced_starved_or_hit": [
        "mi ha detto che tanto nessuno ti crederebbe",
        "mi lasciano senza cibo per due giorni",
        "mio padre ha preso mia madre per la gola",
        "my stepdad is throwing plates at my mom",
        "he pushed me against the wall",
        "he slammed my head into the locker",
    ],
    "touch_dares_and_cameras": [
        "non mi piace come mi tocca il mio allenatore",
        "se non lo faccio con lui dice ai miei che fumo",
        "il prof ci fa spogliare davanti a lui",
        "he asks me to turn on my camera and take off my shirt",
        "a guy i met on discord sent me a bus ticket to come meet him",
        "ho 14 anni e uno mi chiede di incontrarci",
    ],
    "taken_now": [
        "drank bleach to see what happens",
        "took 20 of my sertraline",
        "sono fatto di ket, non mi muovo più",
        "finito una bottiglia di gin, non sto in piedi",
        "mixed lean with xans and my heart is racing",
        "bevo solo acqua da due settimane",
    ],
    "help_screamed_door_forced_followed": [
        "la vicina urla aiuto",
        "someone is screaming for help next door",
        "c'è un uomo che prova a forzare la porta",
        "c'è uno dietro di me da dieci minuti e accelera",
        "sto per fare una stupidaggine",
    ],
    # round 6 (triage_dev_crisis6.jsonl): no year ahead and no tomorrow, a weight on everyone,
    # things handed on for good, tidied up and understood later, looked up and planned, tired of
    # myself and of everyone, not coming back
    "no_year_no_tomorrow": [
        "non mi vedo fra due anni, proprio no",
        "non c'è un domani per me",
        "non ho nessun domani",
        "i can't imagine myself turning 20",
        "i can't see a future where i'm alive",
        "è inutile resistere ancora",
        "tanto non arrivo a natale",
        "fra una settimana non ci sono più",
    ],
    "a_weight_handed_on_tidied": [
        "mi sento un fardello",
        "my parents see me as a burden to them",
        "voglio smettere di pesare sulla mia famiglia",
        "i gave all my clothes away last week",
        "tienila tu la mia felpa, per sempre",
        "ho pulito così troveranno tutto sistemato",
        "quando leggerete questa capirete",
        "ho scritto tutte le password per mia sorella",
        "sarebbe più semplice non esistere",
        "it would be so peaceful to just be gone",
    ],
    "planned_and_tired_of_it_all": [
        "mi sono informata su come si fa senza dolore",
        "i actually planned it this time",
        "stavolta ci ho pensato sul serio",
        "sono stufa di me stessa",
        "sono stanco di tutto e di tutti",
        "a so stof ad tot e an voi pio ande avanti",
        "se mi fossi buttata quella sera adesso sarei in pace",
    ],
    "someone_gone_or_saying_goodbye": [
        "mi ha detto ciao come se partisse",
        "mio cugino ha scritto che non tornerà più e non risponde",
        "my friend says she's a burden to everyone",
    ],
    "locked_threatened_approached": [
        "mi tiene segregata in soffitta",
        "the taxi driver locked the doors and won't stop",
        "mio padre dice che ci farà fuori tutti",
        "un uomo continua a fissarmi sul bus, ho paura",
        "ha detto che me la farà pagare stanotte",
        "my brother is drunk and kicking my door",
    ],
    "overdid_swallowed_starved_hit": [
        "ho esagerato con i sonniferi",
        "ho ingoiato del detersivo",
        "abbiamo preso delle robe e ora il cuore va a mille",
        "sono tre giorni che vado a sola acqua",
        "haven't eaten a proper meal in days",
        "mangio solo uno yogurt al giorno",
        "i keep punching myself until i bruise",
    ],
}


@pytest.mark.parametrize(
    ("label", "text"), [(label, t) for label, texts in CLASSES.items() for t in texts]
)
def test_every_class_of_miss_is_a_crisis(pack: Pack, label: str, text: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), (label, t)


@pytest.mark.parametrize(("label", "text"), each_text(CLASSES))
def test_every_class_of_miss_is_found_by_the_lexicon_alone(
    pack: Pack, label: str, text: str
) -> None:
    """The classes are lexicon entries: the labelled examples are not needed to find them."""
    assert_crisis(pack, label, text, shipped=False)


@pytest.mark.parametrize(
    "text",
    [
        "come faccio a farmi degli amici nella nuova scuola",
        "è normale piangere tutte le sere?",
        "mia nonna è in ospedale e non riesco a concentrarmi",
        "how do i tell my parents i failed",
        "my best friend stopped talking to me",
        "mi sono trasferita e qui non conosco nessuno",
    ],
)
def test_personal_messages_go_to_a_listener_without_any_lexicon_entry(
    pack: Pack, text: str
) -> None:
    t = triage(pack, text)
    assert t.intent == "human" and t.priority in ("high", "normal"), t
    assert t.faq_id is None


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("siete aperti stasera? sto malissimo", "orari"),
        ("è anonimo? mia madre mi controlla sempre il telefono", "anonimato"),
        ("is it anonymous? my parents fight all the time", "anonimato"),
    ],
)
def test_a_question_with_something_personal_gets_both(pack: Pack, text: str, faq_id: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.faq_id) == ("human", faq_id), t


def test_faq_needs_topical_evidence_not_filler_words(pack: Pack) -> None:
    """ "vorrei non essere mai nato" shares words with a FAQ question; "come faccio a..." too."""
    ranked = pack.matcher.rank(pack.normalize("come faccio a farmi degli amici"), floor=0)
    assert ranked and not any(c.evidence for c in ranked)
    assert triage(pack, "vorrei non essere mai nata").intent == "crisis"
    assert triage(pack, "i miei genitori lo verranno a sapere?").faq_id == "anonimato"


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        # slang, dialect and the things the service is about, not its usual questions
        ("bisogna sganciare qualche euro?", "gratuito"),
        ("serve un'app per scrivervi?", "come-funziona"),
        ("si può cancellare quello che ho scritto ieri?", "cancellazione"),
        ("siete chiusi ad agosto?", "orari"),
        ("ve serve na mano?", "volontariato"),
        ("posso farvi uno squillo?", "telefono"),
        ("riduzione del danno a cesena c'è?", "servizi-territorio"),
        ("qual è il numero giusto per le urgenze?", "emergenza"),
        # "ragazzi" in front addresses the listeners: no boyfriend, no personal message
        ("ragazzi come funziona sto coso", "come-funziona"),
    ],
)
def test_faq_in_the_words_young_people_use(pack: Pack, text: str, faq_id: str) -> None:
    t = triage(pack, text)
    assert (t.intent, t.faq_id, t.alternatives) == ("faq", faq_id, ()), t


# Personal or at-risk messages that hold a service question's words, often in the same sentence:
# none may be answered by a FAQ alone (written for this test, in no tuning split)
TOLD_WITH_A_QUESTION = (
    "come funziona la chat se mi taglio ancora",
    "siete gratis? mio padre mi picchia",
    "orari? sto male",
    "a che ora aprite che non ce la faccio più",
    "siete anonimi anche se mio zio mi tocca",
    "come si cancellano i messaggi che mia madre non deve leggere perché mi picchia",
    "è gratis parlare con voi se ho paura di tornare a casa",
    "fino a che ora siete aperti stasera che mi sento vuota",
    "posso chiamarvi al telefono quando mi viene da piangere",
    "chi risponde ai messaggi? mi sento sola da mesi",
    "come funziona sto servizio, il mio ragazzo mi controlla il telefono",
    "ma è anonimo? a scuola mi prendono tutti in giro",
    "quanto costa scrivervi, non mangio da tre giorni",
    "a che ora ci siete domani che stanotte non so se arrivo",
    "come faccio a cancellare tutto prima che mi ammazzo",
    "i volontari sono psicologi? io odio il mio corpo",
    "siete aperti la domenica? i miei litigano sempre e ho paura",
    "posso scrivervi anche di notte quando ho gli attacchi di panico",
    "servizi a cesena per chi vomita dopo mangiare come me",
    "come funziona se mia madre beve e mi lascia sola con mio fratello",
    "è gratis? ho preso un sacco di pastiglie",
    "quando aprite che mi sono tagliata le braccia",
    "siete aperti? ho litigato con la mia migliore amica e sto malissimo",
    "how does this work, my dad hits me",
    "is it free? i feel so alone",
    "posso parlare con voi in anonimato, il mio prof mi manda messaggi strani",
    "che orari fate, a casa mi urlano addosso tutti i giorni",
    "serve pagare per parlare? mi sento in colpa per tutto",
    "ci sono servizi in zona per chi si sente depresso come me",
    "posso mandare un vocale perché non riesco più a smettere di piangere",
)


@pytest.mark.parametrize("text", TOLD_WITH_A_QUESTION)
def test_told_with_a_service_question_is_never_a_faq_alone(pack: Pack, text: str) -> None:
    escalated, _ = first_contact(pack, text)
    assert escalated is not None, triage(pack, text)


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("siete anonimi anche se mio zio mi tocca", "anonimato"),
        ("siete aperti anche se mio fratello sta in ospedale?", "orari"),
        ("è anonimo se vi parlo del mio corpo?", "anonimato"),
    ],
)
def test_personal_in_the_question_sentence_gets_a_listener_and_the_faq(
    pack: Pack, text: str, faq_id: str
) -> None:
    """The personal words are in the question's own sentence, beside the FAQ's own words."""
    t = triage(pack, text)
    assert (t.intent, t.faq_id) == ("human", faq_id), t


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("ci sono servizi in zona?", "servizi-territorio"),  # "sono" is no "sonno"
        ("fino a che ora ci sono i volontari", "orari"),
        ("ve li posso mandare gli audio o nn li sentite?", "telefono"),  # hearing, no feeling
        ("i miei msg si possono cancellare?", "cancellazione"),
    ],
)
def test_a_service_question_in_the_first_person_stays_a_faq(
    pack: Pack, text: str, faq_id: str
) -> None:
    t = triage(pack, text)
    assert (t.intent, t.faq_id) == ("faq", faq_id), t


def test_what_is_told_beside_the_question_is_read_by_the_examples(pack: Pack) -> None:
    """A clause joined to a service question ("..., che stanotte non so se arrivo") is read
    by the examples on its own; the question's own clause is not ("è tutto segreto")."""
    t = triage(pack, "siete aperti domani? tanto stanotte non so se ci arrivo")
    assert t.intent == "crisis", t
    assert triage(pack, "è tutto segreto?").intent == "faq"


@pytest.mark.parametrize(
    "text",
    [
        "ho nostalgia della mia città",
        "sto in fissa con una e non mi caga",
        # "come" that compares ("come sempre", "come al solito") asks nothing
        "ho scritto un messaggio lungo a lei e poi l'ho eliminato senza inviarlo, come sempre",
        "ho scritto un messaggio a lui e poi l'ho eliminato, come al solito",
        # what one did, told in the past, even with a FAQ's words and a strong match
        "ho cancellato il suo numero come prima",
        "le ho scritto un messaggio e l'ho cancellato",
        "abbiamo cancellato le foto di noi due",
    ],
)
def test_a_first_person_statement_a_faq_matches_weakly_reaches_a_listener(
    pack: Pack, text: str
) -> None:
    t = triage(pack, text)
    assert (t.intent, t.faq_id) == ("human", None), t


def test_a_question_after_what_one_did_still_gets_its_faq(pack: Pack) -> None:
    t = triage(pack, "ho cancellato la chat, i miei dati restano da voi?")
    assert (t.intent, t.faq_id) == ("faq", "cancellazione"), t


@pytest.mark.parametrize(
    "text",
    [
        "ho ancora il numero della mia ex, la chiamo?",
        "should i text my ex? i still have her number",
        "come faccio a togliermelo dalla testa?",
        "mi parlano dietro",
        "nessuno sa chi sono davvero",
    ],
)
def test_personal_words_near_a_faq_topic_reach_a_listener(pack: Pack, text: str) -> None:
    """A number, a chat, deleting: words of a FAQ, but the message is about an ex or oneself."""
    assert triage(pack, text).intent == "human"


def test_dialect_and_short_forms_are_read(pack: Pack) -> None:
    expected = tuple("vi serve una mano per un cellulare".split())
    assert pack.normalize("ve serve na mano pe un cell") == expected
    assert pack.normalize("comme funziona chesta chat") == ("come", "funziona", "questa", "chat")


def test_distress_is_flagged_for_the_second_look(pack: Pack) -> None:
    assert triage(pack, "boh non so più").distress
    assert not triage(pack, "a che ora aprite?").distress


def test_warming_up_builds_what_the_first_message_would_have_to_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker warms the triage at start: the first young person does not pay for indexes."""
    from flows import phrases
    from flows.pack import DEFAULT_DIR, _load
    from flows.spelling import Vocabulary
    from flows.triage import warm

    fresh = _load.__wrapped__(DEFAULT_DIR, ())  # a pack no one has read a message with
    built: list[object] = []

    def counting(*args: Any, **kw: Any) -> Any:
        built.append(args)
        return Vocabulary(*args, **kw)

    monkeypatch.setattr(phrases, "Vocabulary", counting)
    warm(fresh)
    assert built  # the phrase books' typo indexes were built now...
    built.clear()
    triage(fresh, "ciao, ho paura e non so cosa fare con mia madre")
    assert built == []  # ...not while a young person waits


# Harmless idioms by class (crisis.toml [idioms], round 7): each class holds idioms the lexicon
# used to call a crisis, and crises with the same key words that must stay crises.
IDIOM_CLASSES: dict[str, tuple[list[str], list[str]]] = {
    "a_bridge_or_roof_for_a_photo_or_a_chore": (
        [
            "sono sul tetto a riparare la grondaia con mio zio",
            "siamo sul ponte a fotografare le barche",
            "ci vediamo sul ponte vecchio alle 6 per la foto",
        ],
        ["sono sul ponte vecchio, stanotte mi butto", "sono sul tetto, stanotte salto"],
    ),
    "the_date_of_a_party": (
        [
            "ho deciso il giorno della festa di compleanno, sabato sera",
            "abbiamo scelto la data per la gita di classe",
        ],
        ["ho scelto il giorno, dopo il mio compleanno non ci sarò più"],
    ),
    "homework_a_teacher_or_a_team_kills_me": (
        [
            "mi faccio uccidere dalla verifica di fisica domani",
            "mi faccio ammazzare dal coach agli allenamenti",
            "la prof di storia mi vuole morta ahah",
            "il milan mi fa venire voglia di sparire ogni domenica",
        ],
        [
            "mio padre mi vuole morta, mi picchia",
            "mi viene voglia di buttarmi dal balcone",
            "voglio morire, nessuno mi vuole",
            # a wish to die in the first person stays a crisis even said in jest: a listener
            # reads it in a minute, a missed one cannot be undone
            "voglio morire, ho mandato la foto alla chat sbagliata",
        ],
    ),
    "goodbye_to_school_or_camp": (
        ["goodbye forever math class lol", "ho salutato tutti alla fine del campo estivo"],
        ["ho salutato tutti, non mi vedrete più", "goodbye forever, you won't see me again"],
    ),
    "small_hurts_at_sport_or_chores": (
        [
            "mi sono fatta male a pallavolo, ho il polso gonfio",
            "mi sono massacrato la schiena a zappare l'orto",
        ],
        [
            "mi faccio male da sola quando sto male",
            "mi ha massacrata di botte",
            "mi sono fatta male a calcio ma in realtà me lo sono fatto da sola col rasoio",
        ],
    ),
    "locked_out_of_a_room_for_a_game_or_of_a_changing_room": (
        [
            "mi hanno chiuso fuori dallo spogliatoio, aspetto il bidello",
            "mio fratello mi ha chiusa fuori dalla camera per giocare alla play",
        ],
        [
            "mi chiudono fuori di casa di notte, fa freddo",
            "mio fratello mi ha chiusa in camera e mi picchia",
        ],
    ),
    "food_exaggerations": (
        [
            "sto svenendo dalla fame, la mensa oggi era chiusa",
            "ho mangiato 3 piadine, sto x esplodere, nn mangio piu x una settimana",
        ],
        ["sto svenendo, non mangio da giorni", "non mangio più da una settimana"],
    ),
    "weapons_in_a_video_game": (
        ["ho preso il fucile da cecchino a warzone", "ho fatto kill con il coltello a fortnite"],
        ["ho preso il coltello dalla cucina"],
    ),
    "one_pill_that_helped_a_little_drink_and_all_fine": (
        [
            "ho preso una tachipirina, sto meglio",
            "ho bevuto un po' alla festa di compleanno, tutto ok, mi ha riportato mio padre",
        ],
        ["ho preso 20 tachipirine", "ho bevuto tanto alla festa e lui mi ha portato in camera"],
    ),
    "done_with_a_series": (
        ["stasera la faccio finita con questa serie", "stasera la faccio finita con la stagione"],
        [
            "stasera la faccio finita con questa vita",
            "stasera la faccio finita con tutto",
            "stasera la faccio finita",
        ],
    ),
    "tickets_names_and_outgrown_clothes": (
        [
            "il codice a barre del biglietto del treno non si legge",
            "ho risparmiato per i biglietti di sfera ebbasta, finalmente!!",
            "ho regalato le felpe vecchie a mia cugina, ora ho spazio nell'armadio",
        ],
        [
            "ho lasciato un biglietto ai miei, lo leggeranno domani",
            "sto regalando tutte le mie cose, non mi serviranno più",
        ],
    ),
}


@pytest.mark.parametrize(
    ("label", "text"),
    [(label, t) for label, (idioms, _) in IDIOM_CLASSES.items() for t in idioms],
)
def test_every_class_of_idiom_is_not_a_crisis(pack: Pack, label: str, text: str) -> None:
    t = triage(pack, text)
    assert t.intent != "crisis" and t.priority != "crisis", (label, t)


@pytest.mark.parametrize(
    ("label", "text"),
    [(label, t) for label, (_, crises) in IDIOM_CLASSES.items() for t in crises],
)
def test_a_crisis_with_the_key_words_of_an_idiom_is_still_a_crisis(
    pack: Pack, label: str, text: str
) -> None:
    t = triage(pack, text)
    assert (t.intent, t.priority) == ("crisis", "crisis"), (label, t)


# Crisis wordings by class (crisis.toml, lexicon round on triage_dev_crisis7): each class holds
# new wordings the lexicon alone used to miss, and harmless sentences with the same key words.
LEXICON_ROUND_7: dict[str, tuple[list[str], list[str]]] = {
    "sorry_to_be_born_better_not_here": (
        [
            "mi pento di essere nata, ogni santo giorno",
            "mi pento di essere venuta al mondo",
            "per loro meglio se io nun ce stessi",
            "era meglio si nun ce stevo proprio",
        ],
        [
            "meglio se non ci sto io alla festa, c'è il mio ex",
            "mi dispiace di essere arrivata tardi alla festa",
        ],
    ),
    "wishing_to_be_run_over": (
        [
            "spero che domani mi travolga un treno",
            "vorrei tanto che mi travolgesse un tram",
        ],
        [
            "vorrei investire i soldi della paghetta in un videogioco",
        ],
    ),
    "letting_go_at_the_wheel_or_an_edge": (
        [
            "certe sere in macchina ho voglia di mollare il volante",
            "in macchina con la patente nuova penso di lasciar andare il volante in curva",
        ],
        [
            "dal ponte si vede il mare, che bello",
        ],
    ),
    "an_ending_arranged": (
        [
            "ancora poco e finisce tutto, ci siamo quasi",
            "ho scritto il testamento, le mie felpe vanno a mia sorella",
            "sto preparando la mia uscita di scena con calma",
            "ho messo in coda un messaggio per ognuno dei miei, programmato per domenica",
            "fra qualche mese nessuno ricorderà il mio nome",
        ],
        [
            "ancora poco e finisce il quadrimestre, che ansia le verifiche",
            "in storia abbiamo studiato il testamento di cesare",
            "ho scritto un biglietto per ognuno dei compagni per natale",
            "nessuno si ricorda il mio nome nella classe nuova",
        ],
    ),
    "not_reaching_an_age": (
        [
            "non mi vedo proprio a 20 anni",
            "non ci arrivo a 19 anni, me lo sento",
        ],
        [
            "mi vedo a 20 anni già laureata lol",
            "non ci arrivo a capire sta formula di fisica",
        ],
    ),
    "english_not_here_rather_dead": (
        [
            "if i'm not around tomorrow tell my mom i love her",
            "this is the last message i'll ever send, thanks for existing",
            "my sister says she'd rather be dead than live here",
        ],
        [
            "if i'm not here by 5 start without me",
            "the last message he sent me was a meme",
        ],
    ),
    "do_not_look_for_me": (
        ["ormai è tutto deciso, non cercarmi", "non cercatemi mai più"],
        ["non cercatemi stasera, sono al cinema", "non cercarmi a casa, sono da nonna"],
    ),
    "sleeping_and_never_waking_in_dialect": (
        ["vorrei dormì e mai più svegliamme", "vurria durmì e mai cchiù scetarme"],
        [
            "stanotte ho dormito benissimo e mai una sveglia",
            "vorrei dormire tutto il giorno e mai andare a scuola",
        ],
    ),
    "asked_how_many_it_takes": (
        ["ho cercato su google quante ne servono per non svegliarsi"],
        ["quante uova servono per la torta di mia nonna?"],
    ),
    "someone_close_says_goodbye_or_is_on_a_roof": (
        [
            "il mio migliore amico stamattina: grazie di tutto. da allora non visualizza",
            "la mia amica mi ha chiamato e dice che è sul cornicione",
            "'o frate mio dice ca se vo' accidere",
        ],
        [
            "grazie di tutto prof, buone vacanze!",
            "mio fratello è sul tetto a sistemare l'antenna",
        ],
    ),
    "sharp_tools_on_the_skin": (
        [
            "mi passo il compasso sulle braccia quando sto male",
            "ho smontato due temperini stanotte",
            "ieri sera ho rifatto cutting",
            "le cicatrici guariscono ma mi manca troppo farlo",
        ],
        [
            "ho dimenticato il compasso per geometria",
            "ho comprato un temperino a forma di gatto",
            "mi manca il taglio di capelli corto",
        ],
    ),
    "food_taken_away_drunk_beating_watched_for": (
        [
            "quando è arrabbiato ci toglie il cibo per giorni",
            "mi leva il cibo se prendo un brutto voto",
            "quando torna imbriaco mena a mamma",
            "il mio ex mi scrive 'so dove abiti' tutte le notti",
        ],
        [
            "mi tolgo il cibo spazzatura dalla dieta",
            "mia mamma mi scrive dove sei? torna per cena",
        ],
    ),
    "watched_asked_groomed": (
        [
            "il fidanzato di mia madre mi fissa mentre mi lavo, la porta non si chiude",
            "l'allenatore mi chiede sempre cosa ho addosso la sera",
            "mia sorella di 12 anni chatta con un adulto conosciuto su roblox",
            "he told me to delete our chats so my parents won't see",
            "di notte succedono cose che non riesco a raccontare, da quando c'è lo zio",
        ],
        [
            "il vicino mi guarda mentre innaffio i fiori, è simpatico",
            "mia mamma mi chiede cosa voglio per cena",
            "ho cancellato la chat del gruppo di classe",
            "di notte succedono cose bellissime in montagna, le stelle",
        ],
    ),
    "pay_or_they_ruin_me": (
        [
            "mi hanno detto che se non pago mi rovinano",
        ],
        ["se non pago la bolletta del telefono mi staccano la linea"],
    ),
    "drunk_and_cannot_stand": (
        [
            "sono sbronza e non mi reggo, sono sola al parco",
            "sono sbronzo e non so come torno a casa",
        ],
        [
            "sabato mi sono ubriacata e ho riso tutta la sera",
            "mio cugino era sbronzo al matrimonio e ha cantato tutta la sera",
        ],
    ),
    "chased_or_armed": (
        [
            "mi stanno inseguendo in tre, sono chiusa in un bar",
            "quelli del quartiere mi aspettano al parco con le mazze",
        ],
        [
            "i miei sogni mi inseguono da anni",
            "la prof ci aspetta con le verifiche corrette",
        ],
    ),
    "purging_and_fasting": (
        [
            "mi metto due dita in gola dopo ogni pasto",
            "non tocco cibo da lunedì",
            "niente cibo da tre giorni e mi gira tutto",
        ],
        [
            "ho mal di gola e non riesco a mangiare il gelato",
            "a cena ho mangiato tantissimo, che pizza",
        ],
    ),
}


@pytest.mark.parametrize(("label", "text"), crises(LEXICON_ROUND_7))
def test_every_class_of_the_seventh_round_is_a_crisis_for_the_lexicon_alone(
    pack: Pack, label: str, text: str
) -> None:
    assert_crisis(pack, label, text)


@pytest.mark.parametrize(("label", "text"), look_alikes(LEXICON_ROUND_7))
def test_the_key_words_of_the_seventh_round_alone_are_no_crisis(
    pack: Pack, label: str, text: str
) -> None:
    assert_no_crisis(pack, label, text)
