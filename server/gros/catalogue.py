"""The classes and their instances: counts for the home page and the classes index, and the
instance lists of the class pages.

A class's instances include those of its subclasses (rdfs:subClassOf in the ontology): the
data types a body as gros:Euregio, and it belongs under "cooperation bodies" all the same.
Everything here is computed once per store revision.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from . import labels

GROS = "https://w3id.org/gros/def#"

#: The entry points of the home page: (message key, class).
ENTRY_POINTS = [("bodies", GROS + "CooperationBody"), ("agreements", GROS + "LegalInstrument"),
                ("regions", GROS + "Region"), ("organisations", GROS + "PublicOrganisation"),
                ("news", GROS + "NewsItem"), ("sources", GROS + "Source")]


def hierarchy(view) -> dict[str, set[str]]:
    """class -> its direct subclasses."""
    def compute():
        below: dict[str, set[str]] = {}
        for row in view.select("class-hierarchy"):
            below.setdefault(row["class"].value, set())
            if "super" in row:
                below.setdefault(row["super"].value, set()).add(row["class"].value)
        return below
    return view.cached("class-hierarchy", compute)


def subclasses(view, iri: str) -> set[str]:
    """The class and everything below it."""
    below = hierarchy(view)
    found, queue = set(), [iri]
    while queue:
        current = queue.pop()
        if current not in found:
            found.add(current)
            queue.extend(below.get(current, ()))
    return found


def instances(view, iri: str) -> dict[ox.NamedNode, list[ox.NamedNode]]:
    """instance -> its direct types, for the class and its subclasses."""
    def compute():
        out: dict[ox.NamedNode, list[ox.NamedNode]] = {}
        for row in view.select("instances", **{"class": ox.NamedNode(iri)}):
            out.setdefault(row["s"], []).append(row["type"])
        return out
    return view.cached(("instances", iri), compute)


def count(view, iri: str) -> int:
    return len(instances(view, iri))


def direct_counts(view) -> dict[str, int]:
    return view.cached("class-counts", lambda: {r["class"].value: int(r["n"].value)
                                                  for r in view.select("class-counts")})


@dataclass
class ClassEntry:
    iri: str
    label: str
    curie: str | None
    count: int  # instances, subclasses' included
    depth: int


def index(view, lang: str) -> list[ClassEntry]:
    """Every class that has instances (its own or its subclasses'), as a tree in name order."""
    from .links import curie

    below = hierarchy(view)
    direct = direct_counts(view)
    has_super = {sub for subs in below.values() for sub in subs}
    roots = [c for c in set(below) | set(direct) if c not in has_super]
    entries: list[ClassEntry] = []

    def walk(iri: str, depth: int, path: frozenset):
        total = count(view, iri) if iri in below else direct.get(iri, 0)
        if total == 0 or iri in path:
            return
        node = ox.NamedNode(iri)
        entries.append(ClassEntry(iri, labels.label(view, node, lang), curie(iri), total, depth))
        for sub in sorted(below.get(iri, ()), key=lambda s: labels.label(view, ox.NamedNode(s), lang).lower()):
            walk(sub, depth + 1, path | {iri})

    for root in sorted(roots, key=lambda r: labels.label(view, ox.NamedNode(r), lang).lower()):
        walk(root, 0, frozenset())
    return entries
