"""The name a page shows for a resource, in the page's language.

A resource's name is its rdfs:label; where it has none, skos:prefLabel, a title or a
headline. Among the names in different languages the page's language wins, then the
fallback order nl, en, de, fr, then any other language, then a name without a language tag.
Where a resource has no name at all, the last part of its IRI stands in for one.
"""
from __future__ import annotations

import re

import pyoxigraph as ox

from .i18n import LANGUAGES
from gros.namespaces import RDFS, SKOS

NAME_PREDICATES = [ox.NamedNode(iri) for iri in (
    RDFS + "label", SKOS + "prefLabel", "http://purl.org/dc/terms/title", "https://schema.org/name",
    "http://xmlns.com/foaf/0.1/name", "https://schema.org/headline")]


def order(lang: str) -> list[str]:
    """Languages in the order a page in `lang` prefers them."""
    return [lang, *(code for code in LANGUAGES if code != lang)]


def rank(literal: ox.Literal, lang: str) -> tuple[int, str]:
    """Sort key: better languages first (see order()); ties by the text."""
    preferred = order(lang)
    tag = (literal.language or "").lower().split("-")[0]
    if tag in preferred:
        return preferred.index(tag), literal.value
    return (len(preferred), literal.value) if tag else (len(preferred) + 1, literal.value)


def best(literals, lang: str) -> ox.Literal | None:
    literals = [lit for lit in literals if isinstance(lit, ox.Literal)]
    return min(literals, key=lambda lit: rank(lit, lang)) if literals else None


def in_language(literals, lang: str) -> list[ox.Literal]:
    """The literals of the best language available (all of them, when several share it)."""
    literals = [lit for lit in literals if isinstance(lit, ox.Literal)]
    if not literals:
        return []
    top = rank(best(literals, lang), lang)[0]
    return sorted((lit for lit in literals if rank(lit, lang)[0] == top), key=lambda lit: lit.value)


def local_name(iri: str) -> str:
    """The last part of an IRI, for resources without a name."""
    tail = re.split(r"[#/]", iri.rstrip("/#"))[-1]
    return tail or iri


#: Resources whose names a view remembers: a page names a few hundred.
REMEMBERED = 10_000


def names(view, iri: ox.NamedNode) -> list[ox.Literal]:
    """Every name of `iri`, from the first predicate of NAME_PREDICATES that gives any."""
    cache = view.memo("names", REMEMBERED)
    found = cache.get(iri)
    if found is None:
        found = []
        for predicate in NAME_PREDICATES:
            found = [o for o in view.objects(iri, predicate) if isinstance(o, ox.Literal)]
            if found:
                break
        cache[iri] = found
    return found


def label(view, iri: ox.NamedNode, lang: str) -> str:
    chosen = best(names(view, iri), lang)
    return chosen.value if chosen is not None else local_name(iri.value)


def label_with_language(view, iri: ox.NamedNode, lang: str) -> tuple[str, str | None]:
    """(name, its language tag) so that a page can mark a name not in the page's language."""
    chosen = best(names(view, iri), lang)
    if chosen is None:
        return local_name(iri.value), None
    return chosen.value, chosen.language
