"""Classify one message: crisis, a person, a FAQ, a command, a greeting, or unknown.

FAIL-SAFE ROUTING: when in doubt, a person.
  - The bot answers by itself only what it recognises with confidence: a question about the
    service (a FAQ, with topical evidence: one of the FAQ's own words, not a score built from
    "come", "posso", "mi"), a command, a greeting, a menu choice.
  - A young person telling something about themselves or someone close goes to a listener
    ("human", priority "high" or "normal"), even when no lexicon entry matches: a word of the
    first or second person and a word of feelings, family, school, body, relationships or life
    events (lexicon [about]), or a feeling alone.
  - Crisis detection only decides whether the priority is "crisis".
  - A message that asks a service question AND tells something personal in another sentence
    gets both: "human" with the FAQ attached (the engine answers, then hands over).
  - A FAQ is never the whole answer to a message that tells something, even in the question's
    own sentence. Once the FAQ's own topical words are set aside ("genitori", "sapere" for
    "i miei genitori lo sapranno?"), what is left must hold no [about] topic beside a word of
    the first or second person, and no distress signal; a clause joined to the question
    ("..., che stanotte non so se arrivo") is read by the examples on its own; a first-person
    statement that speaks to no one at the service and that a FAQ matches only weakly ("ho
    nostalgia della mia città"), or that tells what one did ("ho cancellato il suo numero"), is
    telling, not asking. Each goes to a listener (the FAQ attached when the question is clear).
  - The menu is never the whole answer to a message that says something personal.

Order (the first that applies wins):
  1. crisis lexicon (crisis.toml), then risk signals (risk.toml)
                                                          -> "crisis",  priority "crisis"
  2. STOP / CANCELLA (the whole message, or a request that is not a question nor someone
     else's words: "he said to delete our chats", lexicon [reported])
                                                          -> "stop" / "erase"
     OPERATORE, PERSONA (the whole message)               -> "human",   priority "normal"
     a cry for help alone: AIUTO, SOS, HELP, "è urgente", "mi tocca"
                                                          -> "crisis",  priority "crisis"
     only greetings or MENU                               -> "greeting"
  3. a personal difficulty (lexicon [personal.*]) or strong distress (risk.toml)
                                                          -> "human",   priority "high"
  4. asking for a person (lexicon [human])                -> "human",   "normal" ("high" if
                                                             the message is also personal)
  5. only thanks, "ok"                                    -> "unknown" (reason "thanks")
  6. a FAQ with evidence, scoring at least matching.suggest
                                                          -> "faq"  (or "human" + the FAQ when
                                                             something personal is told beside
                                                             the FAQ's own words)
  7. personal (lexicon [about])                          -> "human",   "high" or "normal"
  8. anything else of at least matching.listen_from words -> "human",   "normal" ("high" with
                                                             distress), reason "unrecognised":
     what nobody foresaw (a crisis in words no lexicon knows, a question no FAQ answers) is
     read by a person, never answered with the menu alone
  9. anything shorter (chatter: "boh", "lol", "ah ok"; the words of a harmless idiom do not
     count)                                               -> "unknown"
 10. a message going to a person ("human", steps 2-8) whose closest labelled examples are
     crises (examples.jsonl, flows.examples), unless it holds a known harmless idiom
                                                          -> "crisis",  priority "crisis"
     The same for a FAQ answer whose clauses beside the question the examples call crises.
     Examples only raise: they never send a message to the FAQ, the menu or a lower priority.
Every result carries `distress` (a distress signal of risk.toml was found): the engine sends
such a message to a listener instead of a second FAQ or menu (flows.engine).
The engine uses this same function, so `sos-bot triage` and the bot always agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from rapidfuzz import fuzz, process

from flows.matcher import Candidate
from flows.pack import Pack

COMMAND_SIMILARITY = 88  # a command with a typo or its words swapped is still the command
_SENTENCES = re.compile(r"[?!.;,\n]+")
VERBATIM = 90.0  # a message this close to one of the FAQ's own questions needs no other evidence
UNRECOGNISED = "unrecognised"  # the reason of a message the bot could not place
URGENT = "danger"  # the crisis category of a cry for help with nothing else in it
HIGH_TOPICS = frozenset({"feelings", "body"})  # personal topics that make the priority "high"
# words that speak to the service ("da voi", "do u"): a message holding one asks the service
_YOU = frozenset({"voi", "vi", "vostro", "vostra", "vostri", "vostre", "you", "u", "your", "ur"})
# "come" followed by one of these compares ("come sempre", "come lei"), it does not ask
_COMPARED = frozenset(
    "sempre solito al ogni prima ieri l quella tutti tutte gli le un una uno".split()
    + "me te lui lei loro".split()
)
# words that join a clause to a question ("a che ora aprite | che stanotte non so se arrivo")
_JOINS = frozenset(
    {"che", "perche", "xke", "quando", "tanto", "ma", "pero", "cmq", "because", "but"}
)

Intent = Literal["crisis", "human", "faq", "erase", "stop", "greeting", "unknown"]


@dataclass(frozen=True)
class Triage:
    intent: Intent
    faq_id: str | None = None
    score: float | None = None  # 0-100, for "faq"
    priority: Literal["crisis", "high", "normal"] | None = None
    reason: str | None = None  # e.g. "crisis:suicide", "personal:family", "thanks"
    alternatives: tuple[tuple[str, float], ...] = ()  # close runner-up FAQs (ambiguous match)
    distress: bool = False  # a distress signal (risk.toml): never a second FAQ or menu

    def as_dict(self) -> dict[str, Any]:
        """The four public fields, as printed by `sos-bot triage`."""
        return {
            "intent": self.intent,
            "faq_id": self.faq_id,
            "score": self.score,
            "priority": self.priority,
        }


def _said(text: str, commands: frozenset[str]) -> bool:
    """The whole message is one of the commands, give or take word order and a typo."""
    if text in commands:
        return True
    return (
        len(text) >= 5
        and process.extractOne(
            text, commands, scorer=fuzz.token_sort_ratio, score_cutoff=COMMAND_SIMILARITY
        )
        is not None
    )


def _command(pack: Pack, text: str, tokens: tuple[str, ...]) -> Triage | None:
    c = pack.commands
    kept = [t for t in tokens if t not in c.filler]
    # a word said again is said once: "sos sos sos" (🆘🆘🆘), "aiuto aiuto", "stop stop"
    words = " ".join(t for i, t in enumerate(kept) if i == 0 or t != kept[i - 1])
    if _said(words, c.stop):
        return Triage("stop", reason="stop")
    if _said(words, c.erase):
        return Triage("erase", reason="erase")
    if _said(words, c.person):
        return Triage("human", priority="normal", reason="asked_for_person")
    if _said(words, c.urgent):  # "aiutoooo", "sos", "help": a person at once, never the menu
        return Triage("crisis", priority="crisis", reason=f"crisis:{URGENT}")
    if "?" not in text and not any(t in c.question for t in tokens):
        request = pack.requests.find(tokens)
        if request and request.label != "reported":  # "he said to delete our chats": not ours
            return Triage("stop" if request.label == "stop" else "erase", reason=request.label)
    greeting = [t for t in tokens if t in c.menu or t in c.hello]
    if greeting and all(t in c.menu or t in c.hello or t in c.filler for t in tokens):
        menu = any(t in c.menu for t in greeting)
        return Triage("greeting", reason="menu" if menu else "hello")
    return None


def _greeted(pack: Pack, tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The message after the greetings and "raga" it opens with ("ciao ragazzi, ...")."""
    c = pack.commands
    start = 0
    while start < len(tokens) and (tokens[start] in c.hello or tokens[start] in c.filler):
        start += 1
    return tokens[start:]


