"""Dereferencing: which IRI a URL stands for, which format a client gets, what a
description of a resource holds, and the caching headers of every such answer.

**Direct answers, not 303 redirects.** `GET /id/body/euregio` answers with the description of
`{base}id/body/euregio` itself (200, `Vary: Accept`, `Content-Location` naming the document
of the chosen format, e.g. `/id/body/euregio.ttl`). A 303 to a separate document URL would
cost every client a second round trip (and `https://w3id.org/gros/...` is already one
redirect away from this server) while telling it nothing the Content-Location does not. The
W3C TAG allows a 200 for a URI that names a thing rather than a document (the 2012
resolution "Providing and discovering URI documentation"), and the RDF we send is always about
the canonical IRI, never about the URL it came from.

The server answers for `Settings.base_iri`: the path `/id/x` is the IRI `{base}id/x`; the same
holds for the ontology (/def), the dataset and its parts (/dataset, /dataset/...) and the
catalogue (/catalog). Suffix
URLs (`.ttl`, `.jsonld`, `.nt`, `.rdf`, `.html`, and `.trig`, `.nq`) choose the format
without content negotiation; they are the documents the Content-Location points at.

A description is the resource's own triples, the triples of the blank nodes it points to
(stored as skolem IRIs, sent as blank nodes again), and the labels of the resources it links
to, so that a linked-data browser can name them without another request.

Caching: the ETag names the store revision, the format and the language, so it changes when
the data changes (or the server restarts with new templates: the boot id); Last-Modified is
when this server first served that revision.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from email.utils import format_datetime, parsedate_to_datetime

import pyoxigraph as ox
from fastapi import Request
from starlette.responses import Response

from gros import etags
from gros import formats
from gros.errors import negotiated
from gros.web.labels import NAME_PREDICATES

#: JSON-LD is JSON: a client that asks for application/json gets it too.
JSONLD = replace(formats.JSONLD, aliases=("application/json",))
#: What a resource is available as; the first is what a client that states no preference gets.
OFFERED = [formats.HTML, formats.TURTLE, JSONLD, formats.NTRIPLES, formats.RDFXML, formats.TRIG, formats.NQUADS]
SUFFIXES = {".html": formats.HTML, ".ttl": formats.TURTLE, ".jsonld": JSONLD, ".nt": formats.NTRIPLES,
            ".rdf": formats.RDFXML, ".trig": formats.TRIG, ".nq": formats.NQUADS}
ALTERNATES = [formats.TURTLE, JSONLD, formats.NTRIPLES, formats.RDFXML]

PREFIXES = {
    "gros": "https://w3id.org/gros/def#", "org": "http://www.w3.org/ns/org#", "cpov": "http://data.europa.eu/m8g/",
    "eli": "http://data.europa.eu/eli/ontology#", "geo": "http://www.opengis.net/ont/geosparql#",
    "skos": "http://www.w3.org/2004/02/skos/core#", "dcterms": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#", "schema": "https://schema.org/", "foaf": "http://xmlns.com/foaf/0.1/",
    "owl": "http://www.w3.org/2002/07/owl#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "time": "http://www.w3.org/2006/time#", "dcat": "http://www.w3.org/ns/dcat#", "void": "http://rdfs.org/ns/void#",
    "sd": "http://www.w3.org/ns/sparql-service-description#", "vann": "http://purl.org/vocab/vann/",
}

#: Changes when the server restarts, so that new templates are never hidden behind an old ETag.
BOOT = hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:6]


# --- URLs and IRIs --------------------------------------------------------------------------------

def split_suffix(path: str) -> tuple[str, formats.Format | None]:
    for suffix, fmt in SUFFIXES.items():
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)], fmt
    return path, None


def iri_for(settings, path: str) -> str:
    """The IRI a local path stands for: /id/x is {base}id/x."""
    return settings.base_iri + path.lstrip("/")


def local_path(settings, iri: str) -> str | None:
    """The path on this server that describes `iri`, or None when it is not ours to serve."""
    base = settings.base_iri
    if not iri.startswith(base):
        return None
    rest = iri[len(base):]
    if rest.startswith("id/") and len(rest) > 3:
        return "/" + rest
    if rest in ("def", "catalog", "dataset", "sparql") or rest.startswith(("def#", "catalog#", "dataset/")):
        return "/" + rest
    return None


def skolem_prefix(settings) -> str:
    return settings.base_iri + ".well-known/genid/"


def is_skolem(settings, term) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(skolem_prefix(settings))


# --- formats --------------------------------------------------------------------------------------

def choose_format(request: Request, suffix: formats.Format | None) -> formats.Format:
    if suffix is not None:
        return suffix
    return negotiated(request, OFFERED)


# --- descriptions ---------------------------------------------------------------------------------

def describe(view, iri: ox.NamedNode) -> list[ox.Triple]:
    """The resource's triples, those of the blank nodes under it, and the names of what it links to."""
    settings = view.settings
    triples = view.triples(iri)
    return close(view, triples, settings) + names_of_links(view, triples, settings, exclude={iri})


