"""Search over the names and descriptions of every resource, in all languages, ignoring case
and diacritics: "Dusseldorf" finds "Düsseldorf", and so does the German "Duesseldorf".

The index is built in memory, once per store revision (reader.View.cached), from the literals
of the naming and describing predicates. Both the text and the query are normalised the same
way (Unicode NFKD without combining marks, case-folded, punctuation to spaces); a resource
matches when every word of the query occurs in one of its texts. Names rank above
descriptions, and a whole-name or name-prefix match above a match inside a name.

Why not SPARQL: a FILTER with a normalising function runs over every literal on every search,
and Oxigraph's custom functions are Python callbacks, so a scan of a prepared list is faster.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pyoxigraph as ox

from .linked_data import is_skolem, local_path

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"
NAMES = [RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel", DCTERMS + "title", SCHEMA + "name",
         SCHEMA + "headline", "http://xmlns.com/foaf/0.1/name", "https://w3id.org/gros/def#abbreviation"]
DESCRIPTIONS = [DCTERMS + "description", SKOS + "definition", RDFS + "comment"]

#: Letters that NFKD does not take apart.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th", "ð": "d"})
#: German spelling without umlauts (Duesseldorf, Moenchengladbach).
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_NON_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare).split())


def forms(text: str) -> set[str]:
    """The normalised text, and its German umlaut spelling when that differs."""
    plain = normalise(text)
    umlauts = normalise(text.casefold().translate(_UMLAUTS))
    return {plain, umlauts} if umlauts != plain else {plain}


@dataclass(frozen=True)
class Entry:
    subject: ox.NamedNode
    text: str  # normalised
    literal: ox.Literal
    is_name: bool


@dataclass
class Hit:
    subject: ox.NamedNode
    score: int
    literal: ox.Literal  # the text that matched best


class Index:
    def __init__(self, entries: list[Entry]):
        self.entries = entries

    @classmethod
    def build(cls, view) -> "Index":
        entries = []
        settings = view.settings
        for predicates, is_name in ((NAMES, True), (DESCRIPTIONS, False)):
            for predicate in predicates:
                for triple in view.triples(None, ox.NamedNode(predicate)):
                    subject, literal = triple.subject, triple.object
                    if not isinstance(literal, ox.Literal) or not isinstance(subject, ox.NamedNode):
                        continue
                    if is_skolem(settings, subject) or local_path(settings, subject.value) is None:
                        continue  # only what has a page of its own
                    for text in forms(literal.value):
                        entries.append(Entry(subject, text, literal, is_name))
        return cls(entries)

    def search(self, query: str) -> list[Hit]:
        words = normalise(query).split()
        if not words:
            return []
        phrase = " ".join(words)
        best: dict[ox.NamedNode, Hit] = {}
        for entry in self.entries:
            text = entry.text
            if not all(word in text for word in words):
                continue
            score = _score(text, phrase, words, entry.is_name)
            hit = best.get(entry.subject)
            if hit is None or score > hit.score:
                best[entry.subject] = Hit(entry.subject, score, entry.literal)
        # Equal scores: the shorter text first (the name that is mostly the query).
        return sorted(best.values(), key=lambda h: (-h.score, len(h.literal.value), h.subject.value))


def _score(text: str, phrase: str, words: list[str], is_name: bool) -> int:
    if is_name:
        if text == phrase:
            return 100
        if text.startswith(phrase):
            return 80
        padded = f" {text} "
        if all(f" {word}" in padded for word in words):
            return 60  # every word starts a word of the name
        return 40
    return 20 if f" {phrase}" in f" {text}" else 10


def index(view) -> Index:
    return view.cached("search-index", lambda: Index.build(view))
