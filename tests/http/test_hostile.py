"""Hostile and malformed input against a real `gros serve`: every request here gets a
4xx with a message, and the service goes on answering.

Requests that HTTP clients refuse to build (a 300 KB URL, traversal paths with '..') go out
over a raw connection (http.client), which sends the bytes as given.
"""
from __future__ import annotations

import http.client
import random
import time
from urllib.parse import urlsplit

import httpx
import pytest

from server_fixture import SHORT_TIMEOUT, TOKEN, auth, problem, update, wait_for_workers

QUERY = {"Content-Type": "application/sparql-query"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FIFTY_MB = 50 * 1024 * 1024
SECRETS = ("root:x:0:0", "[build-system]", "BEGIN RSA", "GROS_UPDATE_TOKEN")


@pytest.fixture(autouse=True)
def still_answering(client):
    """After every hostile request the service still answers a plain query."""
    yield
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text


def raw(server, method: str, target: str, headers: dict[str, str] | None = None, body: bytes | None = None):
    """(status, headers, body) for a request sent byte for byte as given."""
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        status, response_headers = response.status, dict(response.getheaders())
        try:
            data = response.read()
        except (ConnectionError, http.client.HTTPException):
            data = b""  # the server answered, then closed the connection on a request it refused
        return status, response_headers, data
    finally:
        connection.close()


def binary(size: int, seed: int = 6) -> bytes:
    return random.Random(seed).randbytes(size)


# --- empty, binary and badly encoded bodies -------------------------------------------------------

@pytest.mark.parametrize("headers,body", [
    (QUERY, b""),
    (QUERY, b"   \n\t  "),
    (FORM, b""),
    (FORM, b"query="),
])
def test_empty_queries_are_400(client, headers, body):
    response = client.post("/sparql", content=body, headers=headers)
    assert response.status_code == 400
    assert problem(response)["error"]


def test_an_empty_update_is_400(client):
    response = update(client, "")
    assert response.status_code == 400
    assert "empty" in problem(response)["error"]


@pytest.mark.parametrize("path,method,content_type,authorised", [
    ("/sparql", "POST", "application/sparql-query", False),
    ("/sparql", "POST", "application/sparql-update", True),
    ("/sparql", "POST", "application/x-www-form-urlencoded", False),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "text/turtle", True),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "POST", "application/n-triples", True),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "application/ld+json", True),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "application/rdf+xml", True),
])
def test_binary_bodies_are_400(client, path, method, content_type, authorised):
    headers = {"Content-Type": content_type, **(auth() if authorised else {})}
    response = client.request(method, path, content=binary(4096), headers=headers)
    assert response.status_code == 400, response.text
    assert problem(response)["error"]


@pytest.mark.parametrize("path,method,content_type,body", [
    ("/sparql", "POST", "application/sparql-query", b'SELECT * WHERE { ?s ?p "\xc3\x28" }'),
    ("/sparql", "POST", "application/x-www-form-urlencoded", b"query=ASK%7B%7D\xff"),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "text/turtle",
     b'<https://w3id.org/gros/id/x> <http://www.w3.org/2000/01/rdf-schema#label> "\xed\xa0\x80" .'),
])
def test_invalid_utf8_is_400_naming_the_byte(client, path, method, content_type, body):
    response = client.request(method, path, content=body, headers={"Content-Type": content_type, **auth()})
    assert response.status_code == 400
    assert "UTF-8" in problem(response)["error"]


def test_invalid_utf8_in_the_url_is_400(server):
    status, _, body = raw(server, "GET", "/sparql?query=ASK%7B%7D%FF%FE", {"Accept": "application/json"})
    assert status == 400 and body


# --- too large --------------------------------------------------------------------------------------

def _fifty_megabytes():
    chunk = b"#" * (1024 * 1024)
    for _ in range(50):
        yield chunk


@pytest.mark.parametrize("path,method,content_type", [
    ("/sparql", "POST", "application/sparql-query"),
    ("/sparql", "POST", "application/sparql-update"),
    ("/sparql", "POST", "application/x-www-form-urlencoded"),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "text/turtle"),
])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_50_mb_body_is_413_naming_the_limit(client, path, method, content_type, framing):
    body = b"#" * FIFTY_MB if framing == "content-length" else _fifty_megabytes()
    response = client.request(method, path, content=body, headers={"Content-Type": content_type, **auth()})
    assert response.status_code == 413
    assert "limit" in problem(response)["error"]


