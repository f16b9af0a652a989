"""Fuzzing the HTTP API of a real `gros serve`: any 5xx is a bug.

- schemathesis generates requests from the app's own OpenAPI description (/openapi.json; the
  raw-request routes are described in gros/api_description.py), with and without the token;
- hypothesis generates SPARQL queries from a small grammar (valid ones and broken ones) and RDF
  documents (Turtle, N-Triples, JSON-LD) from random terms, then mutates them.

The runs are bounded (max_examples), so this file takes well under a minute and a half. The
server is one of its own: the fuzzer writes and deletes graphs.
"""
from __future__ import annotations

import json
import string

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch import environment, start
from server_fixture import GRAPH_BASE, QUERY_TIMEOUT, TOKEN

FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)

# Bodies that are not JSON: schemathesis needs a strategy for each media type it is to send.
_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
for _media in ("application/sparql-query", "application/sparql-update", "text/turtle", "application/n-triples",
               "application/rdf+xml", "application/trig", "application/n-quads"):
    schemathesis.openapi.media_type(_media, _TEXT.map(str.encode))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    running = start(tmp_path_factory.mktemp("gros-fuzz"), environment(TOKEN))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_server):
    with httpx.Client(base_url=fuzz_server.url, timeout=QUERY_TIMEOUT + 15) as http:
        yield http


def no_server_error(response: httpx.Response, request: str) -> None:
    """No 5xx; a 503 at the time limit is the documented answer for a slow request, not a bug."""
    if response.status_code == 503 and "--query-timeout" in response.text:
        return
    assert response.status_code < 500, f"{request}\n→ {response.status_code} {response.text[:500]}"


# --- schemathesis over /openapi.json ---------------------------------------------------------------

def test_the_api_never_answers_5xx(fuzz_server):
    """Every operation of /openapi.json, with requests schemathesis generates from it. Each one
    is sent twice: without a token, and with one (so writes get past the token check into
    parsing, the SHACL gate and the store). Schemathesis' own pytest plugin does not run under
    this pytest, so its strategies are driven by hypothesis directly."""
    api = schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= {"/sparql", "/rdf-graphs", "/health"}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(FUZZ, max_examples=12)
        def exercise(case):
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
                response = case.call(headers=headers, timeout=QUERY_TIMEOUT + 15)
                assert response.status_code < 500 or (response.status_code == 503 and "--query-timeout" in response.text), \
                    (f"{case.method} {case.formatted_path} {case.query} {case.headers} {case.body!r}\n"
                     f"→ {response.status_code} {response.text[:500]}")

        exercise()


# --- hypothesis: SPARQL queries -----------------------------------------------------------------------

IRIS = st.sampled_from(["<https://w3id.org/gros/id/region/limburg-nl>", "<http://www.w3.org/2000/01/rdf-schema#label>",
                        "rdf:type", "rdfs:label", "<https://w3id.org/gros/def#Body>", "<urn:x>", "<http://a/é%20b>"])
VARIABLES = st.sampled_from(["?s", "?p", "?o", "?x", "$y"])
LITERALS = st.one_of(
    st.text(alphabet=string.printable + "éß中\u200b", max_size=12).map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(['"x"@nl', '"2024-01-01"^^xsd:date', '"abc"^^xsd:integer', '"1e400"^^xsd:double', "true"]))
TERMS = st.one_of(IRIS, VARIABLES, LITERALS)
FUNCTIONS = st.sampled_from(["STR", "LANG", "DATATYPE", "BOUND", "ISIRI", "STRLEN", "UCASE", "ABS", "ROUND",
                             "YEAR", "MD5", "ENCODE_FOR_URI", "IRI", "BNODE", "xsd:integer", "xsd:dateTime"])


def expressions(depth: int = 2):
    leaf = st.one_of(TERMS, st.tuples(FUNCTIONS, TERMS).map(lambda t: f"{t[0]}({t[1]})"))
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", "&&", "||"]), sub).map(" ".join),
        st.tuples(sub, sub).map(lambda t: f"REGEX(STR({t[0]}), STR({t[1]}))"),
        st.tuples(sub, sub).map(lambda t: f"CONCAT({t[0]}, {t[1]})"),
        st.tuples(sub, sub, sub).map(lambda t: f"IF({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"SUBSTR(STR({t[0]}), {t[1]})"))


TRIPLE = st.tuples(st.one_of(IRIS, VARIABLES), st.one_of(IRIS, VARIABLES, st.sampled_from(["rdfs:label+", "^rdf:type", "(rdf:type|rdfs:label)*"])), TERMS).map(" ".join)


@st.composite
def patterns(draw, depth: int = 2):
    parts = [draw(TRIPLE)]
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["triple", "filter", "bind", "optional", "union", "minus", "values", "graph"]))
        if kind == "triple":
            parts.append(draw(TRIPLE))
        elif kind == "filter":
            parts.append(f"FILTER({draw(expressions())})")
        elif kind == "bind":
            parts.append(f"BIND({draw(expressions())} AS ?b{draw(st.integers(0, 3))})")
        elif kind == "values":
            parts.append(f"VALUES ?x {{ {' '.join(draw(st.lists(TERMS, max_size=3)))} }}")
        elif depth > 0:
            inner = draw(patterns(depth - 1))
            parts.append({"optional": f"OPTIONAL {{ {inner} }}", "minus": f"MINUS {{ {inner} }}",
                          "union": f"{{ {inner} }} UNION {{ {draw(patterns(depth - 1))} }}",
                          "graph": f"GRAPH {draw(st.one_of(IRIS, VARIABLES))} {{ {inner} }}"}[kind])
    return " . ".join(parts)


