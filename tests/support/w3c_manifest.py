"""Read the W3C test manifests in tests/w3c/ and replay their HTTP exchanges.

The SPARQL 1.1 Protocol and Graph Store Protocol suites describe each test as a list of
`ht:Request`s (method, path, headers, body) with an `ht:Response` saying what must come back
(`mf:expectedStatus`, and for the Protocol suite `mf:expectedFormat` / `mf:expectedBoolean`;
for the Graph Store suite a Content-Type and a body the response must be isomorphic to).
This module turns a manifest into `Entry` objects in manifest order and sends one request
with the changes a test's implementation asks for (other endpoint path, graph IRIs mapped to
fresh ones, the update token added). What a test means, and why a change is needed, is said
by the implementation in the test module.

`KnownDeviation` is what an implementation raises when the server answers exactly the way a
known bug (or a deliberate deviation) makes it answer; the test modules mark those tests
`xfail(raises=KnownDeviation, strict=True)`, so any *other* failure still fails, and a fix
turns the test into an XPASS that fails until the marker is removed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace
from rdflib.collection import Collection
from rdflib.compare import isomorphic

W3C = Path(__file__).resolve().parents[1] / "w3c"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

#: The status codes the manifests name by their hts: individual.
STATUS_NAMES = {"OK": 200, "Created": 201, "Accepted": 202, "NoContent": 204, "BadRequest": 400,
                "NotFound": 404, "MethodNotAllowed": 405, "UnsupportedMediaType": 415}


class KnownDeviation(AssertionError):
    """The server answered the way a known bug or deliberate deviation makes it answer."""


@dataclass
class Expected:
    statuses: list[str] = field(default_factory=list)  # hts: local names, e.g. "StatusCode2xx", "Created"
    format: str | None = None  # Protocol suite: "boolean", "tabular" or "RDF"
    boolean: bool | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> value
    body: str | None = None  # Graph Store suite: RDF the response must be isomorphic to
    location: str | None = None  # template variable to bind to the Location header

    def allows(self, status: int) -> bool:
        return any(status_matches(status, name) for name in self.statuses)

    def describe(self) -> str:
        return " or ".join(self.statuses) or "(any)"


@dataclass
class Request:
    method: str
    path: str  # as in the manifest, e.g. "/sparql/?query=..." or "/gsp?graph=..."
    headers: list[tuple[str, str]]
    text: str | None  # the body as text (cnt:chars)
    encoding: str  # cnt:characterEncoding of the body
    expected: Expected

    @property
    def body(self) -> bytes | None:
        return None if self.text is None else self.text.encode(self.encoding)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass
class Entry:
    name: str  # local name of the test IRI, the key of the implementations
    iri: str
    label: str  # mf:name
    requires: list[str]  # mf:requires, local names
    graph_data: list[tuple[Path, str]]  # ut:graphData: (file, graph name)
    requests: list[Request]


def status_matches(status: int, name: str) -> bool:
    klass = re.fullmatch(r"StatusCode([1-5])xx", name)
    if klass:
        return status // 100 == int(klass.group(1))
    if name not in STATUS_NAMES:
        raise ValueError(f"the manifest names a status {name!r} this runner does not know")
    return status == STATUS_NAMES[name]


def local(node) -> str:
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]


def _list(graph: Graph, head) -> list:
    return list(Collection(graph, head)) if head is not None else []


def _response(graph: Graph, node) -> Expected:
    expected = Expected(statuses=sorted(local(s) for s in graph.objects(node, MF.expectedStatus)))
    fmt = graph.value(node, MF.expectedFormat)
    expected.format = str(fmt) if fmt is not None else None
    boolean = graph.value(node, MF.expectedBoolean)
    expected.boolean = boolean.toPython() if isinstance(boolean, Literal) else None
    for header in _list(graph, graph.value(node, HT.headers)):
        expected.headers[str(graph.value(header, HT.fieldName)).lower()] = str(graph.value(header, HT.fieldValue))
    body = graph.value(node, HT.body)
    if body is not None:
        expected.body = str(graph.value(body, CNT.chars))
    location = graph.value(node, MF.expectedLocation)
    expected.location = str(location) if location is not None else None
    return expected


def _request(graph: Graph, node) -> Request:
    headers = [(str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
               for h in _list(graph, graph.value(node, HT.headers))]
    body = graph.value(node, HT.body)
    text = encoding = None
    if body is not None:
        text = str(graph.value(body, CNT.chars))
        encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
    return Request(method=str(graph.value(node, HT.methodName)), path=str(graph.value(node, HT.absolutePath)),
                   headers=headers, text=text, encoding=encoding or "UTF-8",
                   expected=_response(graph, graph.value(node, HT.resp)))


def load(suite: str) -> list[Entry]:
    """The entries of tests/w3c/{suite}/manifest.ttl, in the order of its mf:entries list."""
    path = W3C / suite / "manifest.ttl"
    graph = Graph().parse(path, format="turtle", publicID=path.as_uri())
    manifest = graph.value(predicate=RDF.type, object=MF.Manifest)
    entries = []
    for test in _list(graph, graph.value(manifest, MF.entries)):
        action = graph.value(test, MF.action)
        requests = [_request(graph, r) for r in _list(graph, graph.value(action, HT.requests))] if action else []
        data = []
        for item in graph.objects(test, UT.graphData):
            file = Path(urlsplit(str(graph.value(item, UT.graph))).path)
            data.append((file, str(graph.value(item, RDFS.label))))
        entries.append(Entry(name=local(test), iri=str(test), label=str(graph.value(test, MF.name)),
                             requires=sorted(local(r) for r in graph.objects(test, MF.requires)),
                             graph_data=sorted(data, key=lambda d: d[1]), requests=requests))
    return entries


# --- sending -------------------------------------------------------------------------------------

def split_path(path: str, prefix: str) -> list[tuple[str, str]]:
    """The query parameters of a manifest path whose path part is `prefix` (the endpoint)."""
    route, _, query = path.partition("?")
    if route.rstrip("/") != prefix.rstrip("/"):
        raise ValueError(f"{path!r} is not a request to {prefix!r}")
    return parse_qsl(query, keep_blank_values=True)


def query_string(params: list[tuple[str, str]]) -> str:
    """Percent-encode parameters; a parameter without value (`?default`) stays bare."""
    parts = [quote(k, safe="") if v == "" and k == "default" else urlencode([(k, v)], quote_via=quote)
             for k, v in params]
    return "&".join(parts)


def send(http: httpx.Client, request: Request, endpoint: str, params: list[tuple[str, str]],
         body: bytes | None = None, token: str | None = None, accept: str | None = None) -> httpx.Response:
    """Send `request` to `endpoint` (a path on the server) with `params` as its query string."""
    headers = {name: value for name, value in request.headers}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if accept:
        headers["Accept"] = accept
    url = endpoint + (("?" + query_string(params)) if params else "")
    content = request.body if body is None else body
    return http.request(request.method, url, headers=headers, content=content)


def check_status(response: httpx.Response, expected: Expected, known: tuple[int, tuple[str, ...]] | None = None,
                 what: str = "") -> None:
    """Assert the status is one the manifest allows; raise KnownDeviation when the answer is the
    `known` one: (status, texts), one of the texts appearing in the body."""
    if expected.allows(response.status_code):
        return
    message = (f"{what}{response.request.method} {response.request.url} answered {response.status_code}, "
               f"the manifest expects {expected.describe()}: {response.text[:500]}")
    if known and response.status_code == known[0] and any(t.lower() in response.text.lower() for t in known[1]):
        raise KnownDeviation(message)
    raise AssertionError(message)


def store_contents(http: httpx.Client) -> dict[str, list[str]]:
    """Every graph of the store as sorted N-Triples lines, without the bookkeeping graph (whose
    revision counter every write moves): what the W3C tests must leave as they found it."""
    from server_fixture import GRAPH_BASE, dump_store

    return {name: lines for name, lines in dump_store(http).items() if name != GRAPH_BASE + "meta"}


@pytest.fixture(scope="module", autouse=True)
def store_left_as_found(client):
    """The W3C tests clean up after themselves: the shared store ends as it began (bookkeeping aside).
    A test module that imports this fixture has it for all its tests."""
    before = store_contents(client)
    yield
    assert store_contents(client) == before, "the W3C tests left the shared store changed"


# --- comparing graphs ----------------------------------------------------------------------------

def same_graph(got: Graph, want: Graph) -> bool:
    """Isomorphic as they are: blank nodes must come back as blank nodes."""
    return isomorphic(got, want)


def media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """('text/turtle', {'charset': 'utf-8'}) for 'text/turtle; charset=UTF-8'."""
    kind, *params = (value or "").split(";")
    out = {}
    for param in params:
        key, _, val = param.partition("=")
        out[key.strip().lower()] = val.strip().strip('"').lower()
    return kind.strip().lower(), out

