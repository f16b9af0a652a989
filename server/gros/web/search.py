"""Search over the names and descriptions of every resource, in all languages, ignoring case
and diacritics: "Dusseldorf" finds "Düsseldorf", and so does the German "Duesseldorf".

Both the text and the query are normalised the same way (Unicode NFKD without combining
marks, case-folded, punctuation to spaces); a resource matches when every word of the query
occurs in one of its texts. Names rank above descriptions, and a whole-name or name-prefix
match above a match inside a name.

Each search reads the store (page_queries/search-texts.rq); nothing is indexed in memory, so
memory does not grow with the data (an in-memory index of a 10-million-triple store
took 3 GB and minutes to build). Oxigraph has no text index, so the query scans the names
with one REGEX per word; the patterns are made here so that they accept every spelling that
normalises to the word (u matches ü, ú and u + a combining mark; ss matches ß; ue matches ü).
The regex only narrows the candidates: the rows are checked again with normalise(), so the
matches and their ranking are exactly those of comparing normalised texts.

The scan stops after settings.search_max matching texts: a search with more matches than that
ranks the ones found first and says so ("more than N"); a rarer search reads every name once.
So that such a cut keeps the best answer, a name that is exactly the query as typed (in any
of our languages, or capitalised) is looked up first by value, which needs no scan.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox

from gros.web.dereference import is_skolem, local_path
from gros.web.reader import page_query

#: Letters that NFKD does not take apart.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th", "ð": "d"})
#: German spelling without umlauts (Duesseldorf, Moenchengladbach).
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_NON_WORD = re.compile(r"[\W_]+")
#: Words of a query that go into the store query (the rest are checked on the rows only).
REGEX_WORDS = 6
#: Searches remembered per revision (each at most settings.search_max hits), for paging.
REMEMBERED = 32
LANGUAGE_TAGS = (None, "nl", "en", "de", "fr")


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", bare).split())


def forms(text: str) -> set[str]:
    """The normalised text, and its German umlaut spelling when that differs."""
    plain = normalise(text)
    umlauts = normalise(text.casefold().translate(_UMLAUTS))
    return {plain, umlauts} if umlauts != plain else {plain}


# --- ranking ----------------------------------------------------------------------------------

@dataclass
class Hit:
    subject: ox.NamedNode
    score: int
    literal: ox.Literal  # the text that matched best


@dataclass
class Result:
    hits: list[Hit]  # best first
    complete: bool  # False: more texts match than were ranked (settings.search_max)
    cap: int


def rank(candidates, query: str) -> list[Hit]:
    """The resources among `candidates` ((subject, literal, is_name) triples) that match
    `query`, best first."""
    words = normalise(query).split()
    if not words:
        return []
    phrase = " ".join(words)
    best: dict[ox.NamedNode, Hit] = {}
    for subject, literal, is_name in candidates:
        for text in forms(literal.value):
            if not all(word in text for word in words):
                continue
            hit = Hit(subject, _score(text, phrase, words, is_name), literal)
            known = best.get(subject)
            # the best text of a resource: the highest score, then the shortest; the same
            # whatever order the store gave the candidates in
            if known is None or _better(hit, known):
                best[subject] = hit
    # Equal scores: the shorter text first (the name that is mostly the query).
    return sorted(best.values(), key=lambda h: (-h.score, len(h.literal.value), h.subject.value))


def _better(a: Hit, b: Hit) -> bool:
    def key(hit: Hit):
        return (-hit.score, len(hit.literal.value), hit.literal.value, hit.literal.language or "")
    return key(a) < key(b)


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


# --- the store query --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def spellings() -> dict[str, frozenset[str]]:
    """normalised text -> the characters that normalise to it (one to three letters: "u" <- ü ú
    ù ..., "ss" <- ß, "ue" <- ü by the German spelling). Latin, Greek, Cyrillic and the
    compatibility ligatures; worked out once from normalise() itself, so the patterns can never
    disagree with it."""
    table: dict[str, set[str]] = {}
    for code in [*range(0x80, 0x2000), *range(0x2100, 0x2190), *range(0xFB00, 0xFB07)]:
        char = chr(code)
        for form in forms(char):
            if form.isalnum() and len(form) <= 3 and form != char and char.isalnum():
                table.setdefault(form, set()).add(char)
    return {form: frozenset(chars) for form, chars in table.items()}


def pattern(word: str) -> str:
    """A regex (used with the "i" flag) that finds `word`, a normalised word, in any text whose
    normalised form contains it. Only syntax that XPath's regexes (SPARQL's REGEX), Rust's
    (Oxigraph) and Java's or PCRE (other stores) read alike: character classes of letters,
    plain groups, \\p{M}. A few odd overlaps are missed (a query "ssss" against "sßs");
    everything found is checked again in Python."""
    table = spellings()
    parts, i = [], 0
    while i < len(word):
        for width in (3, 2):  # a ligature or ß/æ/ü standing for several letters of the word
            chunk = word[i:i + width]
            if len(chunk) == width and chunk in table:
                singles = "".join(_single(c, table) for c in chunk)
                parts.append(f"({singles}|[{''.join(sorted(table[chunk]))}])")
                i += width
                break
        else:
            parts.append(_single(word[i], table))
            i += 1
    return "".join(parts)


def _single(c: str, table) -> str:
    # letters and digits only (a normalised word has nothing else; spellings() keeps only
    # characters that normalise to letters), so nothing in a class is regex syntax
    return f"[{''.join(sorted({c, *table.get(c, ())}))}]\\p{{M}}*"


def _sparql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matches(words: list[str]) -> str:
    # The longest words first: they are the most selective, and REGEX_WORDS keeps those.
    chosen = sorted(set(words), key=len, reverse=True)[:REGEX_WORDS]
    return " && ".join(f'REGEX(?literal, {_sparql_string(pattern(w))}, "i")' for w in chosen)


def _rows(view, rows) -> list[tuple[ox.NamedNode, ox.Literal, bool]]:
    out = []
    for row in rows:
        subject, text = row["s"], row["literal"]
        if not isinstance(text, ox.Literal) or is_skolem(view.settings, subject) \
                or local_path(view.settings, subject.value) is None:
            continue  # only what has a page of its own
        out.append((subject, text, row["name"].value == "true"))
    return out


def _exact(view, query: str) -> list[tuple[ox.NamedNode, ox.Literal, bool]]:
    """The texts that are the query as typed (or capitalised), in any of our languages: looked
    up by value, so found however many other texts match."""
    typed = " ".join(query.split())
    variants = {typed, typed[:1].upper() + typed[1:], typed.title()}
    text = page_query("search-texts").replace("MATCHES", "true")
    found = []
    for variant in sorted(variants):
        for tag in LANGUAGE_TAGS:
            literal = ox.Literal(variant, language=tag) if tag else ox.Literal(variant)
            found += _rows(view, view.select("search-texts", text=text, literal=literal))
    return found


def run(view, query: str) -> Result:
    """Search the view's store (see the module's description)."""
    cap = view.settings.search_max
    words = normalise(query).split()
    if not words:
        return Result([], True, cap)
    text = page_query("search-texts").replace("MATCHES", _matches(words))
    rows = view.select("search-texts", text=text, limit=cap + 1)
    complete = len(rows) <= cap
    candidates = _exact(view, query) + _rows(view, rows[:cap])
    return Result(rank(candidates, query), complete, cap)


def search(view, query: str) -> Result:
    """run(), remembered per revision for the next pages of the same search."""
    key = " ".join(query.split())  # as typed: the exact look-up depends on the capitals
    return view.cached(key, lambda: run(view, query), memo="searches", size=REMEMBERED)
