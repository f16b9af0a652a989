"""The formats the endpoint speaks, and content negotiation over them.

A `Format` ties together what the outside world uses to name a format (a short token for
`?format=`, a media type and its older aliases, a file extension) and the pyoxigraph format
that reads or writes it. Which formats a response can take depends on what it holds:
solutions and booleans (`RESULT_FORMATS`), graphs (`GRAPH_FORMATS`) or datasets with named
graphs (`DATASET_FORMATS`); the first of each list is what a client gets when it states no
preference.

Accept headers are parsed and rated by python-mimeparse (q-values, wildcards, specificity). The
header is client input, so it is bounded and malformed parts are dropped before mimeparse
sees them: whatever Accept header a client sends, negotiation ends in a format or in `NotAcceptable`
(406), never in an unexpected exception (500).
"""
from __future__ import annotations

from dataclasses import dataclass

import mimeparse
import pyoxigraph as ox
from gros.errors import GrosError

#: Longest Accept header we look at; real browsers send a few hundred characters. The rest
#: is cut at a comma so that no half media range is parsed.
MAX_ACCEPT = 4096


@dataclass(frozen=True)
class Format:
    name: str  # the token for ?format=
    media_type: str  # what we send in Content-Type
    extension: str  # for downloads and exports, with the dot
    oxigraph: ox.QueryResultsFormat | ox.RdfFormat | None  # None: rendered by the pages module
    aliases: tuple[str, ...] = ()  # older or generic media types we accept as meaning this one
    label: str = ""  # for people: format menus and error messages

    @property
    def media_types(self) -> tuple[str, ...]:
        return (self.media_type, *self.aliases)

    @property
    def content_type(self) -> str:
        return content_type(self.media_type)


def content_type(media_type: str) -> str:
    """The Content-Type header of a response in `media_type`: the one rule of the package.

    Everything we write is UTF-8. Only text/* types take a charset parameter (without it some clients
    read them as US-ASCII or Latin-1); for the application/* types we serve the encoding is fixed by
    the format (JSON is UTF-8 by RFC 8259, which defines no charset parameter)."""
    return f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type


Q, R = ox.QueryResultsFormat, ox.RdfFormat

JSON = Format("json", "application/sparql-results+json", ".srj", Q.JSON, ("application/json",), "SPARQL results in JSON")
XML = Format("xml", "application/sparql-results+xml", ".srx", Q.XML, ("application/xml",), "SPARQL results in XML")
CSV = Format("csv", "text/csv", ".csv", Q.CSV, (), "SPARQL results in CSV")
TSV = Format("tsv", "text/tab-separated-values", ".tsv", Q.TSV, (), "SPARQL results in TSV")

TURTLE = Format("turtle", "text/turtle", ".ttl", R.TURTLE, ("application/x-turtle",), "Turtle")
NTRIPLES = Format("ntriples", "application/n-triples", ".nt", R.N_TRIPLES, (), "N-Triples")
JSONLD = Format("jsonld", "application/ld+json", ".jsonld", R.JSON_LD, (), "JSON-LD")
RDFXML = Format("rdfxml", "application/rdf+xml", ".rdf", R.RDF_XML, (), "RDF/XML")
TRIG = Format("trig", "application/trig", ".trig", R.TRIG, ("application/x-trig",), "TriG")
NQUADS = Format("nquads", "application/n-quads", ".nq", R.N_QUADS, ("text/x-nquads",), "N-Quads")

HTML = Format("html", "text/html", ".html", None, ("application/xhtml+xml",), "HTML")

#: SELECT and ASK results; JSON is the default.
RESULT_FORMATS = [JSON, XML, CSV, TSV]
#: CONSTRUCT and DESCRIBE results and single graphs; Turtle is the default. TriG and
#: N-Quads are offered too: a graph is a dataset with only a default graph.
GRAPH_FORMATS = [TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS]
#: Responses where named graphs matter (whole-store dumps).
DATASET_FORMATS = [TRIG, NQUADS]

ALL_FORMATS = [*RESULT_FORMATS, *GRAPH_FORMATS, HTML]


class FormatError(GrosError, ValueError):
    """A request names or accepts no format we can use; the message says which would work."""

    status = 400
    exit_code = 2


class NotAcceptable(FormatError):
    """None of the offered formats is acceptable to the client (HTTP 406)."""

    status = 406
    exit_code = 2

    def __init__(self, offered: list[Format], asked: str | None = None):
        self.offered = list(offered)
        self.asked = asked
        what = f"format {asked!r} is not available here" if asked else "no acceptable format"
        super().__init__(f"{what}; this response is available as {_listing(self.offered)}")


