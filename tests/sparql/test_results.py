"""Streaming result writers: each format read back by an independent parser gives the same terms."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import pyoxigraph as ox
import pytest

from gros.formats import (CSV, DATASET_FORMATS, GRAPH_FORMATS, JSON, JSONLD, NQUADS, RESULT_FORMATS, TRIG,
                          TSV, TURTLE, XML)
from gros.sparql.results import CHUNK_SIZE, write_boolean, write_quads, write_solutions, write_triples

XSD = "http://www.w3.org/2001/XMLSchema#"
SR = "{http://www.w3.org/2005/sparql-results#}"
EX = "http://example.org/"

DATA = r'''
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:iri ex:value ex:other .
ex:nl ex:value "Grensoverschrijdende samenwerking"@nl .
ex:de ex:value "Grenzüberschreitende Zusammenarbeit"@de-DE .
ex:int ex:value 42 .
ex:dec ex:value -1.50 .
ex:dbl ex:value "1.0E3"^^xsd:double .
ex:bool ex:value false .
ex:date ex:value "2012-04-13"^^xsd:date .
ex:badint ex:value "forty"^^xsd:integer .
ex:bnode ex:value _:b1 .
ex:quote ex:value "he said \"hoi\", then left" .
ex:lines ex:value "first line\nsecond line\r\nthird\ttabbed" .
ex:markup ex:value "<b>a & b</b> > c ]]> 'x'" .
ex:unicode ex:value "Maas–Rijn, 日本, 😀, é" .
ex:backslash ex:value "C:\\path\\to" .
ex:empty ex:value "" .
ex:unbound ex:label "has no value" .
'''

QUERY = f"SELECT ?s ?value ?missing WHERE {{ ?s ?p ?o OPTIONAL {{ ?s <{EX}value> ?value }} }} ORDER BY ?s"


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    store.load(DATA, format=ox.RdfFormat.TURTLE)
    return store


def expected_rows(store, query=QUERY):
    solutions = store.query(query)
    names = [v.value for v in solutions.variables]
    return names, [tuple(solution[n] for n in names) for solution in solutions]


def written(store, fmt, query=QUERY, limit=None):
    solutions = store.query(query)
    out = io.BytesIO()
    stats = write_solutions(solutions.variables, solutions, fmt, out, limit=limit)
    return out.getvalue(), stats


def parsed_back(data, fmt):
    solutions = ox.parse_query_results(data, fmt.oxigraph)
    names = [v.value for v in solutions.variables]
    return names, [tuple(solution[n] for n in names) for solution in solutions]


def csv_value(term):
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return term.value


# --- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [JSON, XML, TSV], ids=lambda f: f.name)
def test_round_trip_through_pyoxigraph(store, fmt):
    data, stats = written(store, fmt)
    names, rows = expected_rows(store)
    assert stats.rows == len(rows) == 17 and not stats.truncated
    assert parsed_back(data, fmt) == (names, rows)


@pytest.mark.parametrize("fmt", [JSON, XML, TSV], ids=lambda f: f.name)
def test_same_results_as_pyoxigraphs_own_serialiser(store, fmt):
    ours, _ = written(store, fmt)
    theirs = store.query(QUERY).serialize(format=fmt.oxigraph)
    assert parsed_back(ours, fmt) == parsed_back(theirs, fmt)


def test_csv_round_trip(store):
    data, stats = written(store, CSV)
    names, rows = expected_rows(store)
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert records[0] == names
    assert records[1:] == [[csv_value(t) for t in row] for row in rows]
    theirs = store.query(QUERY).serialize(format=ox.QueryResultsFormat.CSV).decode("utf-8")
    assert records == list(csv.reader(io.StringIO(theirs, newline="")))


def test_csv_quotes_and_line_ends_follow_rfc_4180(store):
    data, _ = written(store, CSV)
    assert data.startswith(b"s,value,missing\r\n") and data.endswith(b"\r\n")
    assert b'"he said ""hoi"", then left"' in data
    assert b'"first line\nsecond line\r\nthird\ttabbed"' in data
    assert b"http://example.org/int,42,\r\n" in data  # plain values, unbound is empty
    assert data.count(b"\r\n") == 1 + 17 + 1  # header, rows, and the CRLF inside one quoted value
    assert data.count(b"\n") == 1 + 17 + 2


def test_json_structure(store):
    data, _ = written(store, JSON)
    document = json.loads(data)
    assert document["head"] == {"vars": ["s", "value", "missing"]}
    bindings = {b["s"]["value"]: b for b in document["results"]["bindings"]}
    assert bindings[EX + "iri"]["value"] == {"type": "uri", "value": EX + "other"}
    assert bindings[EX + "nl"]["value"] == {"type": "literal", "value": "Grensoverschrijdende samenwerking",
                                            "xml:lang": "nl"}
    assert bindings[EX + "int"]["value"] == {"type": "literal", "value": "42", "datatype": XSD + "integer"}
    assert bindings[EX + "quote"]["value"] == {"type": "literal", "value": 'he said "hoi", then left'}  # no xsd:string
    assert bindings[EX + "bnode"]["value"]["type"] == "bnode"
    assert "value" not in bindings[EX + "unbound"] and all("missing" not in b for b in bindings.values())
    assert "😀".encode() in data  # UTF-8, not \u escapes


def test_xml_structure(store):
    data, _ = written(store, XML)
    root = ET.fromstring(data)
    assert root.tag == SR + "sparql"
    assert [v.get("name") for v in root.iter(SR + "variable")] == ["s", "value", "missing"]
    literals = {lit.text or "": lit for lit in root.iter(SR + "literal")}
    assert "first line\nsecond line\r\nthird\ttabbed" in literals  # CR kept as &#13;
    assert "<b>a & b</b> > c ]]> 'x'" in literals
    assert literals["Grenzüberschreitende Zusammenarbeit"].get("{http://www.w3.org/XML/1998/namespace}lang") == "de-de"
    assert literals["42"].get("datatype") == XSD + "integer"
    assert literals["C:\\path\\to"].attrib == {}
    assert not any(b.get("name") == "missing" for b in root.iter(SR + "binding"))


def test_tsv_terms_are_written_as_in_turtle(store):
    data, _ = written(store, TSV)
    lines = data.decode("utf-8").split("\n")
    assert lines[0] == "?s\t?value\t?missing" and lines[-1] == ""
    assert f"<{EX}int>\t42\t" in lines
    assert f"<{EX}lines>\t\"first line\\nsecond line\\r\\nthird\\ttabbed\"\t" in lines
    assert f'<{EX}nl>\t"Grensoverschrijdende samenwerking"@nl\t' in lines
    assert f'<{EX}date>\t"2012-04-13"^^<{XSD}date>\t' in lines
    assert f'<{EX}badint>\t"forty"^^<{XSD}integer>\t' in lines
    assert all(line.count("\t") == 2 for line in lines[:-1])


# --- terms made by hand: number forms, control characters, SPARQL 1.2 ----------------------

def hand_written(fmt, rows, names=("x",)):
    out = io.BytesIO()
    write_solutions(list(names), [dict(zip(names, row)) for row in rows], fmt, out)
    return out.getvalue()


def test_tsv_writes_turtle_number_tokens_bare_and_others_typed():
    def lit(value, datatype):
        return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))
    terms = [lit("5", "integer"), lit("+05", "integer"), lit("-1.5", "decimal"), lit(".5", "decimal"),
             lit("1.0E3", "double"), lit("1e-3", "double"), lit("true", "boolean"),
             lit("5", "decimal"), lit("1000", "double"), lit("INF", "double"), lit("5.", "decimal"),
             lit("1", "boolean"), lit("5", "int")]
    lines = hand_written(TSV, [(t,) for t in terms]).decode().split("\n")[1:-1]
    assert lines[:7] == ["5", "+05", "-1.5", ".5", "1.0E3", "1e-3", "true"]
    assert lines[7:] == [f'"{t.value}"^^<{t.datatype.value}>' for t in terms[7:]]
    assert parsed_back(hand_written(TSV, [(t,) for t in terms]), TSV)[1] == [(t,) for t in terms]


def test_control_characters():
    text = "bell\x07 nul\x00 esc\x1b del\x7f bs\b ff\f"
    rows = [(ox.Literal(text),)]
    for fmt in (JSON, TSV):
        assert parsed_back(hand_written(fmt, rows), fmt)[1] == rows
    assert list(csv.reader(io.StringIO(hand_written(CSV, rows).decode(), newline="")))[1] == [text]
    # XML 1.0 cannot carry them at all: each becomes U+FFFD, and the document stays well-formed
    lost = ET.fromstring(hand_written(XML, rows)).find(f".//{SR}literal").text
    assert lost == "bell\ufffd nul\ufffd esc\ufffd del\x7f bs\ufffd ff\ufffd"


def test_triple_terms_and_base_direction():
    t = ox.Triple(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("o", language="en"))
    rtl = ox.Literal("مرحبا", language="ar", direction=ox.BaseDirection.RTL)
    rows = [(ox.Triple(ox.BlankNode("b"), ox.NamedNode(EX + "q"), t), rtl)]
    for fmt in (JSON, XML, TSV):
        assert parsed_back(hand_written(fmt, rows, ("t", "d")), fmt)[1] == rows, fmt.name
    assert json.loads(hand_written(JSON, rows, ("t", "d")))["results"]["bindings"][0]["d"]["its:dir"] == "rtl"
    assert f"_:b {EX}q {EX}s {EX}p o,مرحبا" in hand_written(CSV, rows, ("t", "d")).decode()


@pytest.mark.parametrize("fmt", RESULT_FORMATS, ids=lambda f: f.name)
def test_no_variables_and_no_rows(store, fmt):
    for query in ("SELECT * {}", "SELECT ?x { FILTER(false) }"):
        ours, stats = written(store, fmt, query)
        theirs = store.query(query).serialize(format=fmt.oxigraph)
        if fmt is CSV:
            assert ours == theirs
        else:
            assert parsed_back(ours, fmt) == parsed_back(theirs, fmt)


def test_variables_may_be_given_as_strings(store):
    solutions = store.query(QUERY)
    out = io.BytesIO()
    write_solutions(["value", "s"], solutions, TSV, out, limit=1)
    assert out.getvalue() == b'?value\t?s\n"C:\\\\path\\\\to"\t<http://example.org/backslash>\n'


# --- row limit ---------------------------------------------------------------------------

class Counting:
    """An iterator that counts how many items were taken from it."""

    def __init__(self, items):
        self.items, self.taken = iter(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.items)
        self.taken += 1
        return item


@pytest.mark.parametrize("fmt", RESULT_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("limit, rows, truncated", [(3, 3, True), (0, 0, True), (10, 10, False), (11, 10, False),
                                                    (None, 10, False)])
def test_row_limit(store, fmt, limit, rows, truncated):
    solutions = store.query("SELECT ?n { VALUES ?n { 1 2 3 4 5 6 7 8 9 10 } }")
    source = Counting(solutions)
    out = io.BytesIO()
    stats = write_solutions(solutions.variables, source, fmt, out, limit=limit)
    assert (stats.rows, stats.truncated) == (rows, truncated)
    assert source.taken == min(10, rows + 1)  # never more than limit + 1
    if fmt is CSV:
        assert out.getvalue().count(b"\r\n") == rows + 1
    else:  # the document is complete however early it stopped
        assert len(parsed_back(out.getvalue(), fmt)[1]) == rows


# --- ASK ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", RESULT_FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize("value", [True, False])
def test_ask(store, fmt, value):
    out = io.BytesIO()
    write_boolean(value, fmt, out)
    data = out.getvalue()
    if fmt is JSON:
        assert json.loads(data) == {"head": {}, "boolean": value}
    if fmt is XML:
        assert ET.fromstring(data).find(SR + "boolean").text == str(value).lower()
    if fmt in (CSV, TSV):  # as pyoxigraph writes them
        assert data == store.query(f"ASK {{ FILTER({str(value).lower()}) }}").serialize(format=fmt.oxigraph)
    if fmt is not CSV:  # pyoxigraph has no CSV parser
        assert bool(ox.parse_query_results(data, fmt.oxigraph)) is value


# --- graphs and datasets -----------------------------------------------------------------

def canonical(quads):
    dataset = ox.Dataset(q if isinstance(q, ox.Quad) else ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return set(dataset)


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_graph_formats_parse_back(store, fmt):
    construct = "CONSTRUCT WHERE { ?s ?p ?o }"
    out = io.BytesIO()
    stats = write_triples(store.query(construct), fmt, out, prefixes={"ex": EX})
    assert stats.rows == 17 and not stats.truncated
    assert canonical(ox.parse(out.getvalue(), fmt.oxigraph)) == canonical(store.query(construct))


@pytest.mark.parametrize("fmt", [TURTLE, JSONLD, NQUADS], ids=lambda f: f.name)
def test_graph_limit(store, fmt):
    source = Counting(store.query("CONSTRUCT WHERE { ?s ?p ?o }"))
    out = io.BytesIO()
    stats = write_triples(source, fmt, out, limit=5)
    assert (stats.rows, stats.truncated, source.taken) == (5, True, 6)
    assert len(list(ox.parse(out.getvalue(), fmt.oxigraph))) == 5


@pytest.mark.parametrize("fmt", DATASET_FORMATS, ids=lambda f: f.name)
def test_dataset_formats_keep_graph_names(fmt):
    quads = [ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal(str(n)), ox.NamedNode(EX + f"g{n % 2}"))
             for n in range(6)]
    quads.append(ox.Quad(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.BlankNode("b"), ox.DefaultGraph()))
    out = io.BytesIO()
    assert write_quads(iter(quads), fmt, out).rows == 7
    assert canonical(ox.parse(out.getvalue(), fmt.oxigraph)) == canonical(quads)
    limited = io.BytesIO()
    assert write_quads(quads, fmt, limited, limit=2).truncated
    assert len(list(ox.parse(limited.getvalue(), fmt.oxigraph))) == 2


def test_writers_refuse_formats_of_the_wrong_kind():
    with pytest.raises(ValueError):
        write_solutions(["x"], [], TURTLE, io.BytesIO())
    with pytest.raises(ValueError):
        write_boolean(True, TRIG, io.BytesIO())
    with pytest.raises(ValueError):
        write_triples([], JSON, io.BytesIO())
    with pytest.raises(ValueError):  # Turtle would lose the graph names
        write_quads([], TURTLE, io.BytesIO())


# --- output in large chunks, to anything with write() ----------------------------------------

class WriteOnly:
    """Has write() and nothing else (no flush), and records the size of every write."""

    def __init__(self):
        self.sizes, self.data = [], bytearray()

    def write(self, data):
        self.sizes.append(len(data))
        self.data += data


def test_solutions_are_written_in_large_chunks():
    names = ["s", "o"]
    rows = ({"s": ox.NamedNode(f"{EX}s{n}"), "o": ox.Literal(f"value {n}")} for n in range(20_000))
    out = WriteOnly()
    write_solutions(names, rows, JSON, out)
    assert len(out.data) > 4 * CHUNK_SIZE
    assert all(size >= CHUNK_SIZE for size in out.sizes[:-1]) and len(out.sizes) <= len(out.data) // CHUNK_SIZE + 1
    assert len(json.loads(out.data)["results"]["bindings"]) == 20_000


def test_triples_are_written_in_large_chunks_without_flush():
    triples = (ox.Triple(ox.NamedNode(f"{EX}s{n}"), ox.NamedNode(EX + "p"), ox.Literal(f"v{n}")) for n in range(20_000))
    out = WriteOnly()  # pyoxigraph itself needs flush(); the buffer supplies it
    write_triples(triples, TURTLE, out)
    assert all(size >= CHUNK_SIZE for size in out.sizes[:-1]) and len(out.sizes) <= len(out.data) // CHUNK_SIZE + 1
    assert len(list(ox.parse(bytes(out.data), ox.RdfFormat.TURTLE))) == 20_000
