"""Real SPARQL clients against `gros serve`: SPARQLWrapper, rdflib's SPARQLStore /
SPARQLUpdateStore and the curl command, used the way their documentation shows.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore, _node_to_sparql
from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED, XML, SPARQLWrapper

from rdflib.compare import isomorphic
from server_fixture import BASE, MINIMAL_GRAPH, TOKEN, ask, update

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
GENID = BASE + ".well-known/genid/"


def wrapper(server) -> SPARQLWrapper:
    return SPARQLWrapper(server.sparql, updateEndpoint=server.sparql, agent="gros-kg tests")


# --- SPARQLWrapper ------------------------------------------------------------------------------

def test_sparqlwrapper_select_json(server, known):
    sparql = wrapper(server)
    sparql.setQuery(f"""SELECT ?label WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> <{RDFS}label> ?label }} }}""")
    sparql.setReturnFormat(JSON)
    result = sparql.queryAndConvert()
    labels = {(b["label"]["value"], b["label"].get("xml:lang")) for b in result["results"]["bindings"]}
    assert (known.label_nl, "nl") in labels and (known.label_en, "en") in labels


def test_sparqlwrapper_select_xml_by_post(server, known):
    sparql = wrapper(server)
    sparql.setMethod(POST)
    sparql.setQuery(f"SELECT ?p WHERE {{ <{known.resource}> ?p ?o }}")
    sparql.setReturnFormat(XML)
    document = sparql.queryAndConvert()  # an xml.dom.minidom document
    uris = {node.firstChild.data for node in document.getElementsByTagName("uri")}
    assert RDFS + "label" in uris


def test_sparqlwrapper_ask(server, known):
    sparql = wrapper(server)
    sparql.setQuery(f"ASK {{ <{known.resource}> a <{known.type}> }}")
    sparql.setReturnFormat(JSON)
    assert sparql.queryAndConvert()["boolean"] is True
    sparql.setQuery(f"ASK {{ <{known.resource}> a <https://example.org/NoSuchClass> }}")
    assert sparql.queryAndConvert()["boolean"] is False


def test_sparqlwrapper_construct(server, known):
    sparql = wrapper(server)
    sparql.setQuery(f"CONSTRUCT {{ <{known.resource}> ?p ?o }} WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> ?p ?o }} }}")
    sparql.setReturnFormat(TURTLE)
    data = sparql.queryAndConvert()  # Turtle bytes
    graph = rdflib.Graph().parse(data=data, format="turtle")
    assert (rdflib.URIRef(known.resource), rdflib.RDFS.label, rdflib.Literal(known.label_nl, lang="nl")) in graph


def test_sparqlwrapper_construct_as_rdflib_graph(server, known):
    sparql = wrapper(server)
    sparql.setQuery(f"CONSTRUCT {{ <{known.resource}> ?p ?o }} WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> ?p ?o }} }}")
    graph = sparql.queryAndConvert()  # the default for CONSTRUCT: RDF/XML, parsed into an rdflib Graph
    assert isinstance(graph, rdflib.Graph)
    assert len(graph) == known.triples


def test_sparqlwrapper_update_with_bearer_token(server, client, fresh_graph):
    sparql = wrapper(server)
    sparql.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    sparql.setMethod(POST)
    sparql.setRequestMethod(URLENCODED)
    sparql.setQuery(f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <https://example.org/test/wrapper> <{RDFS}comment> "via SPARQLWrapper"@en }} }}')
    response = sparql.query()
    assert response.response.status == 200
    assert ask(client, f'ASK {{ GRAPH <{fresh_graph}> {{ ?s <{RDFS}comment> "via SPARQLWrapper"@en }} }}')


def test_sparqlwrapper_update_without_token_is_refused(server, client, fresh_graph):
    from urllib.error import HTTPError

    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    sparql = wrapper(server)
    sparql.setMethod(POST)
    sparql.setRequestMethod(URLENCODED)
    sparql.setQuery(f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <https://example.org/test/wrapper> <{RDFS}comment> "no" }} }}')
    try:
        sparql.query()
    except HTTPError as err:
        assert err.code == 401
    except SPARQLWrapperException as err:
        assert "401" in str(err)
    else:
        raise AssertionError("an update without a token was accepted")
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")


# --- rdflib ----------------------------------------------------------------------------------------

def test_rdflib_sparqlstore_query(server, known):
    graph = rdflib.Graph(store=SPARQLStore(server.sparql))
    rows = list(graph.query(f"SELECT ?label WHERE {{ <{known.resource}> <{RDFS}label> ?label }}"))
    labels = {row.label for row in rows}
    assert rdflib.Literal(known.label_nl, lang="nl") in labels
    assert rdflib.Literal(known.label_en, lang="en") in labels


def test_rdflib_sparqlstore_triples_and_ask(server, known):
    graph = rdflib.Graph(store=SPARQLStore(server.sparql, returnFormat="json"))
    labels = set(graph.objects(rdflib.URIRef(known.resource), rdflib.RDFS.label))
    assert rdflib.Literal(known.label_en, lang="en") in labels
    assert graph.query(f"ASK {{ <{known.resource}> ?p ?o }}").askAnswer is True


def test_rdflib_sparqlupdatestore_with_bearer_token(server, client, fresh_graph):
    # SPARQLConnector passes extra keyword arguments to urllib: headers= carries the token.
    store = SPARQLUpdateStore(query_endpoint=server.sparql, update_endpoint=server.sparql,
                              headers={"Authorization": f"Bearer {TOKEN}"})
    graph = rdflib.Graph(store=store, identifier=rdflib.URIRef(fresh_graph))
    subject = rdflib.URIRef("https://example.org/test/update-store")
    graph.add((subject, rdflib.RDFS.comment, rdflib.Literal("via SPARQLUpdateStore", lang="en")))
    assert ask(client, f'ASK {{ GRAPH <{fresh_graph}> {{ <{subject}> <{RDFS}comment> "via SPARQLUpdateStore"@en }} }}')
    assert (subject, rdflib.RDFS.comment, rdflib.Literal("via SPARQLUpdateStore", lang="en")) in graph
    graph.remove((subject, None, None))
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ <{subject}> ?p ?o }} }}")


def skolem_iris(node) -> str:
    """rdflib's documented hook for blank nodes in SPARQLStore (`node_to_sparql`): a BNode goes out
    as the skolem IRI that names it in this service, `_:LABEL` as `<{base}.well-known/genid/LABEL>`
    (docs/protocol.md); every other term as rdflib writes it."""
    if isinstance(node, rdflib.BNode):
        return f"<{GENID}{node}>"
    return _node_to_sparql(node)


def update_store(server, return_format: str = "xml") -> SPARQLUpdateStore:
    return SPARQLUpdateStore(query_endpoint=server.sparql, update_endpoint=server.sparql,
                             node_to_sparql=skolem_iris, returnFormat=return_format,
                             headers={"Authorization": f"Bearer {TOKEN}"})


def stored(client, graph: str) -> set[tuple[str, str, str, str]]:
    """The graph's triples as a plain query over HTTP reads them: (s, type of s, p, o)."""
    response = client.get("/sparql", params={"query": f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return {(b["s"]["value"], b["s"]["type"], b["p"]["value"], b["o"]["value"])
            for b in response.json()["results"]["bindings"]}


@pytest.mark.parametrize("return_format", ["xml", "json"])
def test_rdflib_sparqlupdatestore_adds_reads_and_removes_blank_nodes(server, client, fresh_graph, return_format):
    graph = rdflib.Graph(store=update_store(server, return_format), identifier=rdflib.URIRef(fresh_graph))
    subject = rdflib.URIRef("https://example.org/test/update-store-blank")
    node, other = rdflib.BNode(), rdflib.BNode()
    written = {(subject, rdflib.RDFS.seeAlso, node),
               (node, rdflib.RDFS.comment, rdflib.Literal("a blank node", lang="en")),
               (node, rdflib.RDFS.seeAlso, other),
               (other, rdflib.RDFS.comment, rdflib.Literal("another blank node", lang="en"))}
    for triple in sorted(written):
        graph.add(triple)

    # Read back through the same store: the nodes are blank nodes again, with the labels they were sent with.
    read = set(graph.triples((None, None, None)))
    assert read == written
    assert {type(term) for triple in read for term in (triple[0], triple[2])} >= {rdflib.BNode}
    assert not any(isinstance(term, rdflib.URIRef) and term.startswith(GENID) for triple in read for term in triple)
    rows = list(graph.query(f'SELECT ?b WHERE {{ ?b <{RDFS}comment> "a blank node"@en }}'))
    assert [row.b for row in rows] == [node] and isinstance(rows[0].b, rdflib.BNode)
    assert len(graph) == 4
    # Over plain HTTP the same four triples, the nodes as `bnode` bindings.
    assert {(s, kind) for s, kind, _p, _o in stored(client, fresh_graph)} == {
        (str(subject), "uri"), (str(node), "bnode"), (str(other), "bnode")}

    graph.remove((node, None, None))
    assert stored(client, fresh_graph) == {(str(subject), "uri", f"{RDFS}seeAlso", str(node)),
                                           (str(other), "bnode", f"{RDFS}comment", "another blank node")}
    graph.remove((subject, rdflib.RDFS.seeAlso, node))
    graph.remove((other, None, None))
    assert stored(client, fresh_graph) == set()
    assert set(graph.triples((None, None, None))) == set()


def test_rdflib_sparqlupdatestore_removes_a_blank_node_the_server_made(server, client, fresh_graph):
    """A node made by `[ ... ]` in INSERT DATA (labelled by the server) comes to rdflib as a BNode,
    and that BNode given back to the store addresses the stored node."""
    subject = "https://example.org/test/update-store-server-blank"
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{subject}> <{RDFS}seeAlso> '
                              f'[ <{RDFS}comment> "made by the server"@en ; <{RDFS}label> "x" ] }} }}')
    assert response.status_code == 200, response.text
    graph = rdflib.Graph(store=update_store(server), identifier=rdflib.URIRef(fresh_graph))
    nodes = list(graph.objects(rdflib.URIRef(subject), rdflib.RDFS.seeAlso))
    assert len(nodes) == 1 and isinstance(nodes[0], rdflib.BNode), nodes
    node = nodes[0]
    assert set(graph.predicate_objects(node)) == {(rdflib.RDFS.comment, rdflib.Literal("made by the server", lang="en")),
                                                  (rdflib.RDFS.label, rdflib.Literal("x"))}
    graph.remove((node, rdflib.RDFS.label, None))
    assert stored(client, fresh_graph) == {(subject, "uri", f"{RDFS}seeAlso", str(node)),
                                           (str(node), "bnode", f"{RDFS}comment", "made by the server")}
    graph.remove((node, None, None))
    graph.remove((None, None, node))
    assert stored(client, fresh_graph) == set()


# --- SPARQLWrapper: every return format it offers, for each query form ------------------------------

WRAPPER_FORMATS = ["json", "xml", "csv", "tsv", "turtle", "n3", "rdf+xml", "json-ld"]
#: What each form answers in each format, as the client receives it (SPARQLWrapper picks the
#: format with format=, output=, results= and Accept at once; the server must take them as one).
RESULT_KINDS = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                "csv": "text/csv", "tsv": "text/tab-separated-values"}
GRAPH_KINDS = {"xml": "application/rdf+xml", "rdf+xml": "application/rdf+xml", "json": "application/ld+json",
               "json-ld": "application/ld+json", "turtle": "text/turtle", "n3": "text/turtle"}


