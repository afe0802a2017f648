"""Load and validate a content pack: the flow, texts, FAQ, services and lexicons (TOML files),
and the labelled examples of the crisis check (examples.jsonl, optional; flows.examples).

Every problem is reported at load time with file and line, e.g.
    faq.toml:42: faq 'orari' has no answer in 'en'
so a coordinator's edit cannot break the bot at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows import directory
from flows.crisis import CrisisCheck
from flows.directory import Service
from flows.examples import FILE as EXAMPLES
from flows.examples import Examples
from flows.examples import parse as parse_examples
from flows.matcher import FaqMatcher
from flows.normalize import Normalizer
from flows.phrases import PhraseBook, PhraseSyntaxError
from flows.render import (
    LANGUAGES,
    PLACEHOLDERS,
    REQUIRED_PLACEHOLDERS,
    REQUIRED_TEXTS,
    TEXT_PLACEHOLDERS,
    placeholders,
)
from flows.risk import KINDS, Combination, RiskScorer, Signal
from flows.source import Key, PackError, Source

__all__ = ["Faq", "Matching", "Node", "Option", "Pack", "PackError", "Service", "load_pack"]

DEFAULT_DIR = Path(__file__).parent / "default"
FILES = (
    "flow.toml",
    "texts.toml",
    "faq.toml",
    "services.toml",
    "crisis.toml",
    "lexicon.toml",
    "risk.toml",
)
OPTIONAL = (EXAMPLES,)  # a pack without them has no example layer
ACTIONS = ("handover", "erase", "menu")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_KEY = re.compile(r"^[0-9]{1,2}$")

Texts = Mapping[str, str]  # language -> text


@dataclass(frozen=True)
class Option:
    """One numbered choice of a node: go to a node, answer a FAQ, or act."""

    key: str
    label: str | None = None  # text id; FAQ options default to their title
    goto: str | None = None
    faq: str | None = None
    action: str | None = None  # "handover" | "erase" | "menu"


@dataclass(frozen=True)
class Node:
    """A step of the flow: a text, then a wait for one of its numbered options.

    A node with `services` (closing topic ids) lists instead the directory's active services
    on those topics, numbered in the directory's order; a number shows that service's card.
    """

    id: str
    say: str  # text id
    options: tuple[Option, ...] = ()
    services: tuple[str, ...] = ()

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class Faq:
    id: str
    title: Texts
    questions: Mapping[str, tuple[str, ...]]
    answer: Texts
    next: str | None = None  # a node to continue with after the answer
    keywords: tuple[str, ...] = ()  # topical words: one must be in a message to answer it


@dataclass(frozen=True)
class Matching:
    """FAQ score thresholds (0-100): answer at once, or offer a choice, or not understood."""

    answer: float = 70.0
    suggest: float = 45.0
    margin: float = 8.0  # a runner-up closer than this makes the match ambiguous
    listen_from: float = 3.0  # words in a message the bot cannot place: from this many, a person


@dataclass(frozen=True)
class Commands:
    """Whole-message commands and the small words around them (all normalised)."""

    stop: frozenset[str]
    erase: frozenset[str]
    person: frozenset[str]  # asking for a person in one or two words ("OPERATORE")
    urgent: frozenset[str]  # a cry for help too short for any lexicon ("aiuto", "sos", "mi tocca")
    yes: frozenset[str]
    question: frozenset[str]  # words that make a message a question, not a command
    asks: frozenset[str]  # words that open a question (no "?"), not a statement
    menu: frozenset[str]
    hello: frozenset[str]
    thanks: frozenset[str]
    filler: frozenset[str]


@dataclass(frozen=True, eq=False)
class Pack:
    """A loaded, validated content pack (immutable; shared by every conversation)."""

    path: Path
    start: str
    no_response_minutes: int
    texts: Mapping[str, Texts]
    faqs: Mapping[str, Faq]
    services: Mapping[str, Service]  # services.toml: the directory's first import
    nodes: Mapping[str, Node]
    normalize: Normalizer
    crisis: CrisisCheck
    personal: PhraseBook  # personal difficulties -> a listener, priority "high"
    about: PhraseBook  # "person" and topic words: a message about oneself -> a listener
    human: PhraseBook  # asking for a person -> a listener, priority "normal"
    requests: PhraseBook  # STOP / CANCELLA said in a sentence ("erase", "stop"), or "reported"
    commands: Commands
    matcher: FaqMatcher
    matching: Matching
    evidence: PhraseBook  # the FAQ's topical words as lemmas, labelled with the FAQ id
    language_words: Mapping[str, frozenset[str]] = field(default_factory=dict)
    examples: Examples | None = None  # labelled messages that raise a person's message to crisis

    def text(self, text_id: str, lang: str) -> str:
        """A text in `lang` (Italian when the language is not one of the pack's)."""
        texts = self.texts[text_id]
        return texts.get(lang) or texts["it"]

    def summary(self) -> str:
        """One line for `sos-bot flows check`."""
        categories = len({r.label for r in self.crisis.categories.rules})
        examples = (
            f", {len(self.examples)} examples ({self.examples.crises} crises)"
            if self.examples is not None
            else ""
        )
        return (
            f"{len(self.faqs)} FAQ, {len(self.services)} services, {len(self.nodes)} nodes, "
            f"{len(self.texts)} texts, {categories} crisis categories "
            f"({len(self.crisis.categories.rules)} rules){examples} from {self.path}"
        )


def load_pack(path: Path | None = None) -> Pack:
    """Load the pack in folder `path` (None: the built-in one); cached until a file changes."""
    folder = Path(path) if path is not None else DEFAULT_DIR
    stamp = []
    for name in FILES:
        try:
            st = (folder / name).stat()
        except OSError as exc:
            raise PackError(f"{name}: missing from {folder} ({exc.strerror})") from exc
        stamp.append((name, st.st_mtime_ns, st.st_size))
    for name in OPTIONAL:
        try:
            st = (folder / name).stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PackError(f"{name}: cannot read ({exc.strerror})") from exc
        stamp.append((name, st.st_mtime_ns, st.st_size))
    return _load(folder.resolve(), tuple(stamp))


@functools.lru_cache(maxsize=8)
def _load(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> Pack:
    src = {name: Source(folder / name) for name in FILES}
    present = {name for name, _, _ in stamp}
    lexicon = _Lexicon(src["lexicon.toml"])
    texts = _texts(src["texts.toml"])
    faqs = _faqs(src["faq.toml"])
    services = directory.parse(src["services.toml"])
    flow = src["flow.toml"]
    start, minutes, nodes = _flow(flow, texts, faqs)
    for faq in faqs.values():
        if faq.next and faq.next not in nodes:
            raise src["faq.toml"].error((faq.id, "next"), f"faq {faq.id!r}: no node {faq.next!r}")
        for lang, answer in faq.answer.items():
            _placeholders(src["faq.toml"], (faq.id, "answer", lang), answer)
    crisis = _crisis(src["crisis.toml"], lexicon.normalize)
    crisis.risk = _risk(src["risk.toml"], lexicon.normalize, crisis)

    matcher = _matcher(src["faq.toml"], faqs, lexicon)
    known = set(matcher.weight) | lexicon.known
    for texts_of in texts.values():
        for text in texts_of.values():
            known.update(lexicon.normalize(text))
    for book in (
        crisis.categories,
        crisis.risk.book,
        lexicon.personal,
        lexicon.human,
        lexicon.requests,
        lexicon.about,
    ):
        book.protect(known)
    return Pack(
        path=folder,
        start=start,
        no_response_minutes=minutes,
        texts=texts,
        faqs=faqs,
        services=services,
        nodes=nodes,
        normalize=lexicon.normalize,
        crisis=crisis,
        personal=lexicon.personal,
        about=lexicon.about,
        human=lexicon.human,
        requests=lexicon.requests,
        commands=lexicon.commands,
        matcher=matcher,
        matching=lexicon.matching,
        evidence=_evidence(faqs, matcher, lexicon.normalize),
        language_words=lexicon.language_words,
        examples=_examples(folder / EXAMPLES, crisis, lexicon.normalize)
        if EXAMPLES in present
        else None,
    )


# -- checks shared by every file ---------------------------------------------------------


def _table(src: Source, key: Key, value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise src.error(key, f"{what} must be a table")
    return value


def _string(src: Source, key: Key, value: Any, what: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise src.error(key, f"{what} must be a {'' if empty else 'non-empty '}string")
    return value


def _strings(src: Source, key: Key, value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise src.error(key, f"{what} must be a non-empty list of strings")
    return tuple(_string(src, key, v, what) for v in value)


def _only(
    src: Source, key: Key, table: Mapping[str, Any], allowed: Collection[str], what: str
) -> None:
    expected = ", ".join(sorted(allowed))
    for name in table:
        if name not in allowed:
            raise src.error((*key, name), f"{what}: unknown key {name!r} (expected {expected})")


def _id(src: Source, key: Key, name: str, what: str) -> str:
    if not _ID.match(name):
        raise src.error(key, f"{what} id {name!r}: use lower-case letters, digits, '-' and '_'")
    return name


def _languages(src: Source, key: Key, value: Any, what: str, owner: str) -> dict[str, str]:
    """A text in every language, e.g. {it = "...", en = "..."}."""
    if isinstance(value, str) or value is None:
        value = {"it": value} if value else {}
    table = _table(src, key, value, f"{owner}: {what}")
    _only(src, key, table, LANGUAGES, f"{owner}: {what}")
    for lang in LANGUAGES:
        if not isinstance(table.get(lang), str) or not table[lang].strip():
            raise src.error(key, f"{owner} has no {what} in {lang!r}")
    return {lang: table[lang].strip() for lang in LANGUAGES}


def _placeholders(src: Source, key: Key, text: str, extra: Iterable[str] = ()) -> None:
    try:
        names = placeholders(text)
    except ValueError as exc:
        raise src.error(key, f"{exc} (write {{{{ and }}}} for a literal brace)") from exc
    known = set(PLACEHOLDERS) | set(extra)
    unknown = sorted(names - known)
    if unknown:
        raise src.error(
            key, f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(sorted(known))})"
        )


# -- the files -----------------------------------------------------------------------------


def _texts(src: Source) -> dict[str, dict[str, str]]:
    texts = {}
    for text_id, value in src.data.items():
        _id(src, (text_id,), text_id, "text")
        texts[text_id] = _languages(src, (text_id,), value, "text", f"text {text_id!r}")
        for lang, text in texts[text_id].items():
            _placeholders(src, (text_id, lang), text, TEXT_PLACEHOLDERS.get(text_id, ()))
            needed = REQUIRED_PLACEHOLDERS.get(text_id)
            if needed and needed not in placeholders(text):
                raise src.error((text_id, lang), f"text {text_id!r} must say {{{needed}}}")
    for text_id in REQUIRED_TEXTS:
        if text_id not in texts:
            raise src.error((), f"text {text_id!r} is missing (the bot needs it)")
    return texts


def _faqs(src: Source) -> dict[str, Faq]:
    faqs = {}
    for faq_id, value in src.data.items():
        key: Key = (faq_id,)
        _id(src, key, faq_id, "faq")
        entry = _table(src, key, value, f"faq {faq_id!r}")
        _only(
            src, key, entry, ("title", "questions", "answer", "next", "keywords"), f"faq {faq_id!r}"
        )
        owner = f"faq {faq_id!r}"
        questions = _table(src, (*key, "questions"), entry.get("questions", {}), owner)
        _only(src, (*key, "questions"), questions, LANGUAGES, f"{owner}: questions")
        for lang in LANGUAGES:
            if lang not in questions:
                raise src.error((*key, "questions"), f"{owner} has no questions in {lang!r}")
        nxt = entry.get("next")
        faqs[faq_id] = Faq(
            id=faq_id,
            title=_languages(src, (*key, "title"), entry.get("title"), "title", owner),
            questions={
                lang: _strings(src, (*key, "questions", lang), questions[lang], "questions")
                for lang in LANGUAGES
            },
            answer=_languages(src, (*key, "answer"), entry.get("answer"), "answer", owner),
            next=_string(src, (*key, "next"), nxt, "next") if nxt is not None else None,
            keywords=_strings(src, (*key, "keywords"), entry["keywords"], "keywords")
            if "keywords" in entry
            else (),
        )
    if not faqs:
        raise src.error((), "no FAQ entries")
    return faqs


def _flow(
    src: Source, texts: Mapping[str, Any], faqs: Mapping[str, Faq]
) -> tuple[str, int, dict[str, Node]]:
    _only(src, (), src.data, ("settings", "node"), "flow.toml")
    settings = _table(src, ("settings",), src.data.get("settings", {}), "[settings]")
    _only(src, ("settings",), settings, ("start", "no_response_minutes"), "[settings]")
    minutes = settings.get("no_response_minutes", 30)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 24 * 60:
        raise src.error(("settings", "no_response_minutes"), "no_response_minutes: 1 to 1440")
    nodes: dict[str, Node] = {}
    raw_nodes = _table(src, ("node",), src.data.get("node", {}), "[node]")
    for node_id, value in raw_nodes.items():
        key: Key = ("node", node_id)
        owner = f"node {node_id!r}"
        _id(src, key, node_id, "node")
        entry = _table(src, key, value, owner)
        _only(src, key, entry, ("say", "option", "services"), owner)
        say = _string(src, (*key, "say"), entry.get("say"), f"{owner}: say")
        if say not in texts:
            raise src.error((*key, "say"), f"{owner}: no text {say!r} in texts.toml")
        options = []
        raw_options = entry.get("option", [])
        if not isinstance(raw_options, list):
            raise src.error((*key, "option"), f"{owner}: options must be [[node.{node_id}.option]]")
        for i, raw in enumerate(raw_options):
            options.append(_option(src, (*key, "option", i), raw, owner, texts, faqs))
            if options[-1].key in {o.key for o in options[:-1]}:
                raise src.error(
                    (*key, "option", i, "key"),
                    f"{owner}: option number {options[-1].key} is used twice",
                )
        listed: tuple[str, ...] = ()
        if "services" in entry:
            listed = _strings(src, (*key, "services"), entry["services"], f"{owner}: services")
            for topic in listed:
                _id(src, (*key, "services"), topic, "topic")
            if options:
                raise src.error(
                    (*key, "services"),
                    f"{owner}: a node lists either services or options, not both",
                )
        nodes[node_id] = Node(node_id, say, tuple(options), listed)
    for node_id, node in nodes.items():
        for i, option in enumerate(node.options):
            if option.goto and option.goto not in nodes:
                raise src.error(
                    ("node", node_id, "option", i, "goto"),
                    f"node {node_id!r}: option {option.key} goes to unknown node {option.goto!r}",
                )
    start = _string(src, ("settings", "start"), settings.get("start", "menu"), "start")
    if start not in nodes:
        raise src.error(("settings", "start"), f"start node {start!r} is not defined")
    return start, minutes, nodes


def _option(
    src: Source,
    key: Key,
    raw: Any,
    owner: str,
    texts: Mapping[str, Any],
    faqs: Mapping[str, Faq],
) -> Option:
    entry = _table(src, key, raw, f"{owner}: option")
    if "service" in entry:
        raise src.error(
            (*key, "service"),
            f"{owner}: services come from the directory now: "
            'list them by topic on the node, e.g. services = ["famiglia"]',
        )
    _only(src, key, entry, ("key", "label", "goto", "faq", "action"), f"{owner}: option")
    number = entry.get("key")
    if not isinstance(number, str) or not _KEY.match(number):
        raise src.error((*key, "key"), f'{owner}: option key must be a number in quotes, e.g. "1"')
    what = f"{owner}: option {number}"
    kinds = [k for k in ("goto", "faq", "action") if k in entry]
    if len(kinds) != 1:
        raise src.error(key, f"{what}: needs exactly one of goto, faq, action")
    kind = kinds[0]
    target = _string(src, (*key, kind), entry[kind], f"{what}: {kind}")
    if kind == "faq" and target not in faqs:
        raise src.error((*key, kind), f"{what}: no faq {target!r} in faq.toml")
    if kind == "action" and target not in ACTIONS:
        raise src.error((*key, kind), f"{what}: unknown action {target!r} ({', '.join(ACTIONS)})")
    label = entry.get("label")
    if label is None and kind in ("goto", "action"):
        raise src.error(key, f"{what}: needs a label (a text id)")
    if label is not None:
        _string(src, (*key, "label"), label, f"{what}: label")
        if label not in texts:
            raise src.error((*key, "label"), f"{what}: no text {label!r} in texts.toml")
    return Option(key=number, label=label, **{kind: target})


def _book(src: Source, key: Key, table: Mapping[str, Any], book: PhraseBook, label: str) -> None:
    """Add the `phrases` and `together` of a lexicon table to a phrase book."""
    _only(src, key, table, ("phrases", "together"), f"[{'.'.join(map(str, key))}]")
    for phrase in _strings(src, (*key, "phrases"), table.get("phrases", [""]), "phrases"):
        try:
            book.add(label, phrase)
        except PhraseSyntaxError as exc:
            raise src.error((*key, "phrases"), f"{label}: {exc}") from exc
    for group in table.get("together", []):
        parts = _strings(src, (*key, "together"), group, "together (a list of lists)")
        try:
            book.add(label, parts)
        except PhraseSyntaxError as exc:
            raise src.error((*key, "together"), f"{label}: {exc}") from exc


def _crisis(src: Source, normalize: Normalizer) -> CrisisCheck:
    _only(src, (), src.data, ("settings", "category", "idioms"), "crisis.toml")
    settings = _table(src, ("settings",), src.data.get("settings", {}), "[settings]")
    _only(src, ("settings",), settings, ("gap",), "[settings]")
    gap = settings.get("gap", 2)
    if not isinstance(gap, int) or not 0 <= gap <= 5:
        raise src.error(("settings", "gap"), "gap must be a whole number from 0 to 5")
    categories = PhraseBook(normalize, gap=gap)
    raw = _table(src, ("category",), src.data.get("category", {}), "[category]")
    if not raw:
        raise src.error((), "no crisis categories")
    for name, table in raw.items():
        _id(src, ("category", name), name, "crisis category")
        key: Key = ("category", name)
        _book(src, key, _table(src, key, table, name), categories, name)
    idioms = PhraseBook(normalize, gap=0)
    table = _table(src, ("idioms",), src.data.get("idioms", {"phrases": []}), "[idioms]")
    if table.get("phrases") or table.get("together"):
        _book(src, ("idioms",), table, idioms, "idiom")
    return CrisisCheck(categories, idioms)


def _examples(path: Path, crisis: CrisisCheck, normalize: Normalizer) -> Examples:
    """examples.jsonl: labelled messages, crisis ones with a category of crisis.toml."""
    categories = {r.label for r in crisis.categories.rules}
    return Examples((e, normalize(e.text)) for e in parse_examples(path, categories))


def _number(src: Source, key: Key, value: Any, what: str, low: float, high: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise src.error(key, f"{what} must be a number from {low:g} to {high:g}")
    return float(value)


def _risk(src: Source, normalize: Normalizer, crisis: CrisisCheck) -> RiskScorer:
    """risk.toml: weighted signals and the combinations that add a bonus."""
    _only(src, (), src.data, ("settings", "signal", "combine"), "risk.toml")
    categories = {r.label for r in crisis.categories.rules}
    settings = _table(src, ("settings",), src.data.get("settings", {}), "[settings]")
    _only(src, ("settings",), settings, ("threshold", "human", "long", "gap"), "[settings]")
    for name in ("threshold", "human", "long"):
        if name not in settings:
            raise src.error(("settings",), f"[settings] has no {name!r}")
    threshold = _number(src, ("settings", "threshold"), settings["threshold"], "threshold", 1, 100)
    human = _number(src, ("settings", "human"), settings["human"], "human", 1, 100)
    long = settings["long"]
    if not isinstance(long, int) or isinstance(long, bool) or not 1 <= long <= 200:
        raise src.error(("settings", "long"), "long must be a whole number of words, 1 to 200")
    gap = settings.get("gap", 2)
    if not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= 5:
        raise src.error(("settings", "gap"), "gap must be a whole number from 0 to 5")
    book = PhraseBook(normalize, gap=gap)
    signals: dict[str, Signal] = {}
    raw = _table(src, ("signal",), src.data.get("signal", {}), "[signal]")
    if not raw:
        raise src.error((), "no risk signals")
    for name, value in raw.items():
        key: Key = ("signal", name)
        _id(src, key, name, "signal")
        table = _table(src, key, value, f"signal {name!r}")
        owner = f"signal {name!r}"
        _only(src, key, table, ("weight", "kind", "category", "max", "phrases", "together"), owner)
        if "weight" not in table:
            raise src.error(key, f"{owner} has no weight")
        weight = _number(src, (*key, "weight"), table["weight"], f"{owner}: weight", 0.5, 100)
        kind = table.get("kind", "risk")
        if kind not in KINDS:
            raise src.error((*key, "kind"), f"{owner}: kind must be one of {', '.join(KINDS)}")
        category = table.get("category")
        if kind == "risk" and category not in categories:
            raise src.error(
                (*key, "category") if category else key,
                f"{owner}: category must be a crisis category of crisis.toml "
                f"({', '.join(sorted(categories))})",
            )
        if kind != "risk" and category is not None:
            raise src.error((*key, "category"), f"{owner}: only a 'risk' signal has a category")
        most = table.get("max", 1)
        if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 10:
            raise src.error((*key, "max"), f"{owner}: max must be a whole number from 1 to 10")
        _book(
            src, key, {k: v for k, v in table.items() if k in ("phrases", "together")}, book, name
        )
        signals[name] = Signal(name, weight, kind, category, most)
    combinations = []
    raw_combos = src.data.get("combine", [])
    if not isinstance(raw_combos, list):
        raise src.error(("combine",), "combinations must be [[combine]] tables")
    for i, value in enumerate(raw_combos):
        key = ("combine", i)
        table = _table(src, key, value, "[[combine]]")
        _only(src, key, table, ("signals", "bonus", "category", "words"), "[[combine]]")
        names = _strings(src, (*key, "signals"), table.get("signals"), "signals")
        for name in names:
            if name not in signals:
                raise src.error((*key, "signals"), f"[[combine]]: no signal {name!r}")
            if signals[name].kind == "distress":
                raise src.error((*key, "signals"), f"[[combine]]: {name!r} is a distress signal")
        if len(set(names)) < 2:
            raise src.error((*key, "signals"), "[[combine]]: needs at least two signals")
        if "bonus" not in table:
            raise src.error(key, "[[combine]] has no bonus")
        bonus = _number(src, (*key, "bonus"), table["bonus"], "bonus", 0.5, 100)
        category = table.get("category")
        if category not in categories:
            raise src.error(
                (*key, "category") if category else key,
                "[[combine]]: category must be a crisis category of crisis.toml",
            )
        words = table.get("words")
        if words is not None and (
            not isinstance(words, int) or isinstance(words, bool) or not 1 <= words <= 50
        ):
            raise src.error((*key, "words"), "[[combine]]: words must be a whole number, 1 to 50")
        combinations.append(Combination(frozenset(names), bonus, category, words))
    return RiskScorer(book, signals, combinations, threshold=threshold, human=human, long=long)


class _Lexicon:
    """lexicon.toml: abbreviations, small words, commands, intents and matching thresholds."""

    def __init__(self, src: Source) -> None:
        data = src.data
        _only(
            src,
            (),
            data,
            (
                "matching",
                "abbreviations",
                "symbols",
                "stopwords",
                "known",
                "language",
                "commands",
                "erase",
                "stop",
                "reported",
                "human",
                "personal",
                "about",
            ),
            "lexicon.toml",
        )
        abbreviations = _table(
            src, ("abbreviations",), data.get("abbreviations", {}), "[abbreviations]"
        )
        for short, full in abbreviations.items():
            _string(src, ("abbreviations", short), full, f"abbreviation {short!r}")
        symbols = _table(src, ("symbols",), data.get("symbols", {}), "[symbols]")
        for symbol, word in symbols.items():
            _string(src, ("symbols", symbol), word, f"symbol {symbol!r}")
            if len(symbol) != 1:
                raise src.error(
                    ("symbols", symbol),
                    f"symbol {symbol!r}: one character only "
                    "(leave out the emoji variation selector)",
                )
        self.normalize = Normalizer(abbreviations, symbols)
        self.matching = self._matching(src)
        self.stopwords = self._words(src, ("stopwords",), data.get("stopwords", {}))
        self.known = self._words(src, ("known",), data.get("known", {}))
        language = _table(src, ("language",), data.get("language", {}), "[language]")
        _only(src, ("language",), language, LANGUAGES, "[language]")
        self.language_words = {
            lang: frozenset(self._tokens(src, ("language", lang), language.get(lang, [])))
            for lang in LANGUAGES
        }
        self.commands = self._commands(src)
        gap = 2
        self.requests = PhraseBook(self.normalize, gap=gap)
        # [reported] first: someone else's words ("he told me to delete our chats") win over
        # the request they hold
        for name in ("reported", "erase", "stop"):
            table = _table(src, (name,), data.get(name, {}), f"[{name}]")
            if table:
                _book(src, (name,), table, self.requests, name)
        self.human = PhraseBook(self.normalize, gap=gap)
        _book(
            src,
            ("human",),
            _table(src, ("human",), data.get("human", {}), "[human]"),
            self.human,
            "asked_for_person",
        )
        self.personal = PhraseBook(self.normalize, gap=gap)
        topics = _table(src, ("personal",), data.get("personal", {}), "[personal]")
        for topic, table in topics.items():
            key: Key = ("personal", topic)
            _id(src, key, topic, "personal topic")
            _book(src, key, _table(src, key, table, topic), self.personal, f"personal:{topic}")
        self.about = self._about(src)
        self.personal_words = [
            t
            for name, words in src.data.get("about", {}).items()
            if name != "person"
            for w in words
            for t in self.normalize(w)
        ]

    def _about(self, src: Source) -> PhraseBook:
        """[about]: words of the first or second person, and words of personal topics."""
        about = PhraseBook(self.normalize, gap=0, loose=False)
        table = _table(src, ("about",), src.data.get("about", {}), "[about]")
        if "person" not in table:
            raise src.error(("about",), "[about] has no 'person' list")
        if len(table) < 2:
            raise src.error(("about",), "[about] needs at least one topic besides 'person'")
        for name, words in table.items():
            _id(src, ("about", name), name, "[about] list")
            for word in _strings(src, ("about", name), words, f"[about] {name}"):
                try:
                    about.add(name, word)
                except PhraseSyntaxError as exc:
                    raise src.error(("about", name), f"[about] {name}: {exc}") from exc
        return about

    def _matching(self, src: Source) -> Matching:
        table = _table(src, ("matching",), src.data.get("matching", {}), "[matching]")
        _only(
            src, ("matching",), table, ("answer", "suggest", "margin", "listen_from"), "[matching]"
        )
        values = {}
        for name, value in table.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not 0 <= value <= 100:
                raise src.error(("matching", name), f"{name} must be a number from 0 to 100")
            values[name] = float(value)
        matching = Matching(**values)
        if matching.suggest > matching.answer:
            raise src.error(("matching", "suggest"), "suggest must not be above answer")
        return matching

    def _tokens(self, src: Source, key: Key, value: Any) -> list[str]:
        words = _strings(src, key, value, "words") if value else ()
        return [t for w in words for t in self.normalize(w)]

    def _words(self, src: Source, key: Key, table: Any) -> set[str]:
        table = _table(src, key, table, f"[{key[0]}]")
        _only(src, key, table, LANGUAGES, f"[{key[0]}]")
        return {t for lang in table for t in self._tokens(src, (*key, lang), table[lang])}

    def _commands(self, src: Source) -> Commands:
        table = _table(src, ("commands",), src.data.get("commands", {}), "[commands]")
        names = (
            "stop",
            "erase",
            "person",
            "urgent",
            "yes",
            "question",
            "asks",
            "menu",
            "hello",
            "thanks",
            "filler",
        )
        _only(src, ("commands",), table, names, "[commands]")
        found: dict[str, frozenset[str]] = {}
        for name in names:
            if name not in table:
                raise src.error(("commands",), f"[commands] has no {name!r} list")
            phrases = _strings(src, ("commands", name), table[name], name)
            if name in ("filler", "hello", "menu", "thanks", "question", "asks"):  # single words
                found[name] = frozenset(t for p in phrases for t in self.normalize(p))
            else:
                found[name] = frozenset(self.normalize.text(p) for p in phrases) - {""}
        return Commands(**found)


def _evidence(faqs: Mapping[str, Faq], matcher: FaqMatcher, normalize: Normalizer) -> PhraseBook:
    """The topical words of every FAQ as lemmas ("paga" is evidence for "pagare")."""
    book = PhraseBook(normalize, gap=0)
    for faq in faqs.values():
        for word in faq.keywords:
            for token in normalize(word):
                if token not in matcher.stopwords or len(faq.keywords) == 1:
                    book.add(faq.id, token)
    return book


def _matcher(src: Source, faqs: Mapping[str, Faq], lexicon: _Lexicon) -> FaqMatcher:
    seen: dict[frozenset[str], str] = {}
    rows = []
    matcher = FaqMatcher((), stopwords=lexicon.stopwords)
    for faq in faqs.values():
        for lang, questions in faq.questions.items():
            for question in questions:
                tokens = lexicon.normalize(question)
                terms = matcher.terms(tokens)
                key: Key = (faq.id, "questions", lang)
                if not terms:
                    raise src.error(
                        key,
                        f"faq {faq.id!r}: question {question!r} has only small "
                        "words (nothing to match)",
                    )
                other = seen.setdefault(terms, faq.id)
                if other != faq.id:
                    raise src.error(
                        key,
                        f"faq {faq.id!r}: question {question!r} is the same as "
                        f"one of faq {other!r}",
                    )
                rows.append((faq.id, tokens, question))
    keywords = {}
    for faq in faqs.values():
        if faq.keywords:
            words = [t for k in faq.keywords for t in lexicon.normalize(k)]
            if not matcher.terms(words):
                raise src.error(
                    (faq.id, "keywords"),
                    f"faq {faq.id!r}: keywords have only small words (nothing to look for)",
                )
            keywords[faq.id] = words
    return FaqMatcher(
        rows, stopwords=lexicon.stopwords, keywords=keywords, personal=lexicon.personal_words
    )
