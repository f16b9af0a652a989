"""The W3C SPARQL 1.1 Graph Store HTTP Protocol test suite (tests/w3c/graph-store-protocol/manifest.ttl),
unmodified, against `gros serve` on a content root without content files (`empty_server`).

One test per manifest entry, in manifest order, on one server, each starting on an empty store
(the runner sends `DROP ALL` first, as suite runners reset the store between entries); an entry
without an implementation in IMPLEMENTATIONS fails.
Each implementation replays the entry's requests (PUT, GET, HEAD, POST, DELETE) as written and
checks each response as the manifest says: the status (201, 204, 404 …), the Content-Type, and
for a GET the returned graph, which must be isomorphic to the one in the manifest (blank nodes
compared as blank nodes: the service gives back blank nodes where it was sent them).

What the runner adds, as any runner does for a deployment:
- `/gsp` is our Graph Store, `/rdf-graphs`: `/gsp?graph=…` is `/rdf-graphs?graph=…` (indirect
  identification, the IRIs as written), `/gsp/person/1.ttl` is `/rdf-graphs/person/1.ttl`
  (direct identification: the graph IRI is that URL on this server).
- Writes need `Authorization: Bearer <token>` here; the runner adds it to PUT, POST and DELETE.
"""
from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

import httpx
import pytest
from rdflib import Graph

from server_fixture import auth
from w3c_manifest import (Entry, KnownDeviation, check_status, load, media_type, same_graph, send)

ENTRIES = load("graph-store-protocol")
SUITE_SIZE = 12  # mf:GraphStoreProtocolTest entries (tests/w3c/graph-store-protocol/README.md)
SUITE_STORE = "http://www.example/gsp"  # the Graph Store of the suite's graph IRIs
WRITES = {"PUT", "POST", "DELETE"}


class Exchange:
    """One manifest entry being run against /rdf-graphs."""

    def __init__(self, http: httpx.Client, server, entry: Entry, known: tuple[int, tuple[str, ...]] | None):
        self.http, self.server, self.entry, self.known = http, server, entry, known
        self.store = f"{server.graphs}/w3c-{uuid.uuid4().hex[:12]}"  # stands for http://www.example/gsp
        self.variables: dict[str, str] = {}  # mf:expectedLocation template variables
        self.created: set[str] = set()
        self.default_before: bytes | None = None

    def params(self, request) -> list[tuple[str, str]]:
        """The request's parameters as written; only $LOCATION$ (mf:expectedLocation) is filled in."""
        params = []
        for key, value in parse_qsl(request.path.partition("?")[2], keep_blank_values=True):
            for name, bound in self.variables.items():
                value = value.replace(name, bound)
            params.append((key, value))
        return params

    def run(self) -> None:
        """Send every request of the entry in order and check each response."""
        for number, request in enumerate(self.entry.requests, 1):
            params = self.params(request)
            route = request.path.partition("?")[0]
            assert route == "/gsp" or route.startswith("/gsp/"), request.path
            response = send(self.http, request, "/rdf-graphs" + route[len("/gsp"):], params,
                            token=self.server.token if request.method in WRITES else None)
            what = f"{self.entry.name} request {number} ({request.method} {request.path}): "
            check_status(response, request.expected, self.known, what=what)
            self.check_response(response, request.expected, what)
            if request.expected.location:
                location = response.headers.get("location")
                assert location, f"{what}the manifest expects a Location header; got {dict(response.headers)}"
                self.variables[request.expected.location] = location

    def check_response(self, response: httpx.Response, expected, what: str) -> None:
        for name, value in expected.headers.items():
            got = response.headers.get(name)
            if name == "content-type":
                assert media_type(got) == media_type(value), (
                    f"{what}Content-Type is {got!r}, the manifest expects {value!r}")
            else:
                assert got == value, f"{what}{name} is {got!r}, the manifest expects {value!r}"
        if expected.body is not None:
            kind = media_type(expected.headers.get("content-type", "text/turtle"))[0]
            want = Graph().parse(data=expected.body, format=kind)
            got = Graph().parse(data=response.text, format=media_type(response.headers.get("content-type"))[0])
            assert same_graph(got, want), (f"{what}the graph returned is not the one the manifest expects.\n"
                                           f"got:\n{got.serialize(format='nt')}\n"
                                           f"expected:\n{want.serialize(format='nt')}")

    def reset(self) -> None:
        """An empty store to start the entry on."""
        response = self.http.post("/sparql", content=b"DROP ALL", headers={
            "Content-Type": "application/sparql-update", **auth(self.server.token)})
        assert response.status_code == 200, f"DROP ALL before {self.entry.name}: {response.status_code} {response.text}"

    def close(self) -> None:
        pass


# --- implementations, one per manifest entry --------------------------------------------------------

def direct_identification(x: Exchange):
    """The entry's requests with the graph named by the request URL (/rdf-graphs/person/1.ttl)."""
    x.run()


