"""The store launchers of tests/support/remote_stores.py, against the real stores, and the behaviour
differences that docs/remote-stores.md records (so the document fails loudly when a store changes).

The oxigraph cases run in `make test` (about a second); the Virtuoso ones are marked `virtuoso` and
run with `make test-virtuoso` (GROS_TEST_VIRTUOSO=1).
"""
from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

import remote_stores
from remote_stores import RunningStore, StoreUnavailable, start_oxigraph, start_virtuoso

STORES = ["oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso)]
STARTERS = {"oxigraph": start_oxigraph, "virtuoso": start_virtuoso}
JSON = "application/sparql-results+json"
NTRIPLES = "application/n-triples"
EX = "http://example.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
VIRTRDF = "http://www.openlinksw.com/schemas/virtrdf#"


@pytest.fixture(scope="module", params=STORES)
def store(request, tmp_path_factory) -> RunningStore:
    with STARTERS[request.param](tmp_path_factory.mktemp(request.param)) as running:
        yield running


@pytest.fixture
def graph() -> str:
    return f"{EX}graph/{uuid.uuid4().hex}"


def update(store: RunningStore, text: str) -> httpx.Response:
    return httpx.post(store.update_url, data={"update": text}, timeout=60)


def query(store: RunningStore, text: str, accept: str = JSON, **params) -> httpx.Response:
    response = httpx.post(store.query_url, data={"query": text, **params}, headers={"Accept": accept}, timeout=60)
    assert response.status_code == 200, response.text[:1000]
    return response


def values(response: httpx.Response) -> list[dict[str, str]]:
    return [{name: term["value"] for name, term in row.items()} for row in response.json()["results"]["bindings"]]


def ask(store: RunningStore, text: str) -> bool:
    return query(store, text).json()["boolean"]


def ok(response: httpx.Response) -> httpx.Response:
    assert response.is_success, f"{response.status_code}: {response.text[:1000]}"
    return response


# --- the launchers -------------------------------------------------------------------------------

def test_store_listens_on_loopback_only(store):
    assert store.query_url.startswith("http://127.0.0.1:")
    assert store.update_url.startswith("http://127.0.0.1:")


def test_insert_data_into_a_named_graph_is_read_back_in_the_union_and_by_graph(store, graph):
    ok(update(store, f'INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}p> "Düsseldorf" }} }}'))
    assert values(query(store, f"SELECT ?o WHERE {{ <{graph}/s> <{EX}p> ?o }}")) == [{"o": "Düsseldorf"}]
    assert values(query(store, f"SELECT ?g WHERE {{ GRAPH ?g {{ <{graph}/s> ?p ?o }} }}")) == [{"g": graph}]


def test_ask(store, graph):
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}p> <{EX}o> }} }}"))
    assert ask(store, f"ASK {{ <{graph}/s> <{EX}p> <{EX}o> }}") is True
    assert ask(store, f"ASK {{ <{graph}/s> <{EX}p> <{EX}nothing> }}") is False


def test_construct_as_n_triples_keeps_literals_intact(store, graph):
    """Non-ASCII, newlines, quotes and language tags survive the round trip (Virtuoso escapes
    non-ASCII as \\u in N-Triples, which parses back to the same text)."""
    literals = ['"Liège"@fr', '"a\\nb \\"q\\" \\\\ ß"', '"1991"^^<http://www.w3.org/2001/XMLSchema#gYear>']
    body = " ".join(f"<{graph}/s{i}> <{EX}p> {literal} ." for i, literal in enumerate(literals))
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ {body} }} }}"))
    response = query(store, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}", accept=NTRIPLES)
    assert response.headers["content-type"].startswith(NTRIPLES)
    got = {(t.subject.value, t.object) for t in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)}
    assert got == {(f"{graph}/s0", ox.Literal("Liège", language="fr")),
                   (f"{graph}/s1", ox.Literal('a\nb "q" \\ ß')),
                   (f"{graph}/s2", ox.Literal("1991", datatype=ox.NamedNode(XSD + "gYear")))}