def describe_document(view, iri: ox.NamedNode) -> list[ox.Triple]:
    """describe() for a document IRI whose parts are fragment IRIs ({base}catalog#licences)."""
    settings = view.settings
    parts = view.cached(("fragments", iri), lambda: [r["s"] for r in view.select("fragments", document=iri)])
    triples = view.triples(iri)
    for part in parts:
        triples += view.triples(part)
    return close(view, triples, settings) + names_of_links(view, triples, settings, exclude={iri, *parts})


def close(view, triples: list[ox.Triple], settings) -> list[ox.Triple]:
    """`triples` plus, recursively, the triples of the blank (skolem) nodes they point to."""
    out = list(triples)
    seen = set()
    queue = [t.object for t in triples if is_skolem(settings, t.object)]
    while queue:
        node = queue.pop()
        if node in seen:
            continue
        seen.add(node)
        more = view.triples(node)
        out.extend(more)
        queue.extend(t.object for t in more if is_skolem(settings, t.object))
    return out


def names_of_links(view, triples, settings, exclude=frozenset()) -> list[ox.Triple]:
    linked = {t.object for t in triples if isinstance(t.object, ox.NamedNode)
              and not is_skolem(settings, t.object) and t.object not in exclude}
    out = []
    for node in sorted(linked, key=lambda n: n.value):
        out.extend(view.triples(node, NAME_PREDICATES[0]))
    return out


def serialise(triples: list[ox.Triple], fmt: formats.Format, settings) -> bytes:
    """The triples in `fmt`; skolem IRIs become blank nodes again."""
    prefix = skolem_prefix(settings)
    blank: dict[str, ox.BlankNode] = {}

    def term(t):
        if isinstance(t, ox.NamedNode) and t.value.startswith(prefix):
            if t.value not in blank:
                blank[t.value] = ox.BlankNode("b" + hashlib.sha256(t.value.encode()).hexdigest()[:12])
            return blank[t.value]
        return t

    ordered = sorted({ox.Triple(term(t.subject), t.predicate, term(t.object)) for t in triples},
                     key=lambda t: (isinstance(t.subject, ox.BlankNode), str(t.subject), str(t.predicate), str(t.object)))
    used = {p: iri for p, iri in PREFIXES.items() if any(str(t).find(iri) >= 0 for t in ordered)}
    if fmt.oxigraph in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
        ordered = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in ordered]
    return ox.serialize(ordered, format=fmt.oxigraph, prefixes=used) or b""


# --- answers --------------------------------------------------------------------------------------

def not_found_body(fmt: formats.Format, message: str) -> bytes:
    """A 404 body in the asked RDF format: valid and empty, with the reason in a comment.

    (For HTML the pages module renders the error page.)"""
    line = " ".join(message.split())
    if fmt.oxigraph in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
        return f"# 404 Not Found: {line}\n".encode()
    if fmt.oxigraph == ox.RdfFormat.RDF_XML:
        safe = line.replace("--", "- -")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- 404 Not Found: {safe} -->\n'
                f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n').encode()
    # JSON-LD: the service's JSON error shape is a valid (empty) JSON-LD document.
    return json.dumps({"error": message, "status": 404, "details": []}, ensure_ascii=False).encode()


def etag(view, fmt: formats.Format, lang: str, extra: str = "") -> str:
    return etags.make(view.revision, fmt.name, lang, BOOT, extra, weak=True)


def caching_headers(view, tag: str) -> dict[str, str]:
    return {"ETag": tag, "Last-Modified": format_datetime(view.modified, usegmt=True),
            "Cache-Control": "no-cache", "Vary": "Accept, Accept-Language"}


def not_modified(request: Request, view, tag: str) -> bool:
    """Conditional GET (RFC 9110 §13.1): If-None-Match first, If-Modified-Since without it."""
    match = request.headers.get("if-none-match")
    if match is not None:
        return etags.matches(match, tag)
    since = request.headers.get("if-modified-since")
    if since:
        try:
            return view.modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def alternate_links(path: str) -> list[tuple[str, formats.Format]]:
    """(URL, format) of each RDF form of the resource at `path` (without suffix)."""
    return [(path.split("#", 1)[0] + fmt.extension, fmt) for fmt in ALTERNATES]


def link_header(path: str) -> str:
    return ", ".join(f'<{url}>; rel="alternate"; type="{fmt.media_type}"' for url, fmt in alternate_links(path))


def rdf_response(request: Request, view, triples, fmt: formats.Format, path: str, lang: str) -> Response:
    tag = etag(view, fmt, lang)
    headers = caching_headers(view, tag)
    headers["Content-Location"] = path + fmt.extension
    headers["Link"] = link_header(path)
    if not_modified(request, view, tag):
        return Response(status_code=304, headers=headers)
    body = serialise(triples, fmt, view.settings)
    return Response(body, media_type=fmt.content_type, headers=headers)
