"""Words to lemma keys, so that one lexicon entry covers every inflection.

A word is read as its lemma (simplemma, Italian and English dictionaries shipped in its wheel)
and then stemmed (Snowball), so "taglio", "tagliando", "tagliata" and "tagli" share the key
"tagl", and "muoio", "morto", "morirei" the key "morire" (their lemma). Italian pronouns joined
to a verb are split off and put first, as they are when written apart: "tagliarmi" reads
"mi tagliar", "tagliandomi" reads "mi tagliando", so "mi taglio" also finds "voglio tagliarmi".
Keys starting with "=" are written forms, double letters aside (for lexicon words that must
match as written, and for typos in double letters: "amazzare").

A word unknown to both dictionaries may be a typo or dialect: Romanesco "j" for "gli"
("tajando") is tried, and the phrase book may match it loosely (flows.phrases).

The dictionaries are read in place from their compressed streams (simplemma's
StreamDictionaryFactory), not unpacked into Python dicts: about 7 MB instead of 70 MB for the two
languages, for some 15 µs more per word the first time it is seen (then it is cached).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import simplemma
import snowballstemmer
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries import DictionaryFactory, StreamDictionaryFactory

from flows.normalize import collapse

LANGS = ("it", "en")
CLITICS = ("mi", "ti", "si", "ci", "vi", "lo", "la", "li", "le", "ne")
_ENCLITIC = re.compile(
    r"^(?P<base>[a-z]{3,}?(?P<end>ar|er|ir|ando|endo))(?P<clitic>mi|ti|si|ci|vi|lo|la|li|le|ne)$"
)
SHORT_LEMMA = 3  # a lemma shorter than this is not a key ("o" for "od")
SHORT_STEM = {"it": 4, "en": 3}  # nor a stem shorter ("com" would join "come" and "coma")
_DIALECT_J = re.compile(r"(?<=[aeiou])j(?=[aeiou])")
CACHE = 50_000
LEMMA_CACHE = 4_096  # simplemma's own cache: every word is read once, then kept in ours


def written(word: str) -> str:
    """The key of a written form: "=" and the word, double letters aside ("=amazare")."""
    return "=" + collapse(word)


@dataclass(frozen=True)
class Piece:
    """One word of a message as the phrase book reads it: what was written and its keys."""

    surface: str
    keys: frozenset[str]  # "=" + the word as written, its lemmas and their stems
    known: bool  # a word of the Italian or English dictionary (never read as a typo)
    joined: bool = False  # a verb that had a pronoun joined to it ("tagliar" of "tagliarmi")

    @property
    def forms(self) -> frozenset[str]:
        """The written forms only ("=tagliar", "=tagliare"): what a lexicon's "tagliarmi" means."""
        return frozenset(k for k in self.keys if k.startswith("="))


class Lemmatizer:
    """Split and key the words of a message (normalised tokens); cached per word."""

    def __init__(self, dictionaries: DictionaryFactory | None = None) -> None:
        self.dictionaries = dictionaries or StreamDictionaryFactory()
        self._lemma = simplemma.Lemmatizer(
            cache_max_size=LEMMA_CACHE,
            lemmatization_strategy=DefaultStrategy(dictionary_factory=self.dictionaries),
        ).lemmatize
        self._lookup = DictionaryLookupStrategy(self.dictionaries)
        self._stem = {
            lang: snowballstemmer.stemmer({"it": "italian", "en": "english"}[lang])
            for lang in LANGS
        }
        self._seen: dict[str, tuple[Piece, ...]] = {}

    def known(self, word: str, lang: str) -> bool:
        return self._lookup.get_lemma(word, lang) is not None

    def key(self, word: str, lang: str) -> set[str]:
        """The keys of a word in one language: its lemma, and the lemma stemmed."""
        lemma = self._lemma(word, lang)
        stemmed: str = self._stem[lang].stemWord(lemma)
        least = {lemma: SHORT_LEMMA, stemmed: SHORT_STEM[lang]}
        return {k for k, n in least.items() if len(k) >= n}

    def keys(self, word: str) -> tuple[frozenset[str], bool]:
        """The keys of one word and whether a dictionary knows it.

        A word known in only one language is keyed in that language alone ("more" is not a
        form of "morire"); otherwise in both.
        """
        known = {lang: self.known(word, lang) for lang in LANGS}
        langs = [lang for lang in LANGS if known[lang]] or list(LANGS)
        keys = {written(word)}.union(*(self.key(word, lang) for lang in langs))
        return frozenset(keys), any(known.values())

    def pieces(self, word: str) -> tuple[Piece, ...]:
        """The pieces of one normalised word (two for a verb with a joined pronoun)."""
        found = self._seen.get(word)
        if found is None:
            if len(self._seen) > CACHE:
                self._seen.clear()
            found = self._seen[word] = self._read(word)
        return found

    def _read(self, word: str) -> tuple[Piece, ...]:
        keys, known = self.keys(word)
        if not known and _DIALECT_J.search(word):
            standard = _DIALECT_J.sub("gli", word)
            if self.known(standard, "it"):
                word, (keys, known) = standard, self.keys(standard)
        split = _ENCLITIC.match(word)
        if split and self._joined(word, known, split):
            base = split["base"]
            verb = base + "e" if split["end"] in ("ar", "er", "ir") else base
            verb_keys, verb_known = self.keys(verb)
            clitic = split["clitic"]
            return (
                Piece(clitic, frozenset({written(clitic), clitic}), True),
                Piece(base, verb_keys | {written(base)}, verb_known or known, joined=True),
            )
        return (Piece(word, keys, known),)

    def _joined(self, word: str, known: bool, split: re.Match[str]) -> bool:
        """A verb with a pronoun joined to it, not a word that only ends the same way."""
        if not known:
            return True  # "tagliarmi", "sucidarmi": dictionaries miss most of these forms
        base = split["base"]
        verb = base + "e" if split["end"] in ("ar", "er", "ir") else base
        return self._lemma(word, "it") in {verb, self._lemma(base, "it")}


LEMMAS = Lemmatizer()  # shared: the keys of a word do not depend on the pack