def test_graph_store_protocol_put_get_delete(store, graph):
    assert store.graph_store_url, f"{store.name} is expected to offer the Graph Store Protocol"
    document = f'<{graph}/s> <{EX}p> "über" .\n'
    target = {"graph": graph}
    assert ok(httpx.put(store.graph_store_url, params=target, content=document.encode(),
                        headers={"Content-Type": NTRIPLES})).status_code == 201
    got = ok(httpx.get(store.graph_store_url, params=target, headers={"Accept": NTRIPLES}))
    assert [t.object.value for t in ox.parse(got.content, format=ox.RdfFormat.N_TRIPLES)] == ["über"]
    ok(httpx.delete(store.graph_store_url, params=target))
    assert httpx.get(store.graph_store_url, params=target, headers={"Accept": NTRIPLES}).status_code == 404


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("name", STORES)
def test_stop_leaves_no_process_and_frees_the_port(name, tmp_path):
    with STARTERS[name](tmp_path) as running:
        pid, port = running.process.pid, httpx.URL(running.query_url).port
        assert ask(running, "ASK {}") is True
    assert running.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped by wait(): no zombie either
    assert refused(port)


def test_a_missing_program_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StoreUnavailable, match="apt-get install -y virtuoso-opensource"):
        start_virtuoso(Path("/nonexistent"))
    monkeypatch.setattr(remote_stores.sys, "executable", "/nonexistent/python")
    with pytest.raises(StoreUnavailable, match="pip install"):
        start_oxigraph(Path("/nonexistent"))


# --- behaviour differences recorded in docs/remote-stores.md -------------------------------------

def is_virtuoso(store: RunningStore) -> bool:
    return store.name == "virtuoso"


def test_system_graphs_are_in_the_union_on_virtuoso_only(store):
    system = values(query(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{VIRTRDF}> {{ ?s ?p ?o }} }}"))
    assert (int(system[0]["n"]) > 2000) is is_virtuoso(store)
    assert ask(store, f"ASK {{ ?s a <{VIRTRDF}QuadMapFormat> }}") is is_virtuoso(store)


def test_insert_data_without_graph_is_refused_by_virtuoso(store):
    response = update(store, f'INSERT DATA {{ <{EX}nograph> <{EX}p> "x" }}')
    assert response.is_success is not is_virtuoso(store), response.text[:500]


def test_a_failing_later_operation_leaves_earlier_ones_applied_on_virtuoso(store, graph):
    response = update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}p> 1 }} }} ;"
                             f" DROP GRAPH <{graph}/missing>")
    assert response.status_code == 500
    assert ask(store, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}") is is_virtuoso(store)


def test_xsd_string_and_plain_literals_differ_on_virtuoso(store, graph):
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}p> 'typed'^^<{XSD}string> }} }}"))
    assert ask(store, f"ASK {{ <{graph}/s> <{EX}p> 'typed' }}") is not is_virtuoso(store)
    assert ask(store, f"ASK {{ <{graph}/s> <{EX}p> ?o FILTER(STR(?o) = 'typed') }}") is True


def test_drop_graph_of_a_graph_never_created_explicitly(store, graph):
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}p> 1 }} }}"))
    assert update(store, f"DROP GRAPH <{graph}>").is_success is not is_virtuoso(store)
    ok(update(store, f"DROP SILENT GRAPH <{graph}>"))
    assert ask(store, f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}") is False


def test_insert_data_size_limit_on_virtuoso(store, graph):
    def insert(count: int) -> httpx.Response:
        triples = " ".join(f'<{graph}/s{i}> <{EX}p> "{i}" .' for i in range(count))
        return update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")

    ok(insert(4000))
    response = insert(5000)
    assert response.is_success is not is_virtuoso(store)
    if is_virtuoso(store):
        assert response.status_code == 400 and "memory exhausted" in response.text


