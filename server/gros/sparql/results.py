"""Streaming writers for query results: solutions, booleans, triples and quads.

SELECT results are written by our own code, one solution at a time, because pyoxigraph can
only serialise a whole `QuerySolutions` object: it cannot stop after a row limit, so a
limited endpoint would have to either collect every row first or cut a document in the
middle. These writers stop after `limit` rows, pulling at most one solution more to learn
whether the result was truncated, and always end the document properly. Each format
follows its W3C specification (SPARQL 1.1 Query Results JSON, XML, CSV and TSV) with the
SPARQL 1.2 additions pyoxigraph produces: triple terms and directional language tags.

Graphs and datasets are written by pyoxigraph's own serialisers, which take any iterator
of triples or quads; we only put the row limit in front of them.

Output goes through a 64 KiB buffer: rows are small, pyoxigraph writes pieces of about
8 KiB, and every write to a pipe or socket is a system call.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Callable, NamedTuple

import pyoxigraph as ox

from gros.formats import Format
from gros.namespaces import ITS, SPARQL_RESULTS, XSD

CHUNK_SIZE = 64 * 1024

XSD_STRING = XSD + "string"
RESULTS_NS = SPARQL_RESULTS
ITS_NS = ITS  # carries the base direction of a literal in XML


@dataclass
class WriteStats:
    rows: int = 0  # rows (or triples, or quads) written
    truncated: bool = False  # more existed than the limit allowed


class _Buffered:
    """Gathers small writes into large ones. Offers the write/flush pair that pyoxigraph's
    serialiser calls (it needs `flush`, which a bare writable may not have)."""

    def __init__(self, out):
        self._out = out
        self._parts: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        if self._size >= CHUNK_SIZE:
            self._drain()
        return len(data)

    def text(self, text: str) -> None:
        self.write(text.encode("utf-8"))

    def flush(self) -> None:
        self._drain()

    def close(self) -> None:
        """Hand everything to `out` and flush it, if it can be flushed."""
        self._drain()
        flush = getattr(self._out, "flush", None)
        if flush is not None:
            flush()

    def _drain(self) -> None:
        if self._parts:
            self._out.write(b"".join(self._parts))
            self._parts.clear()
            self._size = 0


def _limited(items: Iterable, limit: int | None, stats: WriteStats) -> Iterator:
    """The first `limit` items; notes in `stats` whether there were more (pulling one more)."""
    for item in items:
        if limit is not None and stats.rows >= limit:
            stats.truncated = True
            return
        stats.rows += 1
        yield item


# --- JSON (https://www.w3.org/TR/sparql11-results-json/) --------------------------------

def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        found = {"type": "literal", "value": term.value}
        if term.language:
            found["xml:lang"] = term.language
            if term.direction is not None:
                found["its:dir"] = term.direction.value
        elif term.datatype.value != XSD_STRING:  # a simple literal carries no datatype
            found["datatype"] = term.datatype.value
        return found
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


def _json_row(names: list[str], solution) -> str:
    row = {}
    for name in names:
        term = solution[name]
        if term is not None:  # unbound variables are left out
            row[name] = _json_term(term)
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


# --- XML (https://www.w3.org/TR/rdf-sparql-XMLres/) -------------------------------------

# XML 1.0 cannot carry most control characters, not even as character references, so they
# become U+FFFD (visibly lost rather than silently dropped). A carriage return is written
# as a reference so that parsers do not turn it into a line feed.
_XML_ESCAPES = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;",
    **{chr(c): "\ufffd" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF]},
})


def _xml(text: str) -> str:
    return text.translate(_XML_ESCAPES)


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            attributes = f' xml:lang="{_xml(term.language)}"'
            if term.direction is not None:
                attributes += f' its:dir="{term.direction.value}" xmlns:its="{ITS_NS}" its:version="2.0"'
        elif term.datatype.value != XSD_STRING:
            attributes = f' datatype="{_xml(term.datatype.value)}"'
        else:
            attributes = ""
        return f"<literal{attributes}>{_xml(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject>"
                f"<predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"not an RDF term: {term!r}")


def _xml_head(names: list[str]) -> str:
    variables = "".join(f'<variable name="{_xml(name)}"/>' for name in names)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="{RESULTS_NS}">\n<head>{variables}</head>\n<results>\n'


def _xml_row(names: list[str], solution) -> str:
    bindings = []
    for name in names:
        term = solution[name]
        if term is not None:
            bindings.append(f'<binding name="{_xml(name)}">{_xml_term(term)}</binding>')
    return f"<result>{''.join(bindings)}</result>\n"


# --- CSV and TSV (https://www.w3.org/TR/sparql11-results-csv-tsv/) ----------------------

_CSV_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_value(term) -> str:
    """CSV gives plain strings: the IRI, the lexical form, `_:label`; nothing when unbound."""
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Triple):  # as pyoxigraph writes it: the three parts, spaced
        return " ".join(_csv_value(t) for t in (term.subject, term.predicate, term.object))
    return term.value


def _csv_field(term) -> str:
    value = _csv_value(term)
    if _CSV_NEEDS_QUOTES.search(value):  # RFC 4180: quote, and double the quotes inside
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_row(names: list[str], solution) -> str:
    return ",".join(_csv_field(solution[name]) for name in names) + "\r\n"


# TSV writes terms as in Turtle and N-Triples. Strings are escaped as canonical N-Triples
# does: the short escapes, \uXXXX for other control characters. A tab or line break in a
# value would otherwise break the table.
_TSV_ESCAPES = str.maketrans({
    **{chr(c): f"\\u{c:04X}" for c in [*range(0x00, 0x20), 0x7F]},
    "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
})

# Literals whose lexical form is a Turtle number or boolean token are written bare, as
# pyoxigraph does (`5`, `-1.5`, `1.0E3`, `true`); other forms keep their datatype.
_SHORT_FORMS = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
    XSD + "boolean": re.compile(r"true|false"),
}


def _tsv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.Literal):
        quoted = '"' + term.value.translate(_TSV_ESCAPES) + '"'
        if term.language:
            direction = f"--{term.direction.value}" if term.direction is not None else ""
            return f"{quoted}@{term.language}{direction}"
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return quoted
        short = _SHORT_FORMS.get(datatype)
        if short is not None and short.fullmatch(term.value):
            return term.value
        return f"{quoted}^^<{datatype}>"
    if isinstance(term, ox.Triple):
        return f"<<( {_tsv_term(term.subject)} {_tsv_term(term.predicate)} {_tsv_term(term.object)} )>>"
    raise TypeError(f"not an RDF term: {term!r}")


def _tsv_row(names: list[str], solution) -> str:
    return "\t".join(_tsv_term(solution[name]) for name in names) + "\n"


# --- writing -------------------------------------------------------------------------

class _Table(NamedTuple):
    head: Callable[[list[str]], str]
    row: Callable[[list[str], object], str]
    separator: str  # between rows
    foot: str


_TABLES = {
    ox.QueryResultsFormat.JSON: _Table(
        lambda names: '{"head":{"vars":' + json.dumps(names, ensure_ascii=False, separators=(",", ":")) + '},"results":{"bindings":[\n',
        _json_row, ",\n", "\n]}}\n"),
    ox.QueryResultsFormat.XML: _Table(_xml_head, _xml_row, "", "</results>\n</sparql>\n"),
    ox.QueryResultsFormat.CSV: _Table(lambda names: ",".join(names) + "\r\n", _csv_row, "", ""),
    ox.QueryResultsFormat.TSV: _Table(lambda names: "\t".join("?" + n for n in names) + "\n", _tsv_row, "", ""),
}

_BOOLEANS = {
    ox.QueryResultsFormat.JSON: lambda value: '{"head":{},"boolean":%s}\n' % value,
    ox.QueryResultsFormat.XML: lambda value: (f'<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="{RESULTS_NS}">'
                                              f"<head></head><boolean>{value}</boolean></sparql>\n"),
    # pyoxigraph writes a bare `true` or `false`, with no line end, for both.
    ox.QueryResultsFormat.CSV: lambda value: value,
    ox.QueryResultsFormat.TSV: lambda value: value,
}


def write_solutions(variables: list, solutions: Iterable, fmt: Format, out,
                    limit: int | None = None) -> WriteStats:
    """Write SELECT results to `out` (anything with `.write(bytes)`), at most `limit` rows.

    `variables` are names (str) or pyoxigraph Variables, in the order of the query.
    """
    table = _TABLES.get(fmt.oxigraph)
    if table is None:
        raise ValueError(f"{fmt.name} is not a format for query solutions")
    names = [v if isinstance(v, str) else v.value for v in variables]
    stats = WriteStats()
    buffer = _Buffered(out)
    buffer.text(table.head(names))
    for number, solution in enumerate(_limited(solutions, limit, stats)):
        row = table.row(names, solution)
        buffer.text(table.separator + row if number and table.separator else row)
    buffer.text(table.foot)
    buffer.close()
    return stats


def write_boolean(value: bool, fmt: Format, out) -> None:
    """Write an ASK result."""
    render = _BOOLEANS.get(fmt.oxigraph)
    if render is None:
        raise ValueError(f"{fmt.name} is not a format for query results")
    buffer = _Buffered(out)
    buffer.text(render("true" if value else "false"))
    buffer.close()


def write_triples(triples: Iterable[ox.Triple], fmt: Format, out, limit: int | None = None,
                  prefixes: dict[str, str] | None = None) -> WriteStats:
    """Write a graph (CONSTRUCT, DESCRIBE, a graph of the store), at most `limit` triples.

    Dataset formats (TriG, N-Quads) put the triples in the default graph.
    """
    if not isinstance(fmt.oxigraph, ox.RdfFormat):
        raise ValueError(f"{fmt.name} is not an RDF format")
    return _serialize(triples, fmt, out, limit, prefixes)


def write_quads(quads: Iterable[ox.Quad], fmt: Format, out, limit: int | None = None,
                prefixes: dict[str, str] | None = None) -> WriteStats:
    """Write a dataset, at most `limit` quads, in a format that keeps graph names."""
    if not isinstance(fmt.oxigraph, ox.RdfFormat) or not fmt.oxigraph.supports_datasets:
        raise ValueError(f"{fmt.name} cannot hold named graphs; use TriG or N-Quads")
    return _serialize(quads, fmt, out, limit, prefixes)


def _serialize(items: Iterable, fmt: Format, out, limit: int | None, prefixes) -> WriteStats:
    stats = WriteStats()
    buffer = _Buffered(out)
    ox.serialize(_limited(items, limit, stats), buffer, fmt.oxigraph, prefixes=prefixes)
    buffer.close()
    return stats
