"""What a change did to each resource: descriptions per resource, and their differences.

A *resource* is a subject IRI of the client's dataset that is not a skolem IRI (the stand-in of a
blank node). Its *description* is every quad with it as subject, in any graph but the service's
bookkeeping graph, plus, recursively, the quads of the skolem nodes it points to (its blank-node
closure). A skolem node that nothing points to is a resource of its own, so that every quad of the
dataset belongs to some description: the union of all descriptions is exactly the dataset, which
is what lets a harvester rebuild the data by replaying the change feed.

A description is kept as canonical text: its N-Quads lines, sorted and de-duplicated. Two
descriptions are equal exactly when their texts are.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox


def canonical(quads: Iterable[ox.Quad]) -> str:
    """The description's text: sorted, unique N-Quads lines ('' for none)."""
    lines = sorted({f"{_line(q)}\n" for q in quads})
    return "".join(lines)


def _line(quad: ox.Quad) -> str:
    triple = f"{quad.subject} {quad.predicate} {quad.object}"
    if isinstance(quad.graph_name, ox.DefaultGraph):
        return triple + " ."
    return f"{triple} {quad.graph_name} ."


def parse(text: str) -> list[ox.Quad]:
    return list(ox.parse(text.encode(), format=ox.RdfFormat.N_QUADS)) if text else []


class Describer:
    """Descriptions of resources read from one store, skipping the bookkeeping graph."""

    def __init__(self, store: ox.Store, skolem_prefix: str, excluded_graphs: Iterable[str]):
        self.store = store
        self.prefix = skolem_prefix
        self.excluded = {ox.NamedNode(g) for g in excluded_graphs}

    def is_skolem(self, term) -> bool:
        return isinstance(term, ox.NamedNode) and term.value.startswith(self.prefix)

    def _own(self, subject: ox.NamedNode) -> list[ox.Quad]:
        return [q for q in self.store.quads_for_pattern(subject, None, None) if q.graph_name not in self.excluded]

    def _referrers(self, node: ox.NamedNode) -> set[ox.NamedNode]:
        return {q.subject for q in self.store.quads_for_pattern(None, None, node)
                if q.graph_name not in self.excluded and isinstance(q.subject, ox.NamedNode)}

    def roots(self, node: ox.NamedNode) -> set[ox.NamedNode]:
        """The resources whose description holds the skolem `node` (itself when nothing points to it)."""
        found, seen, queue = set(), set(), [node]
        while queue:
            current = queue.pop()
            if current in seen:
                continue
            seen.add(current)
            referrers = self._referrers(current)
            if not referrers and current == node:
                found.add(node)
            for referrer in referrers:
                (queue.append(referrer) if self.is_skolem(referrer) else found.add(referrer))
        return found

    def describe(self, resource: ox.NamedNode) -> str:
        if self.is_skolem(resource) and self.roots(resource) != {resource}:
            return ""  # held by the descriptions of the resources that point to it
        quads, seen, queue = [], set(), [resource]
        while queue:
            node = queue.pop()
            if node in seen:
                continue
            seen.add(node)
            own = self._own(node)
            quads.extend(own)
            queue.extend(q.object for q in own if self.is_skolem(q.object))
        return canonical(quads)

    def affected(self, quads: Iterable[ox.Quad]) -> set[ox.NamedNode]:
        """The resources whose description a change of these quads (already applied) may have changed."""
        out: set[ox.NamedNode] = set()
        for quad in quads:
            subject = quad.subject
            if not isinstance(subject, ox.NamedNode):
                continue
            if self.is_skolem(subject):
                out.add(subject)  # it may have been, or may become, a resource of its own
                out |= self.roots(subject)
            else:
                out.add(subject)
            if self.is_skolem(quad.object):
                out.add(quad.object)
        return out

    def everything(self) -> dict[str, str]:
        """Every resource's description (resource IRI -> text), in one pass over the store."""
        by_subject: dict[ox.NamedNode, list[ox.Quad]] = defaultdict(list)
        pointed: set[ox.NamedNode] = set()
        for quad in self.store:
            if quad.graph_name in self.excluded or not isinstance(quad.subject, ox.NamedNode):
                continue
            by_subject[quad.subject].append(quad)
            if self.is_skolem(quad.object) and quad.object != quad.subject:
                pointed.add(quad.object)
        out = {}
        for subject in by_subject:
            if self.is_skolem(subject) and subject in pointed:
                continue
            quads, seen, queue = [], set(), [subject]
            while queue:
                node = queue.pop()
                if node in seen:
                    continue
                seen.add(node)
                own = by_subject.get(node, [])
                quads.extend(own)
                queue.extend(q.object for q in own if self.is_skolem(q.object))
            out[subject.value] = canonical(quads)
        return out
