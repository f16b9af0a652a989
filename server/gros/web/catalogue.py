"""The classes and their instances: counts for the home page and the classes index, and the
instance lists of the class pages.

A class's instances include those of its subclasses (rdfs:subClassOf in the ontology): the
data types a body as gros:Euregio, and it belongs under "cooperation bodies" all the same.
The counts are aggregate queries, computed once per store revision; the instance lists are
read a page at a time (memory bounded by the settings, not by the data).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from gros.web import labels
from gros.namespaces import GROS


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


def counts(view) -> dict[str, int]:
    """class -> its instances, subclasses' included, each resource once. Two aggregate queries
    per revision (direct types; totals of the classes with subclasses), kept as one number per
    class: nothing here lists the instances themselves."""
    def compute():
        found = {r["class"].value: int(r["n"].value) for r in view.select("class-counts")}
        found.update({r["class"].value: int(r["n"].value) for r in view.select("class-totals")})
        return found
    return view.cached("class-counts", compute)


def count(view, iri: str) -> int:
    return counts(view).get(iri, 0)


@dataclass
class Members:
    """A page of a class's instances."""
    resources: list[ox.NamedNode]
    total: int
    by_name: bool  # sorted by name; otherwise in storage order (the class has too many to sort)


#: Sorted member lists remembered per revision (each at most settings.page_sort_max IRIs).
SORTED_LISTS = 8


def members(view, iri: str, lang: str, offset: int, size: int) -> Members:
    """Instances `offset` to `offset + size` of the class `iri`, by name in `lang` when the class
    has at most settings.page_sort_max of them, else in the store's order: sorting more would
    take all their names into memory on every revision."""
    total = count(view, iri)
    node = ox.NamedNode(iri)
    if total > view.settings.page_sort_max:
        rows = view.select("members", limit=size, offset=offset, values={"class": node})
        return Members([r["s"] for r in rows], total, False)

    def by_name():
        # the store sorts (labels.py's choice of name, page_queries/members-by-name.rq): looking
        # up 18,000 names from Python took five times as long; kept are the IRIs, not the names
        rows = view.select("members-by-name", values={"class": node, "lang": ox.Literal(lang)})
        return tuple(r["s"].value for r in rows)
    ordered = view.cached((iri, lang), by_name, memo="sorted-members", size=SORTED_LISTS)
    return Members([ox.NamedNode(v) for v in ordered[offset: offset + size]], len(ordered), True)


@dataclass
class ClassEntry:
    iri: str
    label: str
    curie: str | None
    count: int  # instances, subclasses' included
    depth: int


def index(view, lang: str) -> list[ClassEntry]:
    """Every class that has instances (its own or its subclasses'), as a tree in name order."""
    from gros.web.links import curie

    below = hierarchy(view)
    totals = counts(view)
    has_super = {sub for subs in below.values() for sub in subs}
    roots = [c for c in set(below) | set(totals) if c not in has_super]
    entries: list[ClassEntry] = []

    def walk(iri: str, depth: int, path: frozenset):
        total = totals.get(iri, 0)
        if total == 0 or iri in path:
            return
        node = ox.NamedNode(iri)
        entries.append(ClassEntry(iri, labels.label(view, node, lang), curie(iri), total, depth))
        for sub in sorted(below.get(iri, ()), key=lambda s: labels.label(view, ox.NamedNode(s), lang).lower()):
            walk(sub, depth + 1, path | {iri})

    for root in sorted(roots, key=lambda r: labels.label(view, ox.NamedNode(r), lang).lower()):
        walk(root, 0, frozenset())
    return entries