def about(pack: Pack, tokens: tuple[str, ...], *, person: bool = False) -> str | None:
    """The personal topic of a message about oneself or someone close, if it is one. The
    "ragazzi" a message opens with addresses the listeners: it is no boyfriend.

    With `person` (a question's own sentence), a feeling alone is not enough: the message must
    hold a word of the first or second person, and a word read as the person ("sono") is not
    also read as a topic ("sonno")."""
    hits = pack.about.find_all(_greeted(pack, tokens))
    people = {h.start for h in hits if h.label == "person"}
    found = {h.label for h in hits if not (person and h.label != "person" and h.start in people)}
    topics = sorted(found - {"person"}, key=lambda t: (t not in HIGH_TOPICS, t))
    if topics and ("person" in found or ("feelings" in found and not person)):
        return topics[0]
    return None


def _personal(topic: str, risk_distress: bool) -> Triage:
    high = topic in HIGH_TOPICS or risk_distress
    return Triage(
        "human",
        priority="high" if high else "normal",
        reason=f"personal:{topic}",
        distress=risk_distress,
    )


def evidence(pack: Pack, tokens: tuple[str, ...]) -> set[str]:
    """The FAQs whose topical words the message holds (as lemmas)."""
    return {hit.label for hit in pack.evidence.find_all(tokens)}


def _best_faq(pack: Pack, tokens: tuple[str, ...]) -> tuple[Candidate, tuple[Candidate, ...]]:
    """The best FAQ with topical evidence, and its close runners-up (with evidence too)."""
    m = pack.matching
    found = evidence(pack, tokens)
    ranked = [
        c
        for c in pack.matcher.rank(tokens, limit=5, floor=m.suggest)
        if c.evidence or c.faq_id in found or c.score >= VERBATIM
    ]
    if not ranked:
        return Candidate("", 0.0, ""), ()
    best = ranked[0]
    close = best.score - m.margin if best.score >= m.answer else max(m.suggest, best.score - 15)
    return best, tuple(c for c in ranked[1:3] if c.score >= close)


