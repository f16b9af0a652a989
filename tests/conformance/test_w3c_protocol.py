"""The W3C SPARQL 1.1 Protocol test suite (tests/w3c/protocol/manifest.ttl) against `gros serve`.

The manifest drives the tests: there is one test per manifest entry, and an entry without an
implementation in IMPLEMENTATIONS fails. Each implementation replays the HTTP exchange the
entry describes (its `ht:Request`s) against the session `server`, and asserts what the entry's
`ht:Response` says: the status class, the format of the results ("boolean", "tabular", "RDF",
with the media types its mf:name lists) and the boolean.

How the suite maps onto this service (each implementation's docstring says which apply):

- `/sparql/` in the manifest is our `/sparql`.
- Updates need `Authorization: Bearer <token>` here (DESIGN.md); the runner adds the token to
  every update request, the refused ones included, so that a 4xx is about what the test sends
  and not about the token.
- Our default graph is the union of all graphs (sd:UnionDefaultGraph). Where a test's answer
  depends on what the default graph holds, the test pins the dataset with the protocol
  parameters it already carries (default-graph-uri / using-graph-uri); where it loads
  data1.nt … data3.nt (ut:graphData), the runner PUTs them into fresh graphs through the Graph
  Store and maps the test's graph names (http://kasei.us/…/dataN.rdf) onto those graphs, in
  the dataset parameters and FROM clauses only (the same IRIs as *subjects* in the data and
  the queries stay as they are). The fresh graphs are deleted afterwards.
- Graphs loaded from the content files and the bookkeeping graph cannot be changed at run
  time (DESIGN.md: "runtime updates live in the store's other graphs"), so `CLEAR ALL` and
  `DROP ALL` are refused with 403. The update_dataset_* tests use them only to start from an
  empty store; the runner drops the graphs the update names instead. update_post_form and
  update_post_direct send nothing but `CLEAR ALL`; they are kept verbatim and marked as a
  known deviation.

Known bugs and deviations are `xfail(raises=KnownDeviation, strict=True)`: the implementation
raises KnownDeviation only when the server answers the way the reason describes, so any other
failure still fails, and a fix shows up as an XPASS that fails until the marker goes.

After the manifest tests, a few `test_control_*` tests (not in the manifest) check the dataset
rules that the suite's ASK queries cannot see on a union-default-graph store.
"""
from __future__ import annotations

import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import httpx
import pytest
from rdflib import Graph, Literal, URIRef

from server_fixture import GRAPH_BASE, auth
from w3c_manifest import (Entry, KnownDeviation, check_status, load, media_type, send, split_path,
                          store_left_as_found)  # noqa: F401 (autouse fixture)

ENTRIES = load("protocol")
SUITE_SIZE = 34  # mf:ProtocolTest entries in the manifest (tests/w3c/protocol/README.md)

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
#: mf:expectedFormat -> the media types the entries' mf:name lists for it.
FORMATS = {
    "boolean": {JSON, XML},
    "tabular": {JSON, XML, CSV, TSV},
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples", "text/html", "application/xhtml+xml"},
}
RDFLIB_FORMATS = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/n-triples": "nt",
                  "text/html": "html", "application/xhtml+xml": "html"}
GRAPH_PARAMETERS = {"default-graph-uri", "named-graph-uri", "using-graph-uri", "using-named-graph-uri"}
FROM_CLAUSE = re.compile(r"(\bFROM\s+(?:NAMED\s+)?)<([^>]*)>", re.IGNORECASE)
GRAPH_CLAUSE = re.compile(r"\bGRAPH\s*<([^>]*)>", re.IGNORECASE)
CLEAR_ALL = re.compile(r"\b(?:CLEAR|DROP)\s+ALL\s*;", re.IGNORECASE)


# --- the exchange of one test ---------------------------------------------------------------------

@dataclass
class Known:
    """A known bug or deliberate deviation, and how it shows in the answer."""
    reason: str
    status: int | None = None  # it shows as this status code ...
    texts: tuple[str, ...] = ()  # ... with one of these texts in the body,
    wrong_answer: bool = False  # or as the manifest's ASK answering the other boolean