def test_a_300_kb_url_is_refused(server):
    """uvicorn refuses a request line past its limit with 400 and a short text, then closes the
    connection; the reset that follows can swallow the text on the client side, so only the
    status is checked."""
    status, headers, _ = raw(server, "GET", "/sparql?query=ASK%7B%7D" + "%20" * 100_000)
    assert 400 <= status < 500 and headers.get("content-type", "").startswith("text/plain")


# --- queries that would crash or stall the engine ----------------------------------------------------

@pytest.mark.parametrize("query", [
    "SELECT * WHERE " + "{" * 500 + " ?s ?p ?o " + "}" * 500,
    "SELECT * WHERE { FILTER(" + "(" * 20_000 + "1" + ")" * 20_000 + ") }",
    "SELECT * WHERE { ?s ?p " + "[ <http://example.org/p> " * 300 + "1" + " ]" * 300 + " }",
    "SELECT * WHERE { ?s ?p ?o " + " OPTIONAL { ?s ?p ?o " * 300 + "}" * 300 + " }",
], ids=["groups-500-deep", "parentheses-20000-deep", "blank-nodes-300-deep", "optional-300-deep"])
def test_deeply_nested_queries_are_400(client, query):
    response = client.post("/sparql", content=query, headers=QUERY)
    assert response.status_code == 400
    assert "nested" in problem(response)["error"]


def test_a_deeply_nested_update_is_400(client):
    text = "INSERT DATA { <https://w3id.org/gros/id/x> <http://example.org/p> " + "(" * 5000 + ")" * 5000 + " }"
    response = update(client, text)
    assert response.status_code == 400
    assert "nested" in problem(response)["error"]


def test_five_thousand_unions_are_400(client):
    query = "SELECT * WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 5000) + " }"
    response = client.post("/sparql", content=query, headers=QUERY)
    assert response.status_code == 400
    message = problem(response)["error"]
    assert "5001 groups" in message and "VALUES" in message


def test_an_enormous_flat_query_stops_at_the_time_limit(limited_server):
    """10,000 joined patterns pass the shape limits; Oxigraph plans them for longer than the
    time limit, and the worker is stopped: 503 naming the limit, not a crash."""
    import httpx

    query = "SELECT * WHERE { " + " . ".join(f"?s{i % 7} <http://example.org/p> ?o{i}" for i in range(10_000)) + " }"
    response = httpx.post(limited_server.sparql, content=query, headers=QUERY, timeout=120)
    assert response.status_code in (400, 503), response.text
    if response.status_code == 503:
        message = problem(response)["error"]
        assert "--query-timeout" in message and f"{SHORT_TIMEOUT:g} s" in message
    wait_for_workers(limited_server.url, timeout=120)
    assert httpx.get(limited_server.sparql, params={"query": "ASK {}"}, timeout=120).status_code == 200