class UnknownFormat(FormatError):
    """`?format=` names no format we know (HTTP 400)."""

    status = 400
    exit_code = 2

    def __init__(self, value: str, offered: list[Format]):
        self.value = value
        self.offered = list(offered)
        super().__init__(f"unknown format {value!r}; use one of {_listing(self.offered)}")


class UnsupportedMediaType(FormatError):
    """A request body is in a format we do not read (HTTP 415)."""

    status = 415
    exit_code = 2

    def __init__(self, accepted: list[Format], content_type: str | None = None):
        self.accepted = list(accepted)
        self.content_type = content_type
        what = f"cannot read a body of type {content_type!r}" if content_type else "the request body has no Content-Type"
        super().__init__(f"{what}; send one of {', '.join(f.media_type for f in self.accepted)}")


def _listing(formats: list[Format]) -> str:
    return (", ".join(f.media_type for f in formats)
            + f" (or ?format={'|'.join(f.name for f in formats)})")


def lookup(value: str, among: list[Format] = ALL_FORMATS) -> Format | None:
    """The format a short name, an extension or a media type (parameters ignored) stands for."""
    token = value.split(";", 1)[0].strip().lower()
    for fmt in among:
        if token in (fmt.name, fmt.extension[1:]) or token in fmt.media_types:
            return fmt
    return None


def negotiate(accept: str | None, offered: list[Format], format_param: str | None = None) -> Format:
    """The format to answer in.

    `format_param` (the `?format=` value: a name or a media type) wins over the Accept
    header, so that a link can choose the format. Without either, or with an Accept header
    that has no usable media range, the client gets the first offered format. q=0 excludes
    a format; on ties the earlier offered format wins.
    """
    if not offered:
        raise ValueError("negotiate() needs at least one offered format")
    if format_param and format_param.strip():
        fmt = lookup(format_param)
        if fmt is None:
            raise UnknownFormat(format_param, offered)
        if fmt not in offered:
            raise NotAcceptable(offered, asked=format_param)
        return fmt

    ranges = _media_ranges(accept)
    if not ranges:
        return offered[0]
    chosen, best = None, (0.0, -1.0)
    for fmt in offered:  # strictly better only: on ties the earlier offered format wins
        score = _score(fmt, ranges)
        if score[0] > 0 and score > best:
            chosen, best = fmt, score
    if chosen is None:
        raise NotAcceptable(offered)
    return chosen


#: mimeparse's fitness of a range that names type and subtype (no wildcard): 100 + 10 + q.
_EXACT = 110


def _score(fmt: Format, ranges: list[tuple]) -> tuple[float, float]:
    """(q, fitness) of a format: as mimeparse rates its media type, or an alias the client
    names explicitly. Aliases do not match wildcards: with mimeparse.best_match over every
    media type, `application/sparql-results+json;q=0, */*` would still choose JSON through
    application/json, and `application/*` would choose Turtle through application/x-turtle."""
    q, fitness = mimeparse.quality_and_fitness_parsed(fmt.media_type, ranges)
    for alias in fmt.aliases:
        alias_q, alias_fitness = mimeparse.quality_and_fitness_parsed(alias, ranges)
        if alias_fitness >= _EXACT and alias_fitness > fitness:
            q, fitness = alias_q, alias_fitness
    return q, fitness


def _media_ranges(accept: str | None) -> list[tuple]:
    """The well-formed media ranges of an Accept header, lower-cased and parsed by mimeparse;
    the rest is dropped."""
    if not accept:
        return []
    if len(accept) > MAX_ACCEPT:
        accept = accept[:MAX_ACCEPT].rsplit(",", 1)[0]
    ranges = []
    for part in accept.lower().split(","):
        if not part.strip():
            continue
        try:
            kind, subtype, parameters = mimeparse.parse_media_range(part)
        except ValueError:  # mimeparse.MimeTypeParseException: no "/" or too many
            continue
        if kind and subtype:
            ranges.append((kind, subtype, parameters))
    return ranges


def for_upload(content_type: str | None, accepted: list[Format] = GRAPH_FORMATS) -> Format:
    """The format of a request body from its Content-Type; parameters such as charset are
    ignored (every RDF syntax we read is UTF-8)."""
    media_type = (content_type or "")[:MAX_ACCEPT].split(";", 1)[0].strip().lower()
    for fmt in accepted:
        if media_type in fmt.media_types:
            return fmt
    raise UnsupportedMediaType(accepted, content_type)
