"""Blank nodes as IRIs: a store keeps every node of a source addressable across requests."""
from __future__ import annotations

import uuid

import pyoxigraph as ox

from gros.settings import Settings


class Skolemizer:
    """Replaces blank nodes by IRIs that are stable within one source (file or request)."""

    def __init__(self, settings: Settings, prefix: str | None = None):
        self.base = f"{settings.base_iri}.well-known/genid/{prefix or uuid.uuid4().hex}-"
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