@pytest.mark.parametrize("form", ["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"])
@pytest.mark.parametrize("fmt", WRAPPER_FORMATS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_every_return_format(server, known, form, fmt, method):
    text = {"SELECT": f"SELECT ?p WHERE {{ <{known.resource}> ?p ?o }} LIMIT 1",
            "ASK": f"ASK {{ <{known.resource}> ?p ?o }}",
            "CONSTRUCT": f"CONSTRUCT {{ <{known.resource}> ?p ?o }} WHERE {{ <{known.resource}> ?p ?o }}",
            "DESCRIBE": f"DESCRIBE <{known.resource}>"}[form]
    sparql = wrapper(server)
    sparql.setMethod(method)
    sparql.setQuery(text)
    sparql.setReturnFormat(fmt)
    expected = (RESULT_KINDS if form in ("SELECT", "ASK") else GRAPH_KINDS).get(fmt)
    if form == "ASK" and fmt in ("csv", "tsv"):
        expected = RESULT_KINDS[fmt]
    if expected is None:
        # A result format for a graph (csv for CONSTRUCT) or a graph format for a table (turtle for
        # SELECT): SPARQLWrapper sets it anyway; the server answers 406 naming what it offers.
        import urllib.error

        with pytest.raises(urllib.error.HTTPError) as raised:
            sparql.query()
        assert raised.value.code == 406
        return
    result = sparql.query()
    assert result.response.headers["content-type"].split(";")[0] == expected
    body = result.response.read()
    assert body.strip(), "empty answer"


# --- curl ----------------------------------------------------------------------------------------------

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="the curl command is not installed (shutil.which('curl') is None)")
CURL_TURTLE = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/test/curl> rdfs:comment "sent by curl"@en ;
    rdfs:seeAlso [ rdfs:comment "a blank node — Liège"@fr ] .
