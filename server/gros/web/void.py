"""The dataset `{base}dataset`: what the store says about it (a DCAT description in data/, when
there is one), completed with VoID statistics computed from the store at this revision.

Served at /dataset and at /.well-known/void (VoID §7.2, the well-known location). Generated
statements never contradict stored ones: a property the stored description already gives
(say, dcterms:title or void:triples) is not generated again.
"""
from __future__ import annotations

import pyoxigraph as ox

from gros.web.dereference import close, names_of_links
from gros.namespaces import DCTERMS

VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def dataset_iri(settings) -> ox.NamedNode:
    return ox.NamedNode(settings.base_iri + "dataset")


def describe(view) -> list[ox.Triple]:
    settings = view.settings
    me = dataset_iri(settings)
    stored = close(view, view.triples(me), settings)
    generated = view.cached("void", lambda: statistics(view))
    given = {(t.subject, t.predicate) for t in stored}
    extra = [t for t in generated if (t.subject, t.predicate) not in given or t.predicate == RDF_TYPE]
    triples = list(dict.fromkeys(stored + extra))
    return triples + names_of_links(view, triples, settings, exclude={me})


def statistics(view) -> list[ox.Triple]:
    settings = view.settings
    me = dataset_iri(settings)
    base = settings.base_iri

    def number(n) -> ox.Literal:
        return ox.Literal(str(int(n)), datatype=XSD_INTEGER)

    def term(local: str) -> ox.NamedNode:
        return ox.NamedNode(VOID + local)

    meta = {"meta": view.meta}
    totals = view.select("dataset-statistics", union=False, **meta)[0]
    out = [
        ox.Triple(me, RDF_TYPE, term("Dataset")),
        ox.Triple(me, ox.NamedNode(DCTERMS + "title"), ox.Literal("GROS-kennisgraaf", language="nl")),
        ox.Triple(me, ox.NamedNode(DCTERMS + "title"), ox.Literal("GROS knowledge graph", language="en")),
        ox.Triple(me, term("sparqlEndpoint"), ox.NamedNode(base + "sparql")),
        ox.Triple(me, term("uriSpace"), ox.Literal(base + "id/")),
        ox.Triple(me, term("vocabulary"), ox.NamedNode(base + "def")),
        ox.Triple(me, term("triples"), number(totals["triples"].value)),
        ox.Triple(me, term("distinctSubjects"), number(totals["subjects"].value)),
        ox.Triple(me, term("properties"), number(totals["properties"].value)),
        ox.Triple(me, term("classes"), number(totals["classes"].value)),
    ]
    for row in view.select("graph-sizes", union=False, **meta):
        graph = row["g"]
        if not isinstance(graph, ox.NamedNode):
            continue
        out += [ox.Triple(me, term("subset"), graph), ox.Triple(graph, RDF_TYPE, term("Dataset")),
                ox.Triple(graph, term("triples"), number(row["n"].value))]
    return out