@st.composite
def queries(draw):
    where = draw(patterns())
    form = draw(st.sampled_from(["select", "select", "ask", "construct", "describe", "aggregate"]))
    head = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> "
    if form == "select":
        body = f"SELECT {draw(st.sampled_from(['*', 'DISTINCT *', '?s ?o', '(STR(?s) AS ?t)']))} WHERE {{ {where} }}"
    elif form == "ask":
        body = f"ASK {{ {where} }}"
    elif form == "construct":
        body = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}"
    elif form == "describe":
        body = f"DESCRIBE {draw(st.one_of(IRIS, VARIABLES))} WHERE {{ {where} }}"
    else:
        body = f"SELECT ?s (COUNT(*) AS ?n) (SAMPLE(?o) AS ?any) WHERE {{ {where} }} GROUP BY ?s HAVING(?n > {draw(st.integers(-1, 3))})"
    body += draw(st.sampled_from(["", " ORDER BY ?s", " ORDER BY DESC(STR(?o))", " LIMIT 5", " OFFSET 3 LIMIT 2"]))
    text = head + body
    # A share of broken queries: a character cut out or thrown in.
    if draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + draw(st.sampled_from(["", "{", "}", "(", '"', "<", "\\", "\x00", "\ufffd"])) + text[at + 1:]
    return text


@given(query=queries(), accept=st.sampled_from(["application/sparql-results+json", "text/csv", "*/*",
                                                 "application/n-triples", "text/turtle", "application/x-nothing"]))
@settings(FUZZ, max_examples=120)
def test_generated_queries_never_answer_5xx(fuzz_client, query, accept):
    response = fuzz_client.post("/sparql", content=query.encode(), headers={
        "Content-Type": "application/sparql-query", "Accept": accept})
    no_server_error(response, query)


@given(update=st.tuples(st.sampled_from(["INSERT DATA", "DELETE DATA"]), st.lists(
    st.tuples(st.sampled_from(["<https://example.org/fuzz/a>", "<https://example.org/fuzz/b>"]),
              st.sampled_from(["<http://www.w3.org/2000/01/rdf-schema#comment>", "<https://example.org/fuzz/p>"]),
              LITERALS).map(" ".join), min_size=1, max_size=3)).map(
    lambda t: f"{t[0]} {{ GRAPH <{GRAPH_BASE}fuzz> {{ {' . '.join(t[1])} }} }}"))
@settings(FUZZ, max_examples=30)
def test_generated_updates_never_answer_5xx(fuzz_client, update):
    response = fuzz_client.post("/sparql", content=update.encode(), headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
    no_server_error(response, update)


# --- hypothesis: RDF documents -------------------------------------------------------------------------

SUBJECTS = st.one_of(st.sampled_from(["<https://example.org/fuzz/s>", "_:b1", "[]", "<s>", "<>"]),
                     st.text(alphabet=string.ascii_letters + ":/#%.-", min_size=1, max_size=20).map(lambda t: f"<{t}>"))
OBJECTS = st.one_of(SUBJECTS, LITERALS, st.sampled_from(["( 1 2 )", "[ <https://example.org/fuzz/p> 1 ]", "()"]))


@st.composite
def turtle(draw):
    lines = [draw(st.sampled_from(["", "@prefix ex: <https://example.org/fuzz/> .", "@base <https://example.org/> ."]))]
    for _ in range(draw(st.integers(1, 5))):
        lines.append(f"{draw(SUBJECTS)} {draw(st.sampled_from(['<https://example.org/fuzz/p>', 'a', 'ex:q', '<p>']))} "
                     f"{draw(OBJECTS)} {draw(st.sampled_from(['.', ';', ',', '', '. .']))}")
    text = "\n".join(lines)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "<", '"', "@", "\\u00", "\x00", "🙂"])) + text[at:]
    return text


def json_values():
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10),
                  st.sampled_from(["@id", "@type", "https://example.org/fuzz/p", "_:b", "@graph"])),
        lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(
            st.sampled_from(["@id", "@type", "@context", "@graph", "@value", "@language", "@list", "@reverse",
                             "https://example.org/fuzz/p", "name"]), children, max_size=4)),
        max_leaves=12)


@given(document=st.one_of(turtle().map(lambda t: ("text/turtle", t)), turtle().map(lambda t: ("application/n-triples", t)),
                          json_values().map(lambda v: ("application/ld+json", json.dumps(v)))))
@settings(FUZZ, max_examples=80)
def test_generated_rdf_documents_never_answer_5xx(fuzz_client, document):
    media_type, text = document
    response = fuzz_client.put("/rdf-graphs", params={"graph": f"{GRAPH_BASE}fuzz-upload"}, content=text.encode(),
                               headers={"Content-Type": media_type, "Authorization": f"Bearer {TOKEN}"})
    no_server_error(response, f"{media_type}: {text}")
    assert response.status_code in (201, 204, 400, 415, 422), (response.status_code, response.text[:300])


def test_the_fuzzed_server_still_answers(fuzz_client):
    response = fuzz_client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": "application/json"})
    assert response.status_code == 200