@pytest.mark.parametrize("pattern", ["^(a+)+$", "(a|aa)*c", "(a*)*b", "^(([a-z])+.)+[A-Z]([a-z])+$", "^(.*a){20}b$"])
def test_pathological_regular_expressions_are_answered(client, pattern):
    """Oxigraph's regex engine (Rust `regex`) is linear in the input: the classic catastrophic
    patterns on a 100,000-character string are answered. A backtracking engine would never end
    them, and the time limit would turn them into a 503."""
    subject = "a" * 100_000 + "!"
    query = f'SELECT (REGEX("{subject}", "{pattern}") AS ?m) WHERE {{}}'
    response = client.post("/sparql", content=query, headers={**QUERY, "Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"][0].get("m", {}).get("value") in (None, "false")


@pytest.mark.parametrize("pattern", ["(a)\\\\1", "a{1000}{1000}", "(", "[z-a]"])
def test_regular_expressions_the_engine_refuses_leave_the_value_unbound(client, pattern):
    """Backreferences, a regex past the engine's size limit and broken syntax are errors in
    the expression: the row has no value (SPARQL's rule for errors in SELECT expressions)."""
    query = f'SELECT (REGEX("aaaa", "{pattern}") AS ?m) WHERE {{}}'
    response = client.post("/sparql", content=query, headers={**QUERY, "Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert "m" not in response.json()["results"]["bindings"][0]


# --- parameters, media types, headers -----------------------------------------------------------------

@pytest.mark.parametrize("params,needle", [
    ({"qurey": "ASK {}"}, "did you mean 'query'"),
    ({"Query": "ASK {}"}, "did you mean 'query'"),
    ({"query": "ASK {}", "formt": "json"}, "did you mean 'format'"),
    ({"query": "ASK {}", "default-graph-ur": "https://w3id.org/gros/graph/minimal"}, "default-graph-uri"),
    ({"query": "ASK {}", "format": "no-such-format"}, "no-such-format"),
])
def test_misspelt_parameters_and_unknown_values_are_400(client, params, needle):
    response = client.get("/sparql", params=params)
    assert response.status_code == 400
    assert needle in problem(response)["error"]


def test_parameters_that_clients_add_are_ignored(client):
    """SPARQLWrapper sends output= and results=, jQuery a cache-busting _=: they do no harm."""
    response = client.get("/sparql", params={"query": "ASK {}", "output": "json", "results": "json", "_": "17"},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/rdf-graphs?grahp=https://w3id.org/gros/graph/minimal",
                                  "/rdf-graphs?graphs=https://w3id.org/gros/graph/minimal",
                                  "/rdf-graphs?defualt"])
def test_misspelt_graph_store_parameters_are_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "did you mean" in problem(response)["error"]


def test_a_repeated_query_is_400(client):
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400
    assert "times" in problem(response)["error"]


@pytest.mark.parametrize("query", [
    "format=json&format=xml",
    "format=tsv&output=json",
    "format=csv&results=application/sparql-results%2Bxml",
])
def test_format_parameters_that_contradict_each_other_are_400_naming_them(client, query):
    response = client.get("/sparql?query=SELECT%20%2A%20%7B%7D&" + query)
    assert response.status_code == 400
    message = problem(response)["error"]
    assert "contradict" in message and all(part.split("=")[0] + "=" in message for part in query.split("&")), message


@pytest.mark.parametrize("query, media", [
    ("format=tsv&format=text/tab-separated-values&output=tsv&results=tsv", "text/tab-separated-values"),
    ("format=json&output=application/sparql-results%2Bjson&results=json", "application/sparql-results+json"),
])
def test_format_parameters_that_agree_are_one_choice_and_win_over_accept(client, query, media):
    response = client.get("/sparql?query=SELECT%20%2A%20%7B%7D&" + query, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == media


def test_a_repeated_graph_parameter_is_400(client):
    response = client.get("/rdf-graphs?graph=https://w3id.org/gros/graph/a&graph=https://w3id.org/gros/graph/b")
    assert response.status_code == 400
    assert "times" in problem(response)["error"]


@pytest.mark.parametrize("path,method,content_type", [
    ("/sparql", "POST", "application/x-no-such-type"),
    ("/sparql", "POST", "text/plain"),
    ("/sparql", "POST", ""),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "application/x-no-such-type"),
    ("/rdf-graphs?graph=https://w3id.org/gros/graph/hostile", "PUT", "image/png"),
])
def test_unknown_content_types_are_415_naming_what_works(client, path, method, content_type):
    headers = {**auth(), **({"Content-Type": content_type} if content_type else {})}
    response = client.request(method, path, content=b"ASK {}", headers=headers)
    assert response.status_code == 415
    assert problem(response)["error"]


@pytest.mark.parametrize("path", ["/sparql?query=ASK%7B%7D", "/rdf-graphs?graph=https://w3id.org/gros/graph/minimal"])
def test_an_unknown_accept_type_is_406_naming_what_works(client, path):
    response = client.get(path, headers={"Accept": "application/x-no-such-type"})
    assert response.status_code == 406
    assert response.text.strip()


@pytest.mark.parametrize("size", [8_000, 100_000])
def test_huge_accept_headers_are_406(client, size):
    accept = ", ".join(f"application/x-junk-{i};q=0.{i % 9 + 1}" for i in range(size // 30))[:size].rstrip(", ;=")
    response = client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": accept})
    assert response.status_code == 406
    assert response.text.strip()


def test_headers_past_the_server_limit_are_refused(server):
    status, headers, _ = raw(server, "GET", "/sparql?query=ASK%7B%7D", {"Accept": "a/b," * 100_000 + "a/b"})
    assert 400 <= status < 500 and headers.get("content-type", "").startswith("text/plain")


# --- paths that map to files ---------------------------------------------------------------------------

TRAVERSALS = [
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    "..%5c..%5c..%5c..%5cpyproject.toml",
    "....//....//....//etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..%00/etc/passwd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
]
FILE_PATHS = ["/static/", "/queries/", "/dumps/", "/export/", "/classes/", "/id/", "/dataset/", "/def."]


@pytest.mark.parametrize("prefix", FILE_PATHS)
@pytest.mark.parametrize("traversal", TRAVERSALS)
def test_path_traversal_finds_nothing(server, prefix, traversal):
    status, headers, body = raw(server, "GET", prefix + traversal, {"Accept": "*/*"})
    text = body.decode("utf-8", errors="replace")
    assert not any(secret in text for secret in SECRETS), (prefix + traversal, status, text[:300])
    assert 400 <= status < 500 or (300 <= status < 400 and urlsplit(headers.get("location", "")).netloc in ("", urlsplit(server.url).netloc)), \
        (prefix + traversal, status, text[:300])


# --- access: tokens, rate limits, CORS, the SERVICE allow-list ------------------------------------------

ALICE = "alice-0123456789abcdef"
BOB = "bob-fedcba9876543210xyz"


class Listener:
    """A loopback HTTP server that records what it is asked. It answers SPARQL with one row,
    or, when `redirect_to` is set, every request with a 302 to that address."""

    def __init__(self, redirect_to: str | None = None):
        import http.server
        import json
        import threading

        listener = self
        self.requests: list[tuple[str, str]] = []
        rows = json.dumps({"head": {"vars": ["x"]},
                           "results": {"bindings": [{"x": {"type": "literal", "value": "from the listener"}}]}}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                listener.requests.append((self.command, self.path))
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(rows)))
                self.end_headers()
                self.wfile.write(rows)

            do_GET = do_POST = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listeners():
    outside = Listener()  # not on the allow-list
    allowed = Listener()
    redirecting = Listener(redirect_to=outside.url + "sparql")
    yield {"outside": outside, "allowed": allowed, "redirecting": redirecting}
    for listener in (outside, allowed, redirecting):
        listener.close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, listeners):
    """A server with named tokens from a file, rate limits, and two allow-listed endpoints."""
    from launch import environment, start

    folder = tmp_path_factory.mktemp("gros-guarded")
    tokens = folder / "tokens"
    tokens.write_text(f"# who may write\nalice:{ALICE}\nbob:{BOB}\n")
    tokens.chmod(0o600)
    running = start(folder, environment(GROS_UPDATE_TOKEN_FILE=str(tokens)),
                    "--allow-service", listeners["allowed"].url, "--allow-service", listeners["redirecting"].url,
                    "--rate-queries", "2", "--rate-writes", "1", "--rate-burst", "2")
    running.token_file = tokens
    yield running
    running.stop()


_clients = iter(range(1, 250))


def as_client() -> dict[str, str]:
    """A client address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1, as from a
    proxy on the same machine), so each test starts with full rate-limit buckets."""
    return {"X-Forwarded-For": f"198.51.100.{next(_clients)}"}


def _write(server, token: str | None, client: dict[str, str]):
    import httpx

    headers = {"Content-Type": "application/sparql-update", **client}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    text = 'INSERT DATA { GRAPH <https://w3id.org/gros/graph/access> { <https://example.org/a> <https://example.org/p> "x" } }'
    return httpx.post(server.sparql, content=text, headers=headers, timeout=30)


def test_each_named_token_may_write_and_others_may_not(guarded):
    assert _write(guarded, ALICE, as_client()).status_code == 200
    assert _write(guarded, BOB, as_client()).status_code == 200
    refused = _write(guarded, ALICE[:-1] + "X", as_client())
    assert refused.status_code == 401 and "not valid" in problem(refused)["error"]
    assert _write(guarded, None, as_client()).status_code == 401


def test_a_token_removed_from_the_file_is_revoked_without_a_restart(guarded):
    try:
        guarded.token_file.write_text(f"alice:{ALICE}\n")
        assert _write(guarded, BOB, as_client()).status_code == 401
        assert _write(guarded, ALICE, as_client()).status_code == 200
    finally:
        guarded.token_file.write_text(f"alice:{ALICE}\nbob:{BOB}\n")
    assert _write(guarded, BOB, as_client()).status_code == 200


def test_tokens_never_reach_the_log_but_their_names_do(guarded):
    _write(guarded, ALICE, as_client())
    _write(guarded, "guess-" + BOB, as_client())
    log = guarded.output()
    assert ALICE not in log and BOB not in log
    assert "'alice'" in log


def at_once(count: int, send) -> list:
    """`count` requests sent together: the rate limiter sees them within a moment, so the answers do
    not depend on how fast the machine is (one by one, a slow machine refills the bucket between them)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: send(), range(count)))


def test_queries_past_the_rate_limit_are_429_with_retry_after(guarded):
    import httpx

    me, other = as_client(), as_client()
    answers = at_once(20, lambda: httpx.get(guarded.sparql, params={"query": "ASK {}"}, headers=me, timeout=60))
    codes = [a.status_code for a in answers]
    # a burst of 2 s at 2 a second, then the limit (20 requests would need 8 s to earn their tokens)
    assert set(codes) == {200, 429} and codes.count(200) >= 4, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert "--rate-queries" in problem(refused)["error"]
    # another client is not affected, and health checks are never limited
    assert httpx.get(guarded.sparql, params={"query": "ASK {}"}, headers=other).status_code == 200
    assert httpx.get(guarded.url + "/health", headers=me).status_code == 200
    time.sleep(float(refused.headers["retry-after"]))
    assert httpx.get(guarded.sparql, params={"query": "ASK {}"}, headers=me).status_code == 200


def test_writes_past_the_rate_limit_are_429_even_without_a_valid_token(guarded):
    me = as_client()
    answers = at_once(12, lambda: _write(guarded, "guess-number", me))
    codes = [a.status_code for a in answers]
    assert set(codes) == {401, 429} and codes.count(401) >= 2, codes  # a burst of 2, then the limit
    refused = next(a for a in answers if a.status_code == 429)
    assert "--rate-writes" in problem(refused)["error"]
    # sent right away, a valid token is refused as well: the limit comes before the token check
    refused = _write(guarded, ALICE, me)
    assert refused.status_code == 429 and "--rate-writes" in problem(refused)["error"]


def test_cors_is_never_granted_with_credentials(client):
    preflight = client.options("/sparql", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers.get("access-control-allow-origin") == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    simple = client.get("/sparql", params={"query": "ASK {}"},
                        headers={"Origin": "https://evil.example", "Cookie": "session=1"})
    assert simple.headers.get("access-control-allow-origin") == "*"
    assert "access-control-allow-credentials" not in simple.headers


def test_an_allow_listed_service_endpoint_is_contacted(guarded, listeners):
    import httpx

    allowed = listeners["allowed"]
    before = len(allowed.requests)
    query = f"SELECT ?x WHERE {{ SERVICE <{allowed.url}sparql> {{ ?x ?p ?o }} }}"
    response = httpx.get(guarded.sparql, params={"query": query}, headers={"Accept": "application/json", **as_client()})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == [{"x": {"type": "literal", "value": "from the listener"}}]
    assert len(allowed.requests) > before


@pytest.mark.parametrize("silent", ["", "SILENT "])
def test_a_redirect_from_an_allow_listed_endpoint_is_not_followed(guarded, listeners, silent):
    import httpx

    query = f"SELECT ?x WHERE {{ SERVICE {silent}<{listeners['redirecting'].url}sparql> {{ ?x ?p ?o }} }}"
    response = httpx.get(guarded.sparql, params={"query": query}, headers={"Accept": "application/json", **as_client()})
    assert listeners["redirecting"].requests, "the allow-listed endpoint was not asked at all"
    assert listeners["outside"].requests == []
    if silent:
        assert response.status_code == 200  # SERVICE SILENT: a failed endpoint gives no rows, no error
    else:
        assert response.status_code == 502 and "redirect" in problem(response)["error"]


def test_a_redirect_is_not_followed_by_service_in_an_update(guarded, listeners):
    import httpx

    text = (f"INSERT {{ GRAPH <https://w3id.org/gros/graph/access> {{ <https://example.org/a> <https://example.org/p> ?x }} }} "
            f"WHERE {{ SERVICE <{listeners['redirecting'].url}sparql> {{ ?x ?p ?o }} }}")
    response = httpx.post(guarded.sparql, content=text, timeout=30, headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {ALICE}", **as_client()})
    assert response.status_code == 400 and "redirect" in problem(response)["error"]
    assert listeners["outside"].requests == []


def test_load_is_refused_even_from_an_allow_listed_endpoint(guarded, listeners):
    import httpx

    before = len(listeners["allowed"].requests)
    response = httpx.post(guarded.sparql, content=f"LOAD <{listeners['allowed'].url}data.ttl>", timeout=30, headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {ALICE}", **as_client()})
    assert response.status_code == 400 and "/rdf-graphs" in problem(response)["error"]
    assert len(listeners["allowed"].requests) == before


def test_rdf_xml_with_entity_declarations_is_400(client):
    """Nested entities ("billion laughs") would expand nine lines to a gigabyte in the server."""
    names = "abcdefghi"
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {names[i]} "{("&" + names[i - 1] + ";") * 10}">' for i in range(1, len(names)))
    document = (f'<?xml version="1.0"?><!DOCTYPE r [{entities}]><rdf:RDF '
                f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                f'rdf:about="https://example.org/a"><rdf:value>&i;</rdf:value></rdf:Description></rdf:RDF>')
    response = client.put("/rdf-graphs", params={"graph": "https://w3id.org/gros/graph/hostile"},
                          content=document.encode(), headers={"Content-Type": "application/rdf+xml", **auth()})
    assert response.status_code == 400
    assert "ENTITY" in problem(response)["error"]


@pytest.mark.parametrize("content,needle", [
    (f"alice:{ALICE}\nbob {BOB}\n", "line 2: expected name:token"),
    (f"alice:{ALICE}\nalice:{BOB}\n", "used twice"),
    ("alice:short\n", "at least 16 characters"),
    ("# nobody\n", "holds no token"),
])
def test_a_bad_token_file_stops_the_start_naming_the_line_not_the_token(guarded, tmp_path, content, needle):
    from launch import environment, run_to_exit

    tokens = tmp_path / "tokens"
    tokens.write_text(content)
    code, output = run_to_exit(tmp_path, guarded.root, tmp_path / "store", environment(GROS_UPDATE_TOKEN_FILE=str(tokens)))
    assert code == 2 and needle in output, output
    assert BOB not in output and "'short'" not in output and ":short" not in output


# --- the body limit in every framing ------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory):
    from server_fixture import start_server

    running = start_server(tmp_path_factory.mktemp("gros-max-body"), TOKEN, "--max-body", "2000")
    yield running
    running.stop()


def _multipart(parts: int, triples_per_part: int, graph_word: str) -> tuple[bytes, str]:
    boundary = "gros-test-boundary"
    chunks = []
    for number in range(parts):
        turtle = "".join(f'<https://example.org/{graph_word}/{number}/{i}> <{RDFS_COMMENT}> "{"x" * 20}" .\n'
                         for i in range(triples_per_part))
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="f{number}"; filename="f{number}.ttl"\r\n'
                      f"Content-Type: text/turtle\r\n\r\n{turtle}\r\n")
    chunks.append(f"--{boundary}--\r\n")
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


RDFS_COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


@pytest.mark.parametrize("chunked", [True, False])
def test_a_multipart_body_over_the_limit_is_413_and_stores_nothing(small_body_server, chunked):
    body, content_type = _multipart(parts=6, triples_per_part=10, graph_word="over-limit")
    assert len(body) > 2000 and all(len(part) < 2000 for part in body.split(b"--gros-test-boundary"))
    graph = f"{small_body_server.graphs}/over-limit-{'chunked' if chunked else 'length'}"
    content = iter([body[i:i + 500] for i in range(0, len(body), 500)]) if chunked else body
    with httpx.Client(base_url=small_body_server.url, timeout=30) as http:
        response = http.post(graph, content=content, headers={"Content-Type": content_type, **auth()})
        assert response.status_code == 413, response.text
        assert "2000" in problem(response)["error"]
        assert http.get(graph).status_code == 404


def test_chunked_sparql_bodies_over_the_limit_are_413(small_body_server):
    text = 'INSERT DATA { <https://example.org/x> <https://example.org/p> "' + "y" * 3000 + '" }'
    body = text.encode()
    with httpx.Client(base_url=small_body_server.url, timeout=30) as http:
        for content_type, payload in [("application/sparql-update", body),
                                      ("application/x-www-form-urlencoded", b"update=" + body)]:
            response = http.post("/sparql", content=iter([payload[:1000], payload[1000:]]),
                                 headers={"Content-Type": content_type, **auth()})
            assert response.status_code == 413, (content_type, response.text)
        assert not http.get("/sparql", params={"query": "ASK { <https://example.org/x> ?p ?o }"},
                            headers={"Accept": "application/sparql-results+json"}).json()["boolean"]


def test_too_many_multipart_parts_are_refused_and_nothing_stored(client, fresh_graph):
    from gros.http.graph_store import MAX_PARTS

    body, content_type = _multipart(parts=MAX_PARTS + 1, triples_per_part=1, graph_word="many-parts")
    response = client.post("/rdf-graphs", params={"graph": fresh_graph}, content=body,
                           headers={"Content-Type": content_type, **auth()})
    assert response.status_code == 413, response.text
    assert str(MAX_PARTS) in problem(response)["error"]
    assert client.get("/rdf-graphs", params={"graph": fresh_graph}).status_code == 404
