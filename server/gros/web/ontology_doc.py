"""The ontology as documentation (/def), generated from the ontology in the store: its
classes, properties and datatypes with their names and definitions in the page's language,
their place in the hierarchy, domains and ranges, and the SKOS concept schemes with their
concepts. Each term has an anchor, so `{base}def#Region` is documented at /def#Region.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from gros.web import catalogue
from gros.web import labels
from gros.web.dereference import close, names_of_links
from gros.web.resource_page import Builder, Row, Value
from gros.namespaces import DCTERMS, OWL, RDFS, SKOS

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
#: (message key, the rdf:type that puts a term in the section)
SECTIONS = [("classes", OWL + "Class"), ("object-properties", OWL + "ObjectProperty"),
            ("datatype-properties", OWL + "DatatypeProperty"), ("annotation-properties", OWL + "AnnotationProperty"),
            ("datatypes", RDFS + "Datatype")]
DEFINITIONS = [SKOS + "definition", RDFS + "comment", DCTERMS + "description"]
#: Shown in the heading or the definition, not again as rows.
SHOWN = {RDF_TYPE.value, RDFS + "label", SKOS + "prefLabel", RDFS + "isDefinedBy", *DEFINITIONS}


@dataclass
class Term:
    iri: str
    anchor: str
    label: str
    curie: str
    definition: list[Value]
    other_definitions: list[Value]
    rows: list[Row]
    instances: int | None = None
    instances_href: str | None = None


@dataclass
class Scheme:
    label: str
    href: str | None
    definition: list[Value]
    concepts: list[Value] = field(default_factory=list)


@dataclass
class Documentation:
    iri: str
    title: str
    summary: list[Value]
    rows: list[Row]
    sections: list[tuple[str, list[Term]]]
    schemes: list[Scheme]


def namespace(settings) -> str:
    return settings.base_iri + "def#"


def ontology_iri(settings) -> ox.NamedNode:
    return ox.NamedNode(settings.base_iri + "def")


def terms(view) -> list[ox.NamedNode]:
    """Every term of our namespace that the ontology types (classes, properties, datatypes)."""
    ns = namespace(view.settings)
    found = {t.subject for _, kind in SECTIONS for t in view.triples(None, RDF_TYPE, ox.NamedNode(kind))
             if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(ns)}
    return sorted(found, key=lambda n: n.value)


def describe(view) -> list[ox.Triple]:
    """The ontology's RDF: the ontology resource and every term of our namespace."""
    settings = view.settings
    triples = view.triples(ontology_iri(settings))
    for term in terms(view):
        triples += view.triples(term)
    triples = close(view, triples, settings)
    return triples + names_of_links(view, triples, settings)


def documentation(view, lang: str, linker) -> Documentation:
    settings = view.settings
    builder = Builder(view, lang, linker)
    ns = namespace(settings)
    ontology = ontology_iri(settings)
    own = view.triples(ontology)
    title_literals = [t.object for t in own if t.predicate.value == DCTERMS + "title"]
    title = (labels.best(title_literals, lang) or ox.Literal(labels.label(view, ontology, lang))).value
    summary = [builder.literal(lit) for lit in labels.in_language(
        [t.object for t in own if t.predicate.value == DCTERMS + "description"], lang)]
    rows = builder.rows([t for t in own if t.predicate.value not in {DCTERMS + "title", DCTERMS + "description",
                                                                     RDFS + "label", RDF_TYPE.value}])
    sections = []
    placed: set[ox.NamedNode] = set()
    for key, kind in SECTIONS:
        members = [t.subject for t in view.triples(None, RDF_TYPE, ox.NamedNode(kind))
                   if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(ns) and t.subject not in placed]
        placed.update(members)
        entries = [_term(view, builder, term, ns, key == "classes", linker) for term in members]
        entries.sort(key=lambda e: e.label.lower())
        if entries:
            sections.append((key, entries))
    return Documentation(ontology.value, title, summary, rows, sections, _schemes(view, builder, lang))


def _term(view, builder: Builder, term: ox.NamedNode, ns: str, is_class: bool, linker) -> Term:
    lang = builder.lang
    triples = view.triples(term)
    definitions = [t.object for t in triples if t.predicate.value in DEFINITIONS and isinstance(t.object, ox.Literal)]
    shown = labels.in_language(definitions, lang)
    other = sorted((d for d in definitions if d not in shown), key=lambda d: labels.rank(d, lang))
    local = term.value[len(ns):]
    entry = Term(term.value, local, labels.label(view, term, lang), "gros:" + local,
                 [builder.literal(d) for d in shown], [builder.literal(d) for d in other],
                 builder.rows([t for t in triples if t.predicate.value not in SHOWN]))
    if is_class:
        entry.instances = catalogue.count(view, term.value)
        entry.instances_href = linker.class_page(term.value)
    return entry


def _schemes(view, builder: Builder, lang: str) -> list[Scheme]:
    grouped: dict[ox.NamedNode, list[ox.NamedNode]] = {}
    for row in view.select("concept-schemes"):
        concepts = grouped.setdefault(row["scheme"], [])
        if "concept" in row:
            concepts.append(row["concept"])
    schemes = []
    for scheme, concepts in grouped.items():
        texts = [o for p in DEFINITIONS for o in view.objects(scheme, ox.NamedNode(p)) if isinstance(o, ox.Literal)]
        link = builder.link(scheme)
        entry = Scheme(link.text, builder.linker.href(scheme.value),
                       [builder.literal(lit) for lit in labels.in_language(texts, lang)])
        entry.concepts = sorted((builder.link(c) for c in set(concepts)), key=lambda v: v.text.lower())
        schemes.append(entry)
    return sorted(schemes, key=lambda s: s.label.lower())