def _told_apart(pack: Pack, text: str, faq_id: str) -> str | None:
    """A personal topic in a sentence of the message that is not the FAQ question."""
    sentences = [s for s in _SENTENCES.split(text) if s.strip()]
    if len(sentences) < 2:
        return None
    rest = tuple(t for s in sentences for t in _unless_about(pack, pack.normalize(s), faq_id))
    return about(pack, rest) if rest else None


def _beside(pack: Pack, tokens: tuple[str, ...], faq_id: str) -> tuple[str, ...]:
    """The words of a message that are not the FAQ's own topical words: what is left once
    "i miei genitori lo sapranno?" gives up "genitori" and "sapere" to the FAQ on privacy."""
    return tuple(t for t in tokens if _unless_about(pack, (t,), faq_id))


def _asks(pack: Pack, text: str, tokens: tuple[str, ...]) -> bool:
    """The message is a question ("?" or a question word first), not a statement."""
    return "?" in text or bool(tokens and tokens[0] in pack.commands.asks)


def _asked_apart(pack: Pack, text: str, faq_id: str) -> bool:
    """The message has several sentences, one of them the FAQ question."""
    sentences = [s for s in _SENTENCES.split(text) if s.strip()]
    return len(sentences) > 1 and any(
        not _unless_about(pack, pack.normalize(s), faq_id) for s in sentences
    )


def _unless_about(pack: Pack, tokens: tuple[str, ...], faq_id: str) -> tuple[str, ...]:
    """The tokens of a sentence, or none if it asks about the FAQ."""
    if pack.matcher.evidence(tokens, faq_id) or faq_id in evidence(pack, tokens):
        return ()
    return tokens


def triage(pack: Pack, text: str) -> Triage:
    """What the young person needs, from one message."""
    tokens = pack.normalize(text)
    found = _read(pack, text, tokens)
    category = None  # the examples raise only: never a FAQ, never lower
    if pack.examples is not None and not pack.crisis.masked(tokens):
        if found.intent == "human":
            category = pack.examples.crisis(tokens)
        if category is None and found.faq_id is not None:  # what is told beside the question
            told = (c for c in _clauses(pack, text) if _unless_about(pack, c, found.faq_id))
            category = next(filter(None, map(pack.examples.crisis, told)), None)
    if category:
        return Triage(
            "crisis", priority="crisis", reason=f"crisis:{category}", distress=found.distress
        )
    if found.intent == "faq" and _told(pack, text, tokens, found):
        return Triage(
            "human",
            priority="high" if found.distress else "normal",
            reason=UNRECOGNISED,
            distress=found.distress,
        )
    return found


def _told(pack: Pack, text: str, tokens: tuple[str, ...], found: Triage) -> bool:
    """A statement in the first person, to no one at the service, that a FAQ matches only
    weakly ("ho nostalgia della mia città") or that tells what one did ("ho cancellato il suo
    numero"): the young person is telling, not asking."""
    if found.faq_id is None or found.score is None:
        return False
    return (
        not _asks(pack, text, tokens)
        and (found.score < pack.matching.answer or _narrates(tokens))
        and not any(t in _YOU for t in tokens)
        and not _question_word(pack, tokens)
        and any(
            hit.label == "person"
            for hit in pack.about.find_all(_beside(pack, tokens, found.faq_id))
        )
    )


_HAVE = frozenset({"ho", "lho", "abbiamo"})  # "l'ho" is read as "l", "ho"
_PARTICIPLE = ("ato", "ata", "ati", "ate", "ito", "ita", "iti", "ite", "uto", "uta", "uti", "ute")


def _narrates(tokens: tuple[str, ...]) -> bool:
    """Told in the first person's past ("ho cancellato il suo numero", "l'ho eliminato"): what
    one did, not what one asks of the service."""
    return any(
        t in _HAVE and then.endswith(_PARTICIPLE)
        for t, then in zip(tokens, tokens[1:], strict=False)
    )


def _question_word(pack: Pack, tokens: tuple[str, ...]) -> bool:
    """A word that asks ("come", "posso", "when"), unless it compares: "come sempre", "come al
    solito", "come lei" tell how something went, they ask nothing."""
    then = (*tokens[1:], "")
    return any(
        t in pack.commands.question and not (t == "come" and after in _COMPARED)
        for t, after in zip(tokens, then, strict=True)
    )


