"""The content files as quads: one named graph per file, with stable blank-node labels, sorted so
that the same content always gives the same dumps."""
from __future__ import annotations

import pyoxigraph as ox

from gros.content.files import ContentFile, find_files, read_files
from gros.settings import Settings


def content_files(settings: Settings) -> list[ContentFile]:
    """ontology/ and data/, parsed (raises sources.ContentErrors when a file does not parse)."""
    return read_files(find_files(settings))


def content_quads(files: list[ContentFile]) -> list[ox.Quad]:
    """Every statement of the files in its named graph, with blank-node labels from the file name,
    and literals as a store holds them (Oxigraph writes "58000000.0"^^xsd:decimal as "58000000"),
    so that a dump of the files equals a dump of the service that loaded them."""
    out = []
    for content in files:
        graph = ox.NamedNode(content.graph)
        names: dict[str, ox.BlankNode] = {}

        def stable(term, names=names, stem=content.stem):
            if isinstance(term, ox.BlankNode):
                if term.value not in names:
                    names[term.value] = ox.BlankNode(f"{stem}-{len(names) + 1}")
                return names[term.value]
            return term

        out.extend(ox.Quad(stable(t.subject), t.predicate, stable(t.object), graph) for t in content.triples)
    store = ox.Store()
    store.extend(out)
    return store_quads(store)


def quad_order(quad: ox.Quad) -> tuple[str, str, str, str]:
    """Graph, then subject, predicate, object: TriG then writes each graph as one block."""
    return (str(quad.graph_name), str(quad.subject), str(quad.predicate), str(quad.object))


def content_store(files: list[ContentFile]) -> ox.Store:
    """The files in a fresh in-memory store, one named graph per file."""
    store = ox.Store()
    store.extend(content_quads(files))
    return store


def store_quads(store: ox.Store, exclude_graphs=()) -> list[ox.Quad]:
    """Every quad of a store except those of the excluded graphs (the service's bookkeeping)."""
    excluded = {ox.NamedNode(g) for g in exclude_graphs}
    return sorted((q for q in store.quads_for_pattern(None, None, None, None) if q.graph_name not in excluded),
                  key=quad_order)