class Exchange:
    """One manifest entry being run: sends its requests, maps graph names, cleans up after."""

    def __init__(self, http: httpx.Client, server, entry: Entry, known: Known | None = None):
        self.http, self.server, self.entry, self.known = http, server, entry, known
        self.graphs: dict[str, str] = {}  # the test's graph name -> the fresh graph holding its data
        self.to_drop: set[str] = set()

    # setup and teardown
    def load_graph_data(self) -> None:
        """PUT each ut:graphData file into a fresh graph (the SHACL gate checks it like any upload)."""
        for file, name in self.entry.graph_data:
            fresh = f"{GRAPH_BASE}test-w3c-{uuid.uuid4().hex[:12]}-{file.stem}"
            response = self.http.put("/rdf-graphs", params={"graph": fresh}, content=file.read_bytes(),
                                     headers={"Content-Type": "application/n-triples", **auth(self.server.token)})
            assert response.status_code == 201, (f"loading {file.name} into <{fresh}> through the Graph Store "
                                                 f"was refused: {response.status_code} {response.text}")
            self.graphs[name] = fresh
            self.to_drop.add(fresh)

    def drop(self, graphs) -> None:
        """Delete the graphs through the Graph Store (DELETE removes a graph; SPARQL DROP here leaves
        it behind, empty: see test_w3c_graph_store.py::test_control_sparql_drop_removes_the_graph)."""
        for graph in sorted(set(graphs)):
            response = self.http.delete("/rdf-graphs", params={"graph": graph}, headers=auth(self.server.token))
            assert response.status_code in (204, 404), f"cleaning up <{graph}>: {response.status_code} {response.text}"

    def close(self) -> None:
        self.drop(self.to_drop)

    # requests
    def params(self, index: int) -> list[tuple[str, str]]:
        """The request's URL parameters, with the test's graph names mapped onto the loaded graphs."""
        params = split_path(self.entry.requests[index].path, "/sparql/")
        return [(k, self.graphs.get(v, v) if k in GRAPH_PARAMETERS else v) for k, v in params]

    def text(self, index: int) -> str | None:
        """The request body, with FROM / FROM NAMED graph names mapped onto the loaded graphs."""
        text = self.entry.requests[index].text
        if text is None or not self.graphs:
            return text
        return FROM_CLAUSE.sub(lambda m: f"{m.group(1)}<{self.graphs.get(m.group(2), m.group(2))}>", text)

    def send(self, index: int, *, text: str | None = None, token: bool = False) -> httpx.Response:
        """Send request `index`, with `text` as its body if given, and check its status against the manifest."""
        request = self.entry.requests[index]
        text = self.text(index) if text is None else text
        body = None if text is None else text.encode(request.encoding)
        response = send(self.http, request, "/sparql", self.params(index), body=body,
                        token=self.server.token if token else None)
        known = (self.known.status, self.known.texts) if self.known and self.known.status else None
        check_status(response, request.expected, known, what=f"{self.entry.name} request {index + 1}: ")
        return response

    def run(self, index: int = 0, **kwargs) -> tuple[httpx.Response, object]:
        """Send request `index`, check the results' format and boolean as the manifest says, and
        return the response with what its body parsed to (boolean, rows or graph)."""
        response = self.send(index, **kwargs)
        wrong_answer_is_known = bool(self.known and self.known.wrong_answer)
        return response, check_results(response, self.entry.requests[index].expected, wrong_answer_is_known)


def check_results(response: httpx.Response, expected, wrong_answer_is_known: bool = False) -> object:
    """Assert the response body has the expected format (and boolean); return what it parsed to."""
    if expected.format is None:
        return None
    kind = media_type(response.headers.get("content-type"))[0]
    assert kind in FORMATS[expected.format], (
        f"a {expected.format!r} result came as {kind!r}; "
        f"the manifest expects one of {sorted(FORMATS[expected.format])}")
    if expected.format == "boolean":
        value = boolean(response, kind)
        if expected.boolean is not None and value is not expected.boolean:
            message = f"the ASK answered {value}, the manifest expects {expected.boolean}"
            raise (KnownDeviation if wrong_answer_is_known else AssertionError)(message)
        return value
    if expected.format == "tabular":
        return rows(response, kind)
    graph = Graph()
    graph.parse(data=response.text, format=RDFLIB_FORMATS[kind], publicID=str(response.request.url))
    return graph


def boolean(response: httpx.Response, kind: str) -> bool:
    if kind == JSON:
        body = response.json()
        assert isinstance(body.get("boolean"), bool), body
        return body["boolean"]
    element = ET.fromstring(response.content).find(f"{RESULTS_NS}boolean")
    assert element is not None and element.text in ("true", "false"), response.text
    return element.text == "true"


def rows(response: httpx.Response, kind: str) -> list[dict[str, str]]:
    if kind == JSON:
        return [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]
    if kind == XML:
        root = ET.fromstring(response.content)
        return [{b.get("name"): "".join(b.itertext()) for b in r.findall(f"{RESULTS_NS}binding")}
                for r in root.iter(f"{RESULTS_NS}result")]
    if kind == CSV:
        return list(csv.DictReader(io.StringIO(response.text)))
    lines = response.text.splitlines()
    names = [n.lstrip("?") for n in lines[0].split("\t")]
    return [dict(zip(names, line.split("\t"))) for line in lines[1:]]