def _clauses(pack: Pack, text: str) -> list[tuple[str, ...]]:
    """The sentences of a message and the clauses they join ("a che ora aprite | che stanotte
    non so se arrivo"): a question about the service does not hide what is told beside it."""
    out = []
    for sentence in _SENTENCES.split(text):
        clause: list[str] = []
        for token in pack.normalize(sentence):
            if token in _JOINS and len(clause) >= 3:
                out.append(tuple(clause))
                clause = []
            clause.append(token)
        if len(clause) >= 3:  # "un programma" alone tells nothing
            out.append(tuple(clause))
    return out


def _read(pack: Pack, text: str, tokens: tuple[str, ...]) -> Triage:
    """Steps 1 to 9 of the module docstring."""
    category, risk = pack.crisis.check(tokens)
    if category:
        return Triage("crisis", priority="crisis", reason=f"crisis:{category}")
    command = _command(pack, text, tokens)
    if command:
        return command
    distress = risk.distress > 0
    best, others = _best_faq(pack, tokens)
    faq = best if best.faq_id else None
    # answered before a listener: a clear FAQ asked in a sentence of its own
    attached = (
        faq if faq is not None and not others and _asked_apart(pack, text, faq.faq_id) else None
    )
    faq_id, score = (attached.faq_id, attached.score) if attached else (None, None)
    personal = pack.personal.find(tokens)
    if personal or pack.crisis.distressed(risk):
        reason = personal.label if personal else "personal:distress"
        return Triage(
            "human", priority="high", reason=reason, distress=distress, faq_id=faq_id, score=score
        )
    asked = pack.human.find(tokens)
    if asked:  # a question about the service is answered first
        topic = about(pack, tokens)
        high = topic in HIGH_TOPICS or distress
        rest = tokens[: asked.start] + tokens[asked.end :]  # the words around "talk to a person"
        clear = (
            faq
            if faq is not None and not others and rest and not _unless_about(pack, rest, faq.faq_id)
            else None
        )
        return Triage(
            "human",
            priority="high" if high else "normal",
            reason="asked_for_person",
            distress=distress,
            faq_id=clear.faq_id if clear else None,
            score=clear.score if clear else None,
        )
    c = pack.commands
    if tokens and all(t in c.thanks or t in c.hello or t in c.filler for t in tokens):
        return Triage("unknown", reason="thanks")
    if faq is not None:
        topic = _told_apart(pack, text, faq.faq_id)
        asks = _asks(pack, text, tokens)
        if topic is None and not asks:  # a statement about oneself
            topic = about(pack, tokens)
        beside = _beside(pack, tokens, faq.faq_id)
        if topic is None:  # told in the question's own sentence: a person, the FAQ attached
            topic = about(pack, beside, person=True) or (
                "distress" if beside and pack.crisis.check(beside)[1].distress > 0 else None
            )
            if topic and faq_id is None and not others:
                faq_id, score = faq.faq_id, faq.score  # the FAQ is answered, then a listener
        if topic:
            t = _personal(topic, distress)
            return Triage(
                t.intent,
                priority=t.priority,
                reason=t.reason,
                distress=distress,
                faq_id=faq_id,
                score=score,
            )
        alternatives = tuple((o.faq_id, o.score) for o in others)
        return Triage(
            "faq", faq.faq_id, faq.score, reason="faq", alternatives=alternatives, distress=distress
        )
    topic = about(pack, tokens)
    if topic:
        return _personal(topic, distress)
    idiom = pack.crisis.masked(tokens)  # "muoio dal ridere": recognised, and harmless
    words = [
        t
        for i, t in enumerate(tokens)
        if i not in idiom and t not in c.filler and t not in c.hello and t not in c.thanks
    ]
    if len(words) >= pack.matching.listen_from:  # fail-safe: what the bot cannot place, a person
        return Triage(
            "human",
            priority="high" if distress else "normal",
            reason=UNRECOGNISED,
            distress=distress,
        )
    return Triage("unknown", distress=distress)


def language(pack: Pack, text: str) -> str | None:
    """The language the message is written in, when its words say so clearly."""
    tokens = pack.normalize(text)
    votes = {lang: sum(t in words for t in tokens) for lang, words in pack.language_words.items()}
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


# What a first message may touch: the phrase books' indexes, the FAQ matcher, the lemma
# dictionaries and the examples are built or read on first use.
WARM_UP = (
    "ciao",
    "come funziona il servizio?",
    "mi sento solo e triste, non so con chi parlare",
    "voglio morire",
    "ho bisogno di parlare con qualcuno",
)


def warm(pack: Pack) -> None:
    """Read a few messages, so that the first young person after a start waits no longer than
    the next one (a process's first triage builds indexes: about 100 ms)."""
    for text in WARM_UP:
        triage(pack, text)
