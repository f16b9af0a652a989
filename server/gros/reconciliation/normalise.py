"""How a name becomes comparable: folded, cut into words, with the words that carry no identity
set apart (vocabulary.yaml).

A name gives a `Form`:
- `exact`: its words in order, after folding (case, accents, ß, ø ...), synonyms (Rijn = Rhein,
  Nederland = NL, EGTS = EGTC) and without connectives ("en", "und", "&") and articles;
- `sorted`: the same words sorted, so that word order does not matter;
- `core`: the sorted words without designations ("Provincie", "Kreis", "Stadt", "Euregio",
  "Verordening", "(EG)", "nr.") and without what stands in parentheses; "Kreis Kleve",
  "Kleve (district)" and "Kleve" share the core "kleve";
- `kinds`: the designation groups the name names (municipality, district, province ...);
- `qualifiers`: the words in parentheses ("Limburg (Nederland)" -> {"nl"});
- `numbers`: its numbers ("1082/2006" -> {"1082", "2006"}), which must agree for two names of
  legal instruments to be the same.
The German umlaut spelling (Moenchengladbach) is a second form of the same name.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

VOCABULARY = Path(__file__).parent / "vocabulary.yaml"

#: Letters that NFKD does not take apart.
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i", "þ": "th", "ð": "d"})
#: The German spelling without umlauts, as a second form.
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_WORD = re.compile(r"[^\W_]+|&|\+")
_PARENTHESES = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class Vocabulary:
    dropped: frozenset[str]
    synonyms: dict[tuple[str, ...], str]  # phrase (words) -> one word
    qualifier_synonyms: dict[str, str]
    designations: dict[tuple[str, ...], str]  # phrase -> group
    classes: dict[str, frozenset[str]]  # group -> class IRIs
    homonyms: frozenset[str]  # groups whose designations tell apart namesakes at different levels
    longest: int


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    data = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8"))
    synonyms = {tuple(k.split()): v for k, v in data["synonyms"].items()}
    designations, classes, homonyms = {}, {}, set()
    for group, spec in data["designations"].items():
        if spec.get("homonyms"):
            homonyms.add(group)
        for phrase in spec["words"]:
            designations[tuple(_plain(phrase).split())] = group
        classes[group] = frozenset(spec.get("classes") or ())
    longest = max(len(p) for p in [*synonyms, *designations])
    return Vocabulary(frozenset(data["connectives"]) | frozenset(data["stopwords"]), synonyms,
                      dict(data["qualifier_synonyms"]), designations, classes, frozenset(homonyms), longest)


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(c for c in folded if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, without accents or special letters, words separated by one space."""
    return " ".join(_WORD.findall(_plain(text)))


@dataclass(frozen=True)
class Form:
    exact: str
    sorted: str
    core: str
    kinds: frozenset[str]
    qualifiers: frozenset[str]
    numbers: frozenset[str]
    words: frozenset[str]  # every word, the parentheses' too


def _words(text: str, vocab: Vocabulary, qualifier: bool) -> list[str]:
    raw = _WORD.findall(text)
    out, i = [], 0
    while i < len(raw):
        for width in range(min(vocab.longest, len(raw) - i), 0, -1):
            phrase = tuple(raw[i:i + width])
            if phrase in vocab.synonyms:
                out.append(vocab.synonyms[phrase])
                i += width
                break
        else:
            word = raw[i]
            if qualifier and word in vocab.qualifier_synonyms:
                word = vocab.qualifier_synonyms[word]
            out.append(word)
            i += 1
    return [w for w in out if w not in vocab.dropped]


def _designations(words: list[str], vocab: Vocabulary) -> tuple[list[str], set[str]]:
    """The words that are not designations, and the groups of those that are."""
    rest, kinds, i = [], set(), 0
    while i < len(words):
        for width in range(min(vocab.longest, len(words) - i), 0, -1):
            phrase = tuple(words[i:i + width])
            if phrase in vocab.designations:
                kinds.add(vocab.designations[phrase])
                i += width
                break
        else:
            rest.append(words[i])
            i += 1
    return rest, kinds


def _form(text: str) -> Form:
    vocab = vocabulary()
    qualifier_words: list[str] = []
    for inside in _PARENTHESES.findall(text):
        qualifier_words += _words(inside, vocab, qualifier=True)
    main = _words(_PARENTHESES.sub(" ", text), vocab, qualifier=False)
    words = main + qualifier_words
    core, kinds = _designations(main, vocab)
    qualifiers, more = _designations(qualifier_words, vocab)
    kinds |= more
    if not core:  # a name that is only designations ("EUREGIO", "EGTC Regulation") is its own core
        core = main or words
    numbers = frozenset(w for w in words if w.isdigit())
    return Form(" ".join(words), " ".join(sorted(words)), " ".join(sorted(core)), frozenset(kinds),
                frozenset(qualifiers), numbers, frozenset(words))


def forms(text: str) -> list[Form]:
    """The forms of a name: as folded, and with the German umlaut spelling when that differs."""
    plain = _plain(text)
    umlauts = _plain(text.casefold().translate(_UMLAUTS))
    found = [_form(plain)]
    if umlauts != plain:
        found.append(_form(umlauts))
    return found


def query_form(text: str) -> Form:
    """The form of a query: a query is folded like a name (ü -> u, and "ue" stays "ue", which
    the umlaut forms of the names meet)."""
    return _form(_plain(text))
