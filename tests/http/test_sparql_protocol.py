"""The SPARQL 1.1 Query Protocol at /sparql, over real HTTP against `gros serve`.

Covers the three ways to send a query, the dataset parameters, content negotiation of every
result format (each response parsed back), ASK, the protocol's errors, the service
description and the query page, caching (ETag, 304) and CORS.
"""
from __future__ import annotations

import csv
import html
import io
import json
import xml.etree.ElementTree as ET

import pytest
import rdflib
from rdflib.namespace import RDF

from server_fixture import MAX_ROWS, MINIMAL_GRAPH, problem, select, update

RESULTS = "{http://www.w3.org/2005/sparql-results#}"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = rdflib.Namespace("http://www.w3.org/ns/formats/")

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"


def labels_query(known) -> str:
    return f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?label WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ ?s rdfs:label ?label . FILTER(?s = <{known.resource}>) }} }}
ORDER BY ?label"""


def media(response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


# --- the three ways to send a query -------------------------------------------------------------

def test_get_with_query_parameter(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)})
    assert response.status_code == 200, response.text
    labels = {b["label"]["value"] for b in response.json()["results"]["bindings"]}
    assert {known.label_nl, known.label_en} <= labels


def test_post_form_with_query_parameter(client, known):
    response = client.post("/sparql", data={"query": labels_query(known)})
    assert response.status_code == 200, response.text
    labels = {b["label"]["value"] for b in response.json()["results"]["bindings"]}
    assert {known.label_nl, known.label_en} <= labels


def test_post_sparql_query_body(client, known):
    response = client.post("/sparql", content=labels_query(known).encode(),
                           headers={"Content-Type": "application/sparql-query; charset=utf-8"})
    assert response.status_code == 200, response.text
    labels = {b["label"]["value"] for b in response.json()["results"]["bindings"]}
    assert {known.label_nl, known.label_en} <= labels


def test_post_responses_are_not_stored_by_caches(client, known):
    response = client.post("/sparql", data={"query": labels_query(known)})
    assert response.headers["cache-control"] == "no-store"


# --- the dataset: default-graph-uri and named-graph-uri ------------------------------------------

def test_default_graph_uri_sets_the_default_graph(client, known):
    query = f"ASK {{ <{known.resource}> ?p ?o }}"
    assert select_boolean(client, query, {}) is True  # the union of all graphs
    assert select_boolean(client, query, {"default-graph-uri": MINIMAL_GRAPH}) is True
    assert select_boolean(client, query, {"default-graph-uri": "https://w3id.org/gros/graph/no-such-graph"}) is False


def test_default_graph_uri_on_post_body_is_read_from_the_url(client, known):
    query = f"ASK {{ <{known.resource}> ?p ?o }}"
    response = client.post("/sparql", content=query.encode(), params={"default-graph-uri": "https://example.org/none"},
                           headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200, response.text
    assert response.json()["boolean"] is False


def test_named_graph_uri_restricts_the_named_graphs(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    every = {row["g"] for row in select(client, query)}
    assert MINIMAL_GRAPH in every and len(every) > 1
    only = {row["g"] for row in select(client, query, **{"named-graph-uri": MINIMAL_GRAPH})}
    assert only == {MINIMAL_GRAPH}


def select_boolean(client, query: str, params: dict) -> bool:
    response = client.get("/sparql", params={"query": query, **params}, headers={"Accept": JSON})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


# --- SELECT results in every format --------------------------------------------------------------

def parse_json(text: str) -> list[tuple[str, str]]:
    data = json.loads(text)
    assert data["head"]["vars"] == ["s", "label"]
    return [(b["s"]["value"], b["label"]["value"]) for b in data["results"]["bindings"]]


def parse_xml(text: str) -> list[tuple[str, str]]:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == RESULTS + "sparql"
    names = [v.get("name") for v in root.find(RESULTS + "head")]
    assert names == ["s", "label"]
    rows = []
    for result in root.find(RESULTS + "results"):
        values = {b.get("name"): b[0].text for b in result}
        rows.append((values["s"], values["label"]))
    return rows


def parse_csv(text: str) -> list[tuple[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == ["s", "label"]
    return [tuple(row) for row in reader]


def parse_tsv(text: str) -> list[tuple[str, str]]:
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split("\t") == ["?s", "?label"]
    rows = []
    for line in lines[1:]:
        s, label = line.split("\t")
        assert s.startswith("<") and s.endswith(">")
        assert label.startswith('"') and '"@' in label  # a language-tagged literal in Turtle syntax
        rows.append((s[1:-1], label[1:label.rindex('"@')]))
    return rows


PARSERS = {JSON: parse_json, XML: parse_xml, CSV: parse_csv, TSV: parse_tsv}


@pytest.mark.parametrize("media_type", [JSON, XML, CSV, TSV])
def test_select_in_each_format_by_accept(client, known, media_type):
    response = client.get("/sparql", params={"query": labels_query(known)}, headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    rows = PARSERS[media_type](response.text)
    assert (known.resource, known.label_nl) in rows
    assert (known.resource, known.label_en) in rows
    assert rows == parse_json(client.get("/sparql", params={"query": labels_query(known)},
                                         headers={"Accept": JSON}).text)


@pytest.mark.parametrize("name,media_type", [("json", JSON), ("xml", XML), ("csv", CSV), ("tsv", TSV)])
def test_select_in_each_format_by_format_parameter(client, known, name, media_type):
    response = client.get("/sparql", params={"query": labels_query(known), "format": name},
                          headers={"Accept": "application/sparql-results+json"})  # ?format= wins over Accept
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    assert (known.resource, known.label_en) in PARSERS[media_type](response.text)


@pytest.mark.parametrize("accept,expected", [
    ("application/sparql-results+json;q=0.5, text/csv;q=0.9", CSV),
    ("text/csv;q=0.1, application/sparql-results+xml", XML),
    ("text/tab-separated-values;q=0.3, text/csv;q=0.2, */*;q=0.1", TSV),
    ("application/sparql-results+json;q=0, */*", XML),
    ("text/*", CSV),
])
def test_q_values_choose_the_format(client, known, accept, expected):
    response = client.get("/sparql", params={"query": labels_query(known)}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert media(response) == expected


@pytest.mark.parametrize("accept", ["*/*", None])
def test_any_or_no_accept_gives_json(client, known, accept):
    headers = {"Accept": accept} if accept else {}
    request = client.build_request("GET", "/sparql", params={"query": labels_query(known)}, headers=headers)
    if accept is None:
        del request.headers["Accept"]
    response = client.send(request)
    assert response.status_code == 200, response.text
    assert media(response) == JSON
    assert parse_json(response.text)


# --- CONSTRUCT and DESCRIBE ----------------------------------------------------------------------

GRAPH_FORMATS = [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                 ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")]


def construct_query(known) -> str:
    return f"CONSTRUCT {{ <{known.resource}> ?p ?o }} WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> ?p ?o }} }}"


def test_construct_defaults_to_turtle(client, known):
    response = client.get("/sparql", params={"query": construct_query(known)}, headers={"Accept": "*/*"})
    assert response.status_code == 200, response.text
    assert media(response) == "text/turtle"
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    assert len(graph) == min(known.triples, MAX_ROWS)


@pytest.mark.parametrize("media_type,rdflib_format", GRAPH_FORMATS)
def test_construct_in_each_graph_format(client, known, media_type, rdflib_format):
    response = client.get("/sparql", params={"query": construct_query(known)}, headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    graph = rdflib.Graph().parse(data=response.text, format=rdflib_format)
    assert len(graph) == min(known.triples, MAX_ROWS)
    assert (rdflib.URIRef(known.resource), rdflib.RDFS.label, rdflib.Literal(known.label_nl, lang="nl")) in graph


@pytest.mark.parametrize("media_type,rdflib_format", GRAPH_FORMATS)
def test_describe_in_each_graph_format(client, known, media_type, rdflib_format):
    query = f"DESCRIBE <{known.resource}>"
    reference = rdflib.Graph().parse(
        data=client.get("/sparql", params={"query": query}, headers={"Accept": "application/n-triples"}).text,
        format="nt")
    assert len(reference) > 0
    response = client.get("/sparql", params={"query": query}, headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    graph = rdflib.Graph().parse(data=response.text, format=rdflib_format)
    assert len(graph) == len(reference)
    assert (rdflib.URIRef(known.resource), rdflib.RDFS.label, rdflib.Literal(known.label_en, lang="en")) in graph


# --- ASK -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", [True, False])
def test_ask_in_json(client, known, answer):
    label = known.label_nl if answer else known.label_nl + " (not a label)"
    query = f'ASK {{ <{known.resource}> <http://www.w3.org/2000/01/rdf-schema#label> {json.dumps(label)}@nl }}'
    response = client.get("/sparql", params={"query": query}, headers={"Accept": JSON})
    assert response.status_code == 200, response.text
    assert media(response) == JSON
    assert json.loads(response.text) == {"head": {}, "boolean": answer}


@pytest.mark.parametrize("answer", [True, False])
def test_ask_in_xml(client, known, answer):
    label = known.label_en if answer else known.label_en + " (not a label)"
    query = f'ASK {{ <{known.resource}> <http://www.w3.org/2000/01/rdf-schema#label> {json.dumps(label)}@en }}'
    response = client.get("/sparql", params={"query": query}, headers={"Accept": XML})
    assert response.status_code == 200, response.text
    assert media(response) == XML
    root = ET.fromstring(response.content)
    assert root.find(RESULTS + "boolean").text == ("true" if answer else "false")


# --- errors --------------------------------------------------------------------------------------

def test_syntax_error_is_400_naming_line_and_column(client):
    query = "SELECT * WHERE {\n  ?s ?p ?o .\n  ?s ?p }"
    response = client.get("/sparql", params={"query": query}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    body = problem(response)
    position = body["details"][0]
    assert position["line"] == 3
    assert isinstance(position["column"], int) and position["column"] > 0
    assert f"{position['line']}:{position['column']}" in body["error"]
    assert "parse" in body["error"]


def test_syntax_error_for_a_browser_is_an_html_page(client):
    response = client.get("/sparql", params={"query": "SELEC nothing"}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert media(response) == "text/html"
    assert "does not parse" in html.unescape(response.text)


def test_query_parameter_twice_is_400(client):
    response = client.get("/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert response.status_code == 400
    assert "query" in problem(response)["error"]


def test_query_and_update_together_is_400(client, server):
    response = client.post("/sparql", data={"query": "ASK {}", "update": "CLEAR SILENT GRAPH <https://example.org/g>"},
                           headers={"Authorization": f"Bearer {server.token}"})
    assert response.status_code == 400
    assert "not both" in problem(response)["error"]


def test_update_by_get_is_405(client):
    response = client.get("/sparql", params={"update": "CLEAR SILENT GRAPH <https://example.org/g>"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "POST" in problem(response)["error"]


def test_post_with_text_plain_is_415_naming_the_types_that_work(client):
    response = client.post("/sparql", content=b"ASK {}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    message = problem(response)["error"]
    for media_type in ("application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update"):
        assert media_type in message


def test_unacceptable_format_is_406_listing_the_acceptable_ones(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    for media_type in (JSON, XML, CSV, TSV):
        assert media_type in response.text


def test_format_not_offered_for_a_graph_is_406_with_the_acceptable_types_in_details(client, known):
    response = client.get("/sparql", params={"query": construct_query(known), "format": "csv"},
                          headers={"Accept": "application/json"})
    assert response.status_code == 406
    body = problem(response)
    acceptable = [d["acceptable"] for d in body["details"] if "acceptable" in d][0]
    assert "text/turtle" in acceptable and "application/n-triples" in acceptable


def test_unknown_format_parameter_is_400(client, known):
    response = client.get("/sparql", params={"query": labels_query(known), "format": "png"})
    assert response.status_code == 400
    assert "png" in problem(response)["error"]


@pytest.mark.parametrize("how", ["get", "form", "body"])
def test_empty_query_is_400(client, how):
    if how == "get":
        response = client.get("/sparql", params={"query": ""})
    elif how == "form":
        response = client.post("/sparql", data={"query": "  \n"})
    else:
        response = client.post("/sparql", content=b"   ", headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400
    assert "empty" in problem(response)["error"]


def test_body_that_is_not_utf8_is_400(client):
    body = "SELECT * WHERE { ?s ?p \"caf\u00e9\" }".encode("latin-1")
    response = client.post("/sparql", content=body, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 400
    assert "UTF-8" in problem(response)["error"]


def test_form_body_that_is_not_utf8_is_400(client):
    response = client.post("/sparql", content=b"query=ASK%20%7B%7D&x=\xff",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert "UTF-8" in problem(response)["error"]


def test_body_over_the_size_limit_is_413(client):
    body = b"#" * (11 * 1024 * 1024) + b"\nASK {}"
    response = client.post("/sparql", content=body, headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    assert str(10 * 1024 * 1024) in problem(response)["error"]


def test_streamed_body_over_the_size_limit_is_413(client):
    def chunks():  # no Content-Length: the server has to count while it reads
        for _ in range(11):
            yield b"#" * (1024 * 1024)
        yield b"\nASK {}"

    response = client.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 413
    assert "limit" in problem(response)["error"]


def test_non_ascii_literals_round_trip(client, fresh_graph):
    text = "Grensoverschrijdend — Liège, Düsseldorf, Ærøskøbing, 東京, emoji 🇳🇱🇧🇪🇩🇪, quote \" and \\"
    literal = json.dumps(text, ensure_ascii=False)
    subject = "https://example.org/test/non-ascii"
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{subject}> '
                              f'<http://www.w3.org/2000/01/rdf-schema#comment> {literal}@nl }} }}')
    assert response.status_code == 200, response.text
    query = f"SELECT ?o WHERE {{ GRAPH <{fresh_graph}> {{ <{subject}> ?p ?o }} }}"
    assert [row["o"] for row in select(client, query)] == [text]
    for media_type in (XML, CSV, TSV):
        response = client.get("/sparql", params={"query": query}, headers={"Accept": media_type})
        assert response.status_code == 200
        assert response.encoding.lower().replace("-", "") == "utf8" or media_type == XML
        if media_type == XML:
            assert ET.fromstring(response.content).find(f".//{RESULTS}literal").text == text
        elif media_type == CSV:
            assert list(csv.reader(io.StringIO(response.text, newline="")))[1] == [text]
        else:
            assert response.text.split("\n")[1] == '"Grensoverschrijdend — Liège, Düsseldorf, Ærøskøbing, 東京, ' \
                                                   'emoji 🇳🇱🇧🇪🇩🇪, quote \\" and \\\\"@nl'
    # and the literal in the query text itself, sent in the URL and in a body
    ask = f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p {literal}@nl }} }}"
    assert client.get("/sparql", params={"query": ask}).json()["boolean"] is True
    response = client.post("/sparql", content=ask.encode(), headers={"Content-Type": "application/sparql-query"})
    assert response.json()["boolean"] is True


# --- service description and query page ----------------------------------------------------------

def service_description(client) -> tuple[rdflib.Graph, rdflib.URIRef]:
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.text
    assert media(response) == "text/turtle"
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    services = list(graph.subjects(RDF.type, SD.Service))
    assert len(services) == 1
    return graph, services[0]


def test_service_description_names_the_endpoint_and_languages(client, server):
    graph, service = service_description(client)
    assert graph.value(service, SD.endpoint) == rdflib.URIRef(server.sparql)
    languages = set(graph.objects(service, SD.supportedLanguage))
    assert {SD.SPARQL11Query, SD.SPARQL11Update} <= languages


def test_service_description_lists_the_result_formats(client):
    graph, service = service_description(client)
    formats = set(graph.objects(service, SD.resultFormat))
    assert {FORMATS.SPARQL_Results_JSON, FORMATS.SPARQL_Results_XML, FORMATS.SPARQL_Results_CSV,
            FORMATS.SPARQL_Results_TSV, FORMATS.Turtle, FORMATS["N-Triples"], FORMATS["JSON-LD"],
            FORMATS.RDF_XML} <= formats


def test_service_description_lists_the_content_graphs(client, server):
    graph, service = service_description(client)
    dataset = graph.value(service, SD.defaultDataset)
    assert dataset is not None
    assert graph.value(dataset, SD.defaultGraph) is not None
    names = {str(graph.value(named, SD.name)) for named in graph.objects(dataset, SD.namedGraph)}
    stems = [p.stem for p in sorted((server.root / "ontology").iterdir()) if p.suffix == ".ttl"]
    assert stems
    expected = {MINIMAL_GRAPH} | {f"https://w3id.org/gros/graph/{stem}" for stem in stems}
    assert expected <= names


@pytest.mark.parametrize("media_type,rdflib_format", GRAPH_FORMATS)
def test_service_description_in_each_graph_format(client, media_type, rdflib_format):
    response = client.get("/sparql", headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    graph = rdflib.Graph().parse(data=response.text, format=rdflib_format)
    assert len(list(graph.subjects(RDF.type, SD.Service))) == 1


def test_service_description_in_an_unacceptable_format_is_406(client):
    response = client.get("/sparql", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_browser_gets_the_query_page_with_the_named_queries(client, server):
    from gros.content.named_queries import all_queries

    response = client.get("/sparql", headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 200, response.text
    assert media(response) == "text/html"
    page = html.unescape(response.text)
    assert "<form" in page and 'name="query"' in page
    named = all_queries(server.root / "queries")
    assert named
    for query in named.values():
        assert query.title["en"] in page, query.name
        assert query.title["nl"] in page, query.name


# --- caching ---------------------------------------------------------------------------------------

def test_get_responses_carry_an_etag_and_vary_accept(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)})
    assert response.status_code == 200
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    vary = {v.strip().lower() for v in response.headers["vary"].split(",")}
    assert "accept" in vary


def test_the_same_get_gives_the_same_etag(client, known):
    first = client.get("/sparql", params={"query": labels_query(known)})
    second = client.get("/sparql", params={"query": labels_query(known)})
    assert first.headers["etag"] == second.headers["etag"]


def test_another_accept_gives_another_etag(client, known):
    as_json = client.get("/sparql", params={"query": labels_query(known)}, headers={"Accept": JSON})
    as_csv = client.get("/sparql", params={"query": labels_query(known)}, headers={"Accept": CSV})
    assert as_json.headers["etag"] != as_csv.headers["etag"]


def test_if_none_match_gives_304_with_an_empty_body(client, known):
    etag = client.get("/sparql", params={"query": labels_query(known)}).headers["etag"]
    response = client.get("/sparql", params={"query": labels_query(known)}, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    response = client.get("/sparql", params={"query": labels_query(known)},
                          headers={"If-None-Match": '"something-else", ' + etag})
    assert response.status_code == 304


def test_a_stale_etag_gets_the_full_response(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)}, headers={"If-None-Match": '"r0-stale"'})
    assert response.status_code == 200
    assert parse_json(response.text)


def test_an_update_changes_the_etag(client, known, fresh_graph):
    query = labels_query(known)
    before = client.get("/sparql", params={"query": query}).headers["etag"]
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <https://example.org/etag> '
                              f'<http://www.w3.org/2000/01/rdf-schema#comment> "etag" }} }}')
    assert response.status_code == 200, response.text
    after = client.get("/sparql", params={"query": query})
    assert after.headers["etag"] != before
    assert client.get("/sparql", params={"query": query}, headers={"If-None-Match": before}).status_code == 200


# --- CORS --------------------------------------------------------------------------------------------

def test_cors_allows_any_origin_without_credentials(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)},
                          headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers.get("access-control-allow-credentials", "").lower() != "true"
    exposed = {h.strip().lower() for h in response.headers.get("access-control-expose-headers", "").split(",")}
    assert "etag" in exposed


def test_cors_allows_any_origin_also_with_a_cookie(client, known):
    response = client.get("/sparql", params={"query": labels_query(known)},
                          headers={"Origin": "https://evil.example", "Cookie": "session=1"})
    assert response.headers.get("access-control-allow-credentials", "").lower() != "true"
    assert response.headers["access-control-allow-origin"] in ("*", "https://evil.example")


def test_cors_preflight_for_post(client):
    response = client.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    assert response.headers.get("access-control-allow-credentials", "").lower() != "true"