def check_not_refused_for_access(response: httpx.Response) -> None:
    """A bad update must be refused for what is wrong with it: 401/403 would be the token or the
    protected graphs speaking (every bad update in the suite would also touch those graphs)."""
    assert response.status_code not in (401, 403), (
        f"the update was refused with {response.status_code}, not for the protocol error the test sends: "
        f"{response.text}")


def adapt_clear_all(text: str) -> tuple[str, list[str]]:
    """The update with `CLEAR ALL ;` / `DROP ALL ;` replaced by dropping only the graphs it names."""
    graphs = sorted(set(GRAPH_CLAUSE.findall(text)))
    drops = "".join(f"DROP SILENT GRAPH <{g}> ;\n" for g in graphs)
    adapted, count = CLEAR_ALL.subn(drops, text)
    assert count == 1, f"expected one CLEAR ALL / DROP ALL in the update, found {count}:\n{text}"
    return adapted, graphs


# --- implementations, one per manifest entry --------------------------------------------------------

def query_post_form(x: Exchange):
    """ASK {} as an URL-encoded POST body (default-graph-uri names a graph we do not have: ASK {} is true anyway)."""
    x.run()


def query_get(x: Exchange):
    """ASK {} in ?query= on a GET."""
    x.run()


def query_post_direct(x: Exchange):
    """ASK {} as an application/sparql-query body."""
    x.run()


def query_dataset_default_graphs_get(x: Exchange):
    """Two default-graph-uri parameters: their merge is the default graph, so both documents are in it.

    Union default graph: the parameters replace our union, so the answer comes from the two loaded
    graphs only (test_control_default_graph_uri_pins_the_default_graph shows that one of them alone is not enough).
    """
    x.load_graph_data()
    x.run()


def query_dataset_default_graphs_post(x: Exchange):
    """As query_dataset_default_graphs_get, with the query as an application/sparql-query body."""
    x.load_graph_data()
    x.run()


def query_dataset_named_graphs_post(x: Exchange):
    """Two named-graph-uri parameters: GRAPH ?g finds each document in its own named graph."""
    x.load_graph_data()
    x.run()


def query_dataset_named_graphs_get(x: Exchange):
    """As query_dataset_named_graphs_post, with the query in ?query= on a GET."""
    x.load_graph_data()
    x.run()


def query_dataset_full(x: Exchange):
    """default-graph-uri data3 and named-graph-uri data1, data2: data3 in the default graph, the others named."""
    x.load_graph_data()
    x.run()


def query_multiple_dataset(x: Exchange):
    """The query says FROM data3, the protocol says named-graph-uri data1, data2: the protocol's dataset wins.

    The FROM clause's graph name is mapped onto the loaded data3 graph like the parameters are. Had the
    server used the query's dataset (FROM data3, no named graphs), GRAPH ?g would find nothing.
    """
    x.load_graph_data()
    x.run()


def query_content_type_select(x: Exchange):
    """SELECT (1 AS ?value) {}: a tabular result (XML, JSON, CSV or TSV) with one row, ?value = 1."""
    response, table = x.run()
    assert table == [{"value": "1"}], response.text


def query_content_type_ask(x: Exchange):
    """ASK {}: a boolean result (XML or JSON)."""
    x.run()


def query_content_type_describe(x: Exchange):
    """DESCRIBE <http://example.org/>: an RDF graph (RDF/XML, Turtle, N-Triples or RDFa); here it is empty."""
    x.run()


def query_content_type_construct(x: Exchange):
    """CONSTRUCT { <s> <p> 1 } WHERE {}: an RDF graph of one triple, its relative IRIs resolved against
    the service's base IRI (Protocol: the service defines the base; it may be the endpoint)."""
    response, graph = x.run()
    assert len(graph) == 1, response.text
    (s, p, o), = graph
    assert isinstance(s, URIRef) and str(s).endswith("s"), response.text
    assert isinstance(p, URIRef) and str(p).endswith("p"), response.text
    assert o == Literal(1), response.text


def _update_then_ask(x: Exchange):
    """Run the update (CLEAR ALL / DROP ALL replaced, see the module docstring), then the manifest's ASK."""
    adapted, graphs = adapt_clear_all(x.entry.requests[0].text)
    x.to_drop.update(graphs)  # deleted when the test ends, whatever happens
    x.send(0, text=adapted, token=True)
    x.run(1)