def test_order_by_lcase_of_language_tagged_labels(store, graph):
    """ORDER BY on a language-tagged value sorts by language first on Virtuoso; STR() gives the same
    order on both stores."""
    labels = {"a": '"Zeeland"@nl', "b": '"aachen"@de', "c": '"Brussels"@en', "d": '"brugge"@nl'}
    body = " ".join(f"<{graph}/{key}> <{EX}label> {label} ." for key, label in labels.items())
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ {body} }} }}"))
    pattern = f"GRAPH <{graph}> {{ ?s <{EX}label> ?label }}"
    by_str = [row["label"] for row in values(query(store, f"SELECT ?label {{ {pattern} }} ORDER BY LCASE(STR(?label))"))]
    assert by_str == ["aachen", "brugge", "Brussels", "Zeeland"]
    by_tagged = [row["label"] for row in values(query(store, f"SELECT ?label {{ {pattern} }} ORDER BY LCASE(?label)"))]
    assert (by_tagged == by_str) is not is_virtuoso(store)


def test_integer_division_and_boolean_results(store):
    row = query(store, "SELECT (1/2 AS ?half) (1 < 2 AS ?less) {}").json()["results"]["bindings"][0]
    if is_virtuoso(store):
        assert (row["half"]["value"], row["less"]["datatype"]) == ("0", XSD + "integer")
    else:
        assert (row["half"]["value"], row["less"]["datatype"]) == ("0.5", XSD + "boolean")


def test_wkt_literals_are_rewritten_by_virtuoso(store, graph):
    wkt = "http://www.opengis.net/ont/geosparql#wktLiteral"
    ok(update(store, f"INSERT DATA {{ GRAPH <{graph}> {{ <{graph}/s> <{EX}wkt> 'POINT(7.02238 52.21099)'^^<{wkt}> }} }}"))
    term = query(store, f"SELECT ?w {{ <{graph}/s> <{EX}wkt> ?w }}").json()["results"]["bindings"][0]["w"]
    if is_virtuoso(store):
        assert term["datatype"] == VIRTRDF + "Geometry" and term["value"] != "POINT(7.02238 52.21099)"
    else:
        assert (term["datatype"], term["value"]) == (wkt, "POINT(7.02238 52.21099)")


def test_group_concat_of_one_language(store):
    row = query(store, "SELECT (GROUP_CONCAT(?x; separator=', ') AS ?c) { VALUES ?x { 'a'@nl 'b'@nl } }").json()
    term = row["results"]["bindings"][0]["c"]
    assert term["value"] == "a, b"
    assert term.get("xml:lang") == (None if is_virtuoso(store) else "nl")


def test_exists_inside_a_boolean_expression(store):
    response = httpx.post(store.query_url, data={"query": "SELECT ?c { BIND(EXISTS { ?s ?p ?o } || EXISTS { ?s ?p 1 } AS ?c) }"},
                          headers={"Accept": JSON}, timeout=60)
    assert response.is_success is not is_virtuoso(store)
    if is_virtuoso(store):
        assert "SQ074" in response.text
    assert values(query(store, "SELECT ?c { BIND(IF(EXISTS { ?s ?p ?o }, 'yes', 'no') AS ?c) }"))[0]["c"] in ("yes", "no")


def test_union_with_a_filtered_aggregate_branch(store):
    branch = "{ SELECT (MIN(?o) AS ?m) WHERE { ?s <http://example.org/none> ?o } }"
    text = f"SELECT * WHERE {{ {{ BIND(1 AS ?one) }} UNION {{ {branch} FILTER(BOUND(?m)) }} }}"
    response = httpx.post(store.query_url, data={"query": text}, headers={"Accept": JSON}, timeout=60)
    assert response.is_success is not is_virtuoso(store)
    if is_virtuoso(store):
        assert "sparp_gp_deprecate" in response.text
    wrapped = f"SELECT * WHERE {{ {{ BIND(1 AS ?one) }} UNION {{ SELECT ?m {{ {branch} FILTER(BOUND(?m)) }} }} }}"
    assert values(query(store, wrapped)) == [{"one": "1"}]