"""
CURL_MORE = '<https://example.org/test/curl> <http://www.w3.org/2000/01/rdf-schema#label> "curl" .\n'


@dataclass
class CurlAnswer:
    status: int
    content_type: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def curl(*args: str) -> CurlAnswer:
    """The real curl binary, as a person would type it (no config file, no proxy); the status and
    the Content-Type come from --write-out, after the body."""
    marker = "\n--curl-write-out--\n"
    completed = subprocess.run([CURL, "-q", "--silent", "--show-error", "--noproxy", "*",
                                "--write-out", marker.replace("\n", "\\n") + "%{http_code} %{content_type}", *args],
                               capture_output=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    body, _, tail = completed.stdout.rpartition(marker.encode())
    status, _, content_type = tail.decode().partition(" ")
    return CurlAnswer(int(status), content_type, body)


def bearer() -> tuple[str, str]:
    return "-H", f"Authorization: Bearer {TOKEN}"


@needs_curl
def test_curl_select_by_get_with_data_urlencode(server, known):
    answer = curl("-G", server.sparql, "-H", "Accept: application/sparql-results+json",
                  "--data-urlencode", f"query=SELECT ?label WHERE {{ <{known.resource}> <{RDFS}label> ?label }}")
    assert answer.status == 200, answer.text
    assert answer.content_type.split(";")[0] == "application/sparql-results+json"
    labels = {(b["label"]["value"], b["label"].get("xml:lang")) for b in json.loads(answer.body)["results"]["bindings"]}
    assert {(known.label_nl, "nl"), (known.label_en, "en")} <= labels


@needs_curl
def test_curl_select_as_csv(server, known):
    answer = curl("-G", server.sparql, "-H", "Accept: text/csv",
                  "--data-urlencode", f"query=SELECT ?label WHERE {{ <{known.resource}> <{RDFS}label> ?label }} ORDER BY ?label")
    assert answer.status == 200, answer.text
    assert answer.content_type.split(";")[0] == "text/csv"
    assert answer.text.endswith("\r\n")  # SPARQL 1.1 CSV: lines end in CRLF (RFC 4180)
    rows = list(csv.reader(io.StringIO(answer.text, newline="")))
    assert rows[0] == ["label"]
    assert {known.label_nl, known.label_en} <= {row[0] for row in rows[1:]}  # CSV drops the language tags


@needs_curl
def test_curl_post_of_a_sparql_query(server, known):
    text = f"SELECT ?type WHERE {{ <{known.resource}> a ?type }}"
    answer = curl(server.sparql, "-H", "Content-Type: application/sparql-query",
                  "-H", "Accept: application/sparql-results+json", "--data-binary", text)
    assert answer.status == 200, answer.text
    types = {b["type"]["value"] for b in json.loads(answer.body)["results"]["bindings"]}
    assert known.type in types
    ask_answer = curl(server.sparql, "-H", "Content-Type: application/sparql-query",
                      "-H", "Accept: application/sparql-results+json",
                      "--data-binary", f"ASK {{ <{known.resource}> a <https://example.org/NoSuchClass> }}")
    assert ask_answer.status == 200 and json.loads(ask_answer.body)["boolean"] is False


@needs_curl
def test_curl_update_with_bearer_token(server, client, fresh_graph):
    triple = f'<https://example.org/test/curl-update> <{RDFS}comment> "by curl"@en'
    refused = curl(server.sparql, "-H", "Content-Type: application/sparql-update",
                   "--data-binary", f"INSERT DATA {{ GRAPH <{fresh_graph}> {{ {triple} }} }}")
    assert refused.status == 401, refused.text
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")

    answer = curl(server.sparql, "-H", "Content-Type: application/sparql-update", *bearer(),
                  "--data-binary", f"INSERT DATA {{ GRAPH <{fresh_graph}> {{ {triple} }} }}")
    assert answer.status == 200, answer.text
    assert ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ {triple} }} }}")
    # The form way (curl's default content type for --data-urlencode): update=...
    answer = curl(server.sparql, *bearer(), "--data-urlencode", f"update=DELETE DATA {{ GRAPH <{fresh_graph}> {{ {triple} }} }}")
    assert answer.status == 200, answer.text
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")


@needs_curl
def test_curl_graph_store_put_post_get_and_delete(server, fresh_graph, tmp_path):
    document, more = tmp_path / "graph.ttl", tmp_path / "more.nt"
    document.write_text(CURL_TURTLE, encoding="utf-8")
    more.write_text(CURL_MORE, encoding="utf-8")
    url = f"{server.graphs}?{urlencode({'graph': fresh_graph})}"

    def get() -> CurlAnswer:
        return curl("-G", server.graphs, "--data-urlencode", f"graph={fresh_graph}", "-H", "Accept: text/turtle")

    created = curl("--upload-file", str(document), "-H", "Content-Type: text/turtle", *bearer(), url)
    assert created.status == 201, created.text
    answer = get()
    assert answer.status == 200 and answer.content_type.startswith("text/turtle"), answer.text
    expected = rdflib.Graph().parse(data=CURL_TURTLE, format="turtle")
    assert isomorphic(rdflib.Graph().parse(data=answer.text, format="turtle"), expected)

    added = curl("--data-binary", f"@{more}", "-H", "Content-Type: application/n-triples", *bearer(), url)  # POST adds
    assert added.status == 204, added.text
    expected.parse(data=CURL_MORE, format="nt")
    assert isomorphic(rdflib.Graph().parse(data=get().text, format="turtle"), expected)

    replaced = curl("-X", "PUT", "--data-binary", f"@{document}", "-H", "Content-Type: text/turtle", *bearer(), url)
    assert replaced.status == 204, replaced.text
    assert isomorphic(rdflib.Graph().parse(data=get().text, format="turtle"),
                      rdflib.Graph().parse(data=CURL_TURTLE, format="turtle"))

    assert curl("-X", "DELETE", url).status == 401
    assert curl("-X", "DELETE", *bearer(), url).status == 204
    assert get().status == 404