def update_dataset_default_graph(x: Exchange):
    """using-graph-uri data1: the WHERE clause reads data1 as its default graph, so data1's document is
    copied into the result graph as a dc:BibliographicResource. (CLEAR ALL: see the module docstring.)"""
    _update_then_ask(x)


def update_dataset_default_graphs(x: Exchange):
    """using-graph-uri data1 and data2: both documents are copied, data3's is not (it is only in the
    union, which the parameters replace). (DROP ALL: see the module docstring.)"""
    _update_then_ask(x)


def update_dataset_named_graphs(x: Exchange):
    """using-named-graph-uri data1 and data2: GRAPH ?g in the WHERE clause ranges over those two only,
    so data3's document is not copied. (DROP ALL: see the module docstring.)"""
    _update_then_ask(x)


def update_dataset_full(x: Exchange):
    """using-graph-uri data1 and using-named-graph-uri data2: data1's document is found in the default
    graph ("default"), data2's in the named graph data2, and data3's nowhere. (DROP ALL: see the module docstring.)"""
    _update_then_ask(x)


def update_post_form(x: Exchange):
    """update=CLEAR+ALL as an URL-encoded POST body, sent verbatim (with the token)."""
    x.send(0, token=True)


def update_post_direct(x: Exchange):
    """CLEAR ALL as an application/sparql-update body, sent verbatim (with the token)."""
    x.send(0, token=True)


def update_base_uri(x: Exchange):
    """INSERT DATA with the relative IRI <test>: the service resolves it against its base IRI, so the
    stored object is an IRI other than "test". Sent verbatim (with the token)."""
    graph = "http://example.org/protocol-base-test/"
    x.to_drop.add(graph)
    x.send(0, token=True)
    x.run(1)


def bad_query_method(x: Exchange):
    """A query with PUT: 4xx."""
    x.send(0)


def bad_multiple_queries(x: Exchange):
    """Two query= parameters: 4xx."""
    x.send(0)


def bad_query_wrong_media_type(x: Exchange):
    """A query POSTed as text/plain: 4xx."""
    x.send(0)


def bad_query_missing_form_type(x: Exchange):
    """query=… POSTed without a Content-Type: 4xx."""
    x.send(0)


def bad_query_missing_direct_type(x: Exchange):
    """A query POSTed as the body without a Content-Type: 4xx."""
    x.send(0)


def bad_query_non_utf8(x: Exchange):
    """A query body in UTF-16 (charset=UTF-16): 4xx."""
    x.send(0)


def bad_query_syntax(x: Exchange):
    """ASK { (unterminated): 4xx."""
    x.send(0)


def bad_update_get(x: Exchange):
    """update=CLEAR ALL on a GET: 4xx, and not the token's 401/403 (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_multiple_updates(x: Exchange):
    """Two update= parameters in one form: 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_update_wrong_media_type(x: Exchange):
    """An update POSTed as text/plain: 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_update_missing_form_type(x: Exchange):
    """update=… POSTed without a Content-Type: 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_update_non_utf8(x: Exchange):
    """An update body in UTF-16 (charset=UTF-16): 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_update_syntax(x: Exchange):
    """CLEAR XYZ: 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


def bad_update_dataset_conflict(x: Exchange):
    """using-named-graph-uri together with WITH in the update: 4xx for that reason (the token is sent)."""
    check_not_refused_for_access(x.send(0, token=True))


IMPLEMENTATIONS = {f.__name__: f for f in [
    query_post_form, query_get, query_post_direct,
    query_dataset_default_graphs_get, query_dataset_default_graphs_post,
    query_dataset_named_graphs_post, query_dataset_named_graphs_get,
    query_dataset_full, query_multiple_dataset,
    query_content_type_select, query_content_type_ask, query_content_type_describe, query_content_type_construct,
    update_dataset_default_graph, update_dataset_default_graphs, update_dataset_named_graphs, update_dataset_full,
    update_post_form, update_post_direct, update_base_uri,
    bad_query_method, bad_multiple_queries, bad_query_wrong_media_type, bad_query_missing_form_type,
    bad_query_missing_direct_type, bad_query_non_utf8, bad_query_syntax,
    bad_update_get, bad_multiple_updates, bad_update_wrong_media_type, bad_update_missing_form_type,
    bad_update_non_utf8, bad_update_syntax, bad_update_dataset_conflict,
]}

CLEAR_ALL_REFUSED = ("DELIBERATE: CLEAR ALL is refused with 403 because it would clear the bookkeeping graph and "
                     "the graphs loaded from the content files, which cannot be changed at run time")