def put_get_repeat_indirect(x: Exchange):
    """PUT a new graph (201 Created), GET it back; PUT new content on it (200/204), GET the new content."""
    x.run()


def put_get_default(x: Exchange):
    """PUT the default graph (?default), GET it back (the store's own default graph, not the union)."""
    x.run()


def put_delete_get_delete_indirect(x: Exchange):
    """PUT a graph, DELETE it (200/204), GET it (404), DELETE it again (404 here; 200/204 allowed)."""
    x.run()


def post_get_post_get_indirect(x: Exchange):
    """POST to a new graph (creates it), GET it; POST a multipart/form-data body of two Turtle parts to
    merge into it (GSP §5.5), GET the merge."""
    x.run()


def post_get_new_graph(x: Exchange):
    """POST to the Graph Store itself (no ?graph): 201 Created with the new graph's IRI in Location;
    GET ?graph=<that IRI> returns what was posted. (The entry's mf:name says "direct graph
    identification", but its mf:requires and its requests use indirect identification.)"""
    x.run()


def head_existing_indirect(x: Exchange):
    """PUT a graph, HEAD it: 200 with the Content-Type a GET would have."""
    x.run()


def head_non_existing_indirect(x: Exchange):
    """HEAD on a graph that was never created: 404."""
    x.run()


IMPLEMENTATIONS = {
    "put_get_repeat_direct": direct_identification,
    "put_get_repeat_indirect": put_get_repeat_indirect,
    "put_get_default": put_get_default,
    "put_delete_get_delete_direct": direct_identification,
    "put_delete_get_delete_indirect": put_delete_get_delete_indirect,
    "post_get_post_get_direct": direct_identification,
    "post_get_post_get_indirect": post_get_post_get_indirect,
    "post_get_new_graph": post_get_new_graph,
    "head_existing_direct": direct_identification,
    "head_existing_indirect": head_existing_indirect,
    "head_non_existing_direct": direct_identification,
    "head_non_existing_indirect": head_non_existing_indirect,
}

#: entry -> ((status, texts in the body) that identify the known problem, reason)
KNOWN: dict = {}


def _cases():
    for entry in ENTRIES:
        marks = []
        if entry.name in KNOWN:
            marks.append(pytest.mark.xfail(raises=KnownDeviation, strict=True, reason=KNOWN[entry.name][1]))
        yield pytest.param(entry, id=entry.name, marks=marks)


def test_manifest_is_the_one_described():
    assert len(ENTRIES) == SUITE_SIZE, [e.name for e in ENTRIES]
    assert not set(IMPLEMENTATIONS) - {e.name for e in ENTRIES}, "implementations of tests the manifest does not have"
    direct = {e.name for e in ENTRIES if "DirectGraphIdentification" in e.requires}
    assert direct == {n for n, f in IMPLEMENTATIONS.items() if f is direct_identification}


@pytest.mark.parametrize("entry", list(_cases()))
def test_w3c_graph_store(empty_client, empty_server, entry: Entry):
    client, server = empty_client, empty_server
    implementation = IMPLEMENTATIONS.get(entry.name)
    if implementation is None:
        pytest.fail(f"manifest entry {entry.name} ({entry.label!r}) has no implementation in IMPLEMENTATIONS")
    exchange = Exchange(client, server, entry, KNOWN.get(entry.name, (None, ""))[0])
    exchange.reset()
    try:
        implementation(exchange)
    finally:
        exchange.close()


# --- control (not in the manifest): a graph removed with SPARQL Update is gone for the Graph Store too --

def test_control_sparql_drop_removes_the_graph(client, server):
    """SPARQL 1.1 Update §3.2.2: DROP removes the graph from the Graph Store; a GET of it is then 404,
    as after a Graph Store DELETE (the suite's put_delete_get_delete)."""
    graph = f"{server.graphs}/w3c-{uuid.uuid4().hex[:12]}/person/3.ttl"
    turtle = b"<http://www.example/gsp/person/3> a <http://xmlns.com/foaf/0.1/Person> ."
    response = client.put("/rdf-graphs", params={"graph": graph}, content=turtle,
                          headers={"Content-Type": "text/turtle", **auth(server.token)})
    assert response.status_code == 201, response.text
    try:
        response = client.post("/sparql", content=f"DROP GRAPH <{graph}>".encode(),
                               headers={"Content-Type": "application/sparql-update", **auth(server.token)})
        assert response.status_code == 200, response.text
        response = client.get("/rdf-graphs", params={"graph": graph}, headers={"Accept": "text/turtle"})
        if response.status_code == 200 and not response.text.strip():
            raise KnownDeviation(f"GET of the dropped graph <{graph}> answered 200 with an empty body")
        assert response.status_code == 404, (response.status_code, response.text)
    finally:
        response = client.delete("/rdf-graphs", params={"graph": graph}, headers=auth(server.token))
        assert response.status_code in (204, 404), response.text
