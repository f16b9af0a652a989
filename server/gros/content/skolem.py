"""Blank nodes as IRIs: a store keeps every node of a source addressable across requests."""
from __future__ import annotations

import uuid

import pyoxigraph as ox

from gros.settings import Settings


class Skolemizer:
    """Replaces blank nodes by IRIs that are stable within one source (file or request)."""

    def __init__(self, settings: Settings, prefix: str | None = None):
        # The label starts with a letter: RDF/XML writes it as rdf:nodeID, an XML name, which a
        # digit cannot start (a bare hex uuid does, in 10 cases of 16).
        self.base = f"{settings.base_iri}.well-known/genid/{prefix or 'b' + uuid.uuid4().hex}-"
        self.names: dict[str, ox.NamedNode] = {}

    def term(self, term):
        if isinstance(term, ox.BlankNode):
            if term.value not in self.names:
                self.names[term.value] = ox.NamedNode(f"{self.base}{len(self.names) + 1}")
            return self.names[term.value]
        if isinstance(term, ox.Triple):
            return ox.Triple(self.term(term.subject), term.predicate, self.term(term.object))
        return term

    def quad(self, quad: ox.Quad) -> ox.Quad:
        return ox.Quad(self.term(quad.subject), quad.predicate, self.term(quad.object), quad.graph_name)


def genid_prefix(base_iri: str) -> str:
    """Where the skolem IRIs of a service with this base IRI start."""
    return f"{base_iri}.well-known/genid/"


class BlankNodes:
    """Skolem IRIs back to blank nodes, on the way out to clients.

    The store keeps a blank node as the IRI `{base}.well-known/genid/LABEL` (so a later request
    can name it); clients get the blank node `_:LABEL` wherever they sent one (results, graphs,
    dumps). The label is the IRI's last segment, so `_:LABEL` in an answer is addressed in a
    later query or update as `<{base}.well-known/genid/LABEL>` (in SPARQL, `_:LABEL` is a new
    blank node or a variable, never a stored node). An IRI whose segment is not a valid blank
    node label (only a client can make one) stays an IRI.
    """

    def __init__(self, base_iri: str):
        self.prefix = genid_prefix(base_iri)
        self.start = len(self.prefix)

    def term(self, term):
        if type(term) is ox.NamedNode:
            value = term.value
            if value.startswith(self.prefix):
                try:
                    return ox.BlankNode(value[self.start:])
                except ValueError:
                    return term
            return term
        if type(term) is ox.Triple:
            return ox.Triple(self.term(term.subject), term.predicate, self.term(term.object))
        return term

    def triple(self, triple: ox.Triple) -> ox.Triple:
        return ox.Triple(self.term(triple.subject), triple.predicate, self.term(triple.object))

    def quad(self, quad: ox.Quad) -> ox.Quad:
        return ox.Quad(self.term(quad.subject), quad.predicate, self.term(quad.object), quad.graph_name)

    def row(self, solution) -> "_Row":
        return _Row(solution, self.term)


class _Row:
    """A query solution whose terms are read through `out` (solution[name] as results.py reads it)."""

    __slots__ = ("solution", "out")

    def __init__(self, solution, out):
        self.solution = solution
        self.out = out

    def __getitem__(self, name):
        return self.out(self.solution[name])