#: What the 403 for a protected graph says (bookkeeping graph, or a graph loaded from a file).
PROTECTED = ("holds the service's bookkeeping and cannot be changed", "change that file instead")

#: The manifest entries this server does not pass, and how that shows.
KNOWN = {
    "update_post_form": Known(CLEAR_ALL_REFUSED, 403, PROTECTED),
    "update_post_direct": Known(CLEAR_ALL_REFUSED, 403, PROTECTED),
}


def _cases():
    for entry in ENTRIES:
        marks = []
        if entry.name in KNOWN:
            marks.append(pytest.mark.xfail(raises=KnownDeviation, strict=True, reason=KNOWN[entry.name].reason))
        yield pytest.param(entry, id=entry.name, marks=marks)


def test_manifest_is_the_one_described():
    assert len(ENTRIES) == SUITE_SIZE, [e.name for e in ENTRIES]
    assert not set(IMPLEMENTATIONS) - {e.name for e in ENTRIES}, "implementations of tests the manifest does not have"


@pytest.mark.parametrize("entry", list(_cases()))
def test_w3c_protocol(client, server, entry: Entry):
    implementation = IMPLEMENTATIONS.get(entry.name)
    if implementation is None:
        pytest.fail(f"manifest entry {entry.name} ({entry.label!r}) has no implementation in IMPLEMENTATIONS")
    exchange = Exchange(client, server, entry, KNOWN.get(entry.name))
    try:
        implementation(exchange)
    finally:
        exchange.close()


# --- controls: the dataset rules that the suite's ASK queries cannot see on a union default graph ----

DATA = "http://kasei.us/2009/09/sparql/data/data{}.rdf"


@pytest.fixture
def three_graphs(client, server):
    """data1.nt … data3.nt of the suite in three fresh graphs: {1: graph IRI, 2: …, 3: …}."""
    entry = next(e for e in ENTRIES if e.name == "query_dataset_full")
    exchange = Exchange(client, server, entry)
    exchange.load_graph_data()
    yield {n: exchange.graphs[DATA.format(n)] for n in (1, 2, 3)}
    exchange.close()


def ask(client, query: str, params: list[tuple[str, str]]) -> bool:
    response = client.get("/sparql", params=[("query", query), *params], headers={"Accept": JSON})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


BOTH = f"ASK {{ <{DATA.format(1)}> a ?type . <{DATA.format(2)}> a ?type }}"
THREE = f"ASK {{ <{DATA.format(3)}> a ?type }}"


def test_control_default_graph_uri_pins_the_default_graph(client, three_graphs):
    """The suite's default-graph-uri tests answer true on the union too; with one of the two graphs the
    answer must be false, or the parameter is ignored."""
    assert ask(client, BOTH, [("default-graph-uri", three_graphs[1]), ("default-graph-uri", three_graphs[2])])
    assert not ask(client, BOTH, [("default-graph-uri", three_graphs[1])])


def test_control_protocol_dataset_overrides_from(client, three_graphs):
    """Protocol §2.1.4: with default-graph-uri given, the query's FROM is not used."""
    query = f"ASK FROM <{three_graphs[3]}> {{ <{DATA.format(3)}> a ?type }}"
    assert not ask(client, query, [("default-graph-uri", three_graphs[1])])


def test_control_from_sets_the_default_graph(client, three_graphs):
    """SPARQL 1.1 Query §13.2: FROM data1 makes data1 the default graph, so data2's document is not in it."""
    assert ask(client, f"ASK FROM <{three_graphs[1]}> {{ <{DATA.format(1)}> a ?type }}", [])
    if ask(client, f"ASK FROM <{three_graphs[1]}> {{ <{DATA.format(2)}> a ?type }}", []):
        raise KnownDeviation("ASK FROM <data1> { <data2.rdf> a ?type } is true: the default graph is still the union")


def test_control_named_graphs_alone_leave_the_default_graph_empty(client, three_graphs):
    """Query §13.2 (FROM NAMED without FROM: the default graph is empty), and the same for a protocol
    dataset given by named-graph-uri alone (Protocol §2.1.4: the protocol's dataset is used)."""
    found = [how for how, answer in [
        ("named-graph-uri", ask(client, THREE, [("named-graph-uri", three_graphs[1])])),
        ("FROM NAMED", ask(client, f"ASK FROM NAMED <{three_graphs[1]}> {{ <{DATA.format(3)}> a ?type }}", [])),
    ] if answer]
    if found:
        raise KnownDeviation(f"data3's document is in the default graph with {' and with '.join(found)} alone")
