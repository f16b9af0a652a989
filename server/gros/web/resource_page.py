"""What a resource page shows, worked out from the store: its name and types, every property
with the names of linked resources, the sources it rests on, its links to other registries
(Wikidata, NUTS, ELI ...), and the resources that link to it, a page at a time.

The template (templates/resource.html) only lays this out; all text stays text here, and
Jinja escapes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from gros.web import i18n
from gros.web import labels
from gros.web import maps
from gros.web.dereference import is_skolem
from gros.web.links import Linker, curie, safe_external
from gros.namespaces import DCTERMS, GROS, RDF, RDFS, SKOS, XSD

RDF_TYPE = str(RDF.type)

#: Shown first, in this order; the rest follow by their names.
FIRST = [RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel", DCTERMS + "title", "https://schema.org/headline"]
LAST = [SKOS + "note", RDFS + "comment", RDFS + "isDefinedBy"]
#: Texts that lead the page under its title.
SUMMARIES = [DCTERMS + "description", SKOS + "definition", RDFS + "comment"]
#: Names are short: all languages are shown side by side.
ALL_LANGUAGES = {RDFS + "label", SKOS + "prefLabel", SKOS + "altLabel"}
SOURCE = DCTERMS + "source"
#: Links to other registries, shown together.
EXTERNAL = {SKOS + "exactMatch", SKOS + "closeMatch", "http://www.w3.org/2002/07/owl#sameAs",
            GROS + "nutsRegion", GROS + "statisticalUnit", GROS + "countryAuthority", GROS + "eliIdentifier",
            GROS + "rorIdentifier", GROS + "tooiIdentifier", "http://xmlns.com/foaf/0.1/homepage",
            "https://schema.org/url", RDFS + "seeAlso"}
REGISTRIES = [  # (IRI start, name) for naming external links
    ("http://www.wikidata.org/entity/", "Wikidata"), ("http://data.europa.eu/nuts/code/", "NUTS"),
    ("http://data.europa.eu/eli/", "ELI"), ("https://ror.org/", "ROR"), ("https://sws.geonames.org/", "GeoNames"),
    ("https://identifier.overheid.nl/tooi/", "TOOI"),
    ("http://publications.europa.eu/resource/authority/country/", "EU country"),
]
DATES = {XSD + "date", XSD + "gYear", XSD + "gYearMonth"}
INCOMING_PAGE = 50
INCOMING_CAP = 5000


@dataclass
class Value:
    text: str
    href: str | None = None
    lang: str | None = None  # shown when it differs from the page's language
    external: bool = False
    code: bool = False  # WKT, codes: shown in a monospace font
    title: str | None = None  # the IRI, as a tooltip
    nested: list["Row"] | None = None  # a blank node's own properties


@dataclass
class Row:
    iri: str
    label: str
    curie: str | None
    href: str | None
    values: list[Value] = field(default_factory=list)
    other_languages: list[Value] = field(default_factory=list)


@dataclass
class Incoming:
    rows: list[Row]
    total: int
    capped: bool
    offset: int
    last: int  # the number of the last link shown (counting from 1)
    previous: str | None
    next: str | None


@dataclass
class Page:
    iri: str
    title: str
    title_lang: str | None
    types: list[Value]
    summary: list[Value]
    summary_other: list[Value]
    rows: list[Row]
    sources: list[dict]
    external: list[Value]
    incoming: Incoming
    has_map: bool


class Builder:
    def __init__(self, view, lang: str, linker: Linker):
        self.view = view
        self.lang = lang
        self.linker = linker

    # --- values -------------------------------------------------------------------------------
    def link(self, node: ox.NamedNode) -> Value:
        text, tag = labels.label_with_language(self.view, node, self.lang)
        href = self.linker.href(node.value)
        return Value(text, href or safe_external(node.value), self._shown_lang(tag), external=href is None,
                     title=node.value)

    def external(self, node: ox.NamedNode) -> Value:
        for start, name in REGISTRIES:
            if node.value.startswith(start):
                return Value(f"{name} {node.value[len(start):].strip('/')}", node.value, external=True, title=node.value)
        return Value(node.value, safe_external(node.value), external=True)

    def literal(self, literal: ox.Literal) -> Value:
        datatype = literal.datatype.value if literal.datatype else ""
        if datatype in DATES:
            return Value(i18n.format_date(literal.value, self.lang), title=literal.value)
        if datatype == XSD + "boolean":
            return Value(i18n.translate("yes" if literal.value in ("true", "1") else "no", self.lang))
        if datatype == XSD + "anyURI" and literal.value.startswith(("http://", "https://")):
            return Value(literal.value, literal.value, external=True)
        code = datatype.endswith("wktLiteral") or (not literal.language and datatype == XSD + "string"
                                                   and len(literal.value) < 16 and " " not in literal.value)
        return Value(literal.value, lang=self._shown_lang(literal.language), code=code)

    def value(self, term, depth: int = 0) -> Value:
        if isinstance(term, ox.Literal):
            return self.literal(term)
        if is_skolem(self.view.settings, term):
            rows = self.rows(self.view.triples(term), depth + 1) if depth < 2 else []
            return Value("", nested=rows)
        if isinstance(term, ox.NamedNode):
            return self.link(term)
        return Value(str(term))

    def _shown_lang(self, tag: str | None) -> str | None:
        return tag if tag and tag.split("-")[0].lower() != self.lang else None

    # --- rows ---------------------------------------------------------------------------------
    def predicate_row(self, predicate: ox.NamedNode) -> Row:
        href = self.linker.href(predicate.value)
        return Row(predicate.value, labels.label(self.view, predicate, self.lang), curie(predicate.value),
                   href or safe_external(predicate.value))

    def rows(self, triples: list[ox.Triple], depth: int = 0, skip=frozenset()) -> list[Row]:
        grouped: dict[ox.NamedNode, list] = {}
        for t in triples:
            if t.predicate.value in skip:
                continue
            grouped.setdefault(t.predicate, []).append(t.object)
        rows = []
        for predicate, objects in grouped.items():
            row = self.predicate_row(predicate)
            literals = [o for o in objects if isinstance(o, ox.Literal) and o.language]
            others = [o for o in objects if not (isinstance(o, ox.Literal) and o.language)]
            if literals and predicate.value not in ALL_LANGUAGES:
                shown = labels.in_language(literals, self.lang)
                row.other_languages = [self.literal(lit) for lit in sorted(
                    (lit for lit in literals if lit not in shown), key=lambda lit: labels.rank(lit, self.lang))]
            else:
                shown = sorted(literals, key=lambda lit: labels.rank(lit, self.lang))
            values = [self.literal(lit) for lit in shown] + [self.value(o, depth) for o in others]
            row.values = sorted(values, key=lambda v: (v.nested is not None, v.text.lower())) \
                if not literals else values
            rows.append(row)
        return sorted(rows, key=self._order)

    def _order(self, row: Row):
        if row.iri in FIRST:
            return (0, FIRST.index(row.iri), "")
        if row.iri in LAST:
            return (2, LAST.index(row.iri), "")
        return (1, 0, row.label.lower())

    # --- the page -----------------------------------------------------------------------------
    def page(self, iri: ox.NamedNode, triples: list[ox.Triple], path: str, offset: int = 0) -> Page:
        view = self.view
        triples = [t for t in triples if t.subject == iri]  # a description may hold more (names, parts)
        title, title_lang = labels.label_with_language(view, iri, self.lang)
        types = sorted((self._type(t.object) for t in triples if t.predicate.value == RDF_TYPE
                        and isinstance(t.object, ox.NamedNode)), key=lambda v: v.text.lower())
        summary_predicate = next((p for p in SUMMARIES if any(t.predicate.value == p for t in triples)), None)
        summary, summary_other = [], []
        if summary_predicate:
            texts = [t.object for t in triples if t.predicate.value == summary_predicate and isinstance(t.object, ox.Literal)]
            shown = labels.in_language(texts, self.lang)
            summary = [self.literal(lit) for lit in shown]
            summary_other = [self.literal(lit) for lit in sorted((x for x in texts if x not in shown),
                                                                  key=lambda lit: labels.rank(lit, self.lang))]
        skip = {RDF_TYPE, SOURCE, *EXTERNAL} | ({summary_predicate} if summary_predicate else set())
        external = sorted((self.external(t.object) for t in triples if t.predicate.value in EXTERNAL
                           and isinstance(t.object, ox.NamedNode) and self.linker.href(t.object.value) is None),
                          key=lambda v: v.text)
        # seeAlso and the like may point to our own pages: those stay ordinary rows
        own_links = [t for t in triples if t.predicate.value in EXTERNAL and isinstance(t.object, ox.NamedNode)
                     and self.linker.href(t.object.value) is not None]
        rows = self.rows([t for t in triples if t.predicate.value not in skip] + own_links)
        sources = [self._source(t.object) for t in triples if t.predicate.value == SOURCE and isinstance(t.object, ox.NamedNode)]
        sources.sort(key=lambda s: s["label"].lower())
        return Page(iri.value, title, self._shown_lang(title_lang), types, summary, summary_other, rows, sources,
                    external, self.incoming(iri, path, offset), maps.has_place(view, iri))

    def _type(self, node: ox.NamedNode) -> Value:
        value = self.link(node)
        value.href, value.external = self.linker.class_page(node.value), False
        return value

    def _source(self, node: ox.NamedNode) -> dict:
        url = next((safe_external(o.value) for o in self.view.objects(node, ox.NamedNode("https://schema.org/url"))
                    if isinstance(o, ox.NamedNode)), None)
        publisher = next((o for o in self.view.objects(node, ox.NamedNode(DCTERMS + "publisher"))), None)
        return {"label": labels.label(self.view, node, self.lang),
                "href": self.linker.href(node.value) or safe_external(node.value),
                "url": url, "publisher": self.value(publisher) if publisher is not None else None}

    def incoming(self, iri: ox.NamedNode, path: str, offset: int) -> Incoming:
        triples = [t for t in self.view.triples(None, None, iri, limit=INCOMING_CAP)
                   if t.predicate.value != RDF_TYPE and isinstance(t.subject, ox.NamedNode)]
        capped = len(triples) >= INCOMING_CAP
        if len(triples) <= 1000:  # sort by name where that is cheap, by IRI beyond
            key = lambda t: (t.predicate.value, labels.label(self.view, t.subject, self.lang).lower(), t.subject.value)
        else:
            key = lambda t: (t.predicate.value, t.subject.value)
        triples.sort(key=key)
        offset = max(0, min(offset, max(len(triples) - 1, 0)))
        page = triples[offset: offset + INCOMING_PAGE]
        rows: dict[ox.NamedNode, Row] = {}
        for t in page:
            row = rows.get(t.predicate)
            if row is None:
                row = rows[t.predicate] = self.predicate_row(t.predicate)
            row.values.append(self.value(t.subject))
        more = offset + INCOMING_PAGE < len(triples)
        earlier = max(offset - INCOMING_PAGE, 0) or None
        return Incoming(list(rows.values()), len(triples), capped, offset, offset + len(page),
                        self.linker.local(path, incoming=earlier) + "#incoming" if offset else None,
                        self.linker.local(path, incoming=offset + INCOMING_PAGE) + "#incoming" if more else None)
