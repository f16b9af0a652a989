"""The SPARQL 1.1 Graph Store HTTP Protocol at /rdf-graphs, over real HTTP against `gros serve`.

Writes go to fresh graphs; every write needs the token and passes the SHACL gate.
"""
from __future__ import annotations

import uuid

import rdflib
from rdflib.compare import isomorphic

from server_fixture import GRAPH_BASE, MINIMAL_GRAPH, TOKEN, auth, problem, revision, update

TURTLE = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <https://example.org/test/> .

ex:one rdfs:comment "een"@nl , "one"@en ;
    rdfs:seeAlso ex:two .
ex:two rdfs:comment "twee — Liège"@nl .
"""

OTHER_TURTLE = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/test/three> rdfs:comment "drie"@nl .
"""

MORE_NTRIPLES = '<https://example.org/test/four> <http://www.w3.org/2000/01/rdf-schema#comment> "vier"@nl .\n'


def parsed(text: str, fmt: str = "turtle") -> rdflib.Graph:
    return rdflib.Graph().parse(data=text, format=fmt)


def put(client, graph: str, body: str, content_type: str = "text/turtle", token: str | None = TOKEN):
    headers = {"Content-Type": content_type, **(auth(token) if token else {})}
    return client.put("/rdf-graphs", params={"graph": graph}, content=body.encode("utf-8"), headers=headers)


def get(client, graph: str, accept: str = "text/turtle"):
    return client.get("/rdf-graphs", params={"graph": graph}, headers={"Accept": accept})


def test_put_a_new_graph_is_201_and_get_returns_it_in_turtle(client, fresh_graph):
    response = put(client, fresh_graph, TURTLE)
    assert response.status_code == 201, response.text
    response = get(client, fresh_graph, "text/turtle")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    assert isomorphic(parsed(response.text), parsed(TURTLE))


def test_get_returns_the_graph_in_n_triples(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = get(client, fresh_graph, "application/n-triples")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/n-triples")
    expected = sorted(parsed(TURTLE).serialize(format="nt").strip().splitlines())
    assert sorted(response.text.strip().splitlines()) == expected


def test_put_again_is_204_and_replaces_the_content(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = put(client, fresh_graph, OTHER_TURTLE)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert isomorphic(parsed(get(client, fresh_graph).text), parsed(OTHER_TURTLE))


def test_post_adds_to_a_graph_with_204(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = client.post("/rdf-graphs", params={"graph": fresh_graph}, content=MORE_NTRIPLES.encode(),
                           headers={"Content-Type": "application/n-triples", **auth()})
    assert response.status_code == 204, response.text
    expected = parsed(TURTLE) + parsed(MORE_NTRIPLES, "nt")
    assert isomorphic(parsed(get(client, fresh_graph).text), expected)


def test_post_to_a_new_graph_creates_it_with_201(client, fresh_graph):
    response = client.post("/rdf-graphs", params={"graph": fresh_graph}, content=MORE_NTRIPLES.encode(),
                           headers={"Content-Type": "application/n-triples", **auth()})
    assert response.status_code == 201, response.text
    assert isomorphic(parsed(get(client, fresh_graph).text), parsed(MORE_NTRIPLES, "nt"))


def test_head_is_200_without_a_body_and_with_content_length(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    full = get(client, fresh_graph, "application/n-triples")
    response = client.head("/rdf-graphs", params={"graph": fresh_graph}, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(full.content)
    assert response.headers["content-type"].startswith("application/n-triples")


def test_delete_is_204_and_the_graph_is_gone(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = client.delete("/rdf-graphs", params={"graph": fresh_graph}, headers=auth())
    assert response.status_code == 204, response.text
    assert get(client, fresh_graph).status_code == 404


def test_get_an_unknown_graph_is_404(client, fresh_graph):
    response = client.get("/rdf-graphs", params={"graph": fresh_graph}, headers={"Accept": "application/json, */*"})
    assert response.status_code == 404
    assert fresh_graph in problem(response)["error"]


def test_delete_an_unknown_graph_is_404(client, fresh_graph):
    response = client.delete("/rdf-graphs", params={"graph": fresh_graph}, headers=auth())
    assert response.status_code == 404


def test_get_the_default_graph(client):
    marker = "<https://example.org/test/in-the-default-graph> <http://www.w3.org/2000/01/rdf-schema#comment> \"default\" ."
    assert update(client, f"INSERT DATA {{ {marker} }}").status_code == 200
    response = client.get("/rdf-graphs", params={"default": ""}, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200, response.text
    assert set(parsed(marker, "nt")) <= set(parsed(response.text, "nt"))
    # the default graph holds only what was written to it, not the content graphs
    content = client.get("/rdf-graphs", params={"graph": MINIMAL_GRAPH}, headers={"Accept": "application/n-triples"})
    assert not set(parsed(content.text, "nt")) & set(parsed(response.text, "nt"))


def test_get_a_content_graph(client, known):
    response = client.get("/rdf-graphs", params={"graph": MINIMAL_GRAPH}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = parsed(response.text)
    assert (rdflib.URIRef(known.resource), rdflib.RDFS.label, rdflib.Literal(known.label_nl, lang="nl")) in graph


def test_delete_the_default_graph_is_204(client):
    marker = "<https://example.org/test/delete-default> <http://www.w3.org/2000/01/rdf-schema#comment> \"x\" ."
    assert update(client, f"INSERT DATA {{ {marker} }}").status_code == 200
    response = client.delete("/rdf-graphs", params={"default": ""}, headers=auth())
    assert response.status_code == 204, response.text
    response = client.get("/rdf-graphs", params={"default": ""}, headers={"Accept": "application/n-triples"})
    assert response.text.strip() == ""


def test_graph_and_default_together_is_400(client, fresh_graph):
    response = client.get("/rdf-graphs", params={"graph": fresh_graph, "default": ""})
    assert response.status_code == 400


def test_get_without_a_graph_is_400(client):
    response = client.get("/rdf-graphs")
    assert response.status_code == 400
    assert "?graph=" in problem(response)["error"]


def test_a_graph_name_that_is_not_an_absolute_iri_is_400(client):
    response = client.get("/rdf-graphs", params={"graph": "not-an-iri"})
    assert response.status_code == 400
    assert "absolute IRI" in problem(response)["error"]


def test_head_of_an_unknown_graph_is_404_without_a_body(client, fresh_graph):
    response = client.head("/rdf-graphs", params={"graph": fresh_graph})
    assert response.status_code == 404
    assert response.content == b""


def test_get_in_an_unacceptable_format_is_406(client):
    response = client.get("/rdf-graphs", params={"graph": MINIMAL_GRAPH}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


def test_put_a_body_that_is_not_utf8_is_400(client, fresh_graph):
    body = '<https://example.org/a> <http://www.w3.org/2000/01/rdf-schema#comment> "Liège" .\n'.encode("latin-1")
    response = client.put("/rdf-graphs", params={"graph": fresh_graph}, content=body,
                          headers={"Content-Type": "application/n-triples", **auth()})
    assert response.status_code == 400
    assert "UTF-8" in problem(response)["error"]
    assert get(client, fresh_graph).status_code == 404


def test_put_malformed_turtle_is_400_naming_line_and_column_and_changes_nothing(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    rev = revision(client)
    broken = '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n<https://example.org/a> rdfs:comment "x" ;\n    rdfs:comment .\n'
    response = put(client, fresh_graph, broken)
    assert response.status_code == 400
    body = problem(response)
    assert body["details"] and body["details"][0]["line"] == 3
    assert isinstance(body["details"][0]["column"], int)
    assert "does not parse" in body["error"]
    assert isomorphic(parsed(get(client, fresh_graph).text), parsed(TURTLE))
    assert revision(client) == rev


def test_put_data_that_violates_the_shapes_is_422_and_changes_nothing(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    rev = revision(client)
    invalid = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/gros/id/goal/test-graph-store> a <https://w3id.org/gros/def#Goal> ;
    rdfs:label "Doel"@nl , "Tweede doel"@nl , "Goal"@en .
"""
    response = put(client, fresh_graph, invalid)
    assert response.status_code == 422, response.text
    details = problem(response)["details"]
    assert any(d["focusNode"] == "https://w3id.org/gros/id/goal/test-graph-store" for d in details)
    assert isomorphic(parsed(get(client, fresh_graph).text), parsed(TURTLE))
    assert revision(client) == rev


def test_put_into_a_content_graph_is_403(client, known):
    before = get(client, MINIMAL_GRAPH, "application/n-triples").text
    response = put(client, MINIMAL_GRAPH, OTHER_TURTLE)
    assert response.status_code == 403
    assert "minimal.ttl" in problem(response)["error"]
    assert get(client, MINIMAL_GRAPH, "application/n-triples").text == before


def test_put_of_a_content_graph_with_its_own_content_is_403(scratch_server):
    import httpx

    with httpx.Client(base_url=scratch_server.url, timeout=30) as http:
        before = get(http, MINIMAL_GRAPH, "application/n-triples").text
        response = put(http, MINIMAL_GRAPH, before, content_type="application/n-triples")
        after = get(http, MINIMAL_GRAPH, "application/n-triples")
        assert after.status_code == 200 and after.text == before
        assert response.status_code == 403


def test_put_without_token_is_401(client, fresh_graph):
    response = put(client, fresh_graph, TURTLE, token=None)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers
    assert get(client, fresh_graph).status_code == 404


def test_delete_without_token_is_401(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = client.delete("/rdf-graphs", params={"graph": fresh_graph})
    assert response.status_code == 401
    assert get(client, fresh_graph).status_code == 200


def test_put_with_an_unsupported_content_type_is_415(client, fresh_graph):
    response = put(client, fresh_graph, "a,b,c\n", content_type="text/csv")
    assert response.status_code == 415
    message = problem(response)["error"]
    assert "text/turtle" in message and "application/n-triples" in message
    assert get(client, fresh_graph).status_code == 404


def test_put_in_other_syntaxes(client, fresh_graph):
    expected = parsed(TURTLE)
    for media_type, fmt in [("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
                            ("application/ld+json", "json-ld")]:
        graph = f"{fresh_graph}-{fmt}"
        response = put(client, graph, expected.serialize(format=fmt), content_type=media_type)
        assert response.status_code == 201, (media_type, response.text)
        assert isomorphic(parsed(get(client, graph).text), expected), media_type


BLANK_TURTLE = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://example.org/test/blank> rdfs:seeAlso [ rdfs:comment "first"@en ; rdfs:seeAlso _:b ] .
_:b rdfs:comment "second"@en .
"""


def test_blank_nodes_come_back_in_every_graph_format(client):
    """The labels the store gives blank nodes must be writable in each syntax (RDF/XML's rdf:nodeID
    cannot start with a digit). Every PUT labels its nodes afresh, so several graphs are tried."""
    expected = parsed(BLANK_TURTLE)
    for _ in range(6):
        graph = f"{GRAPH_BASE}test-{uuid.uuid4().hex}"
        assert put(client, graph, BLANK_TURTLE).status_code == 201
        for media_type, fmt in [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")]:
            response = get(client, graph, media_type)
            assert response.status_code == 200, (media_type, response.text)
            assert isomorphic(parsed(response.text, fmt), expected), (media_type, response.text)


def test_put_keeps_the_triples_that_old_and_new_content_share(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    response = put(client, fresh_graph, TURTLE + MORE_NTRIPLES)
    assert response.status_code == 204, response.text
    assert isomorphic(parsed(get(client, fresh_graph).text), parsed(TURTLE) + parsed(MORE_NTRIPLES, "nt"))


def test_put_is_idempotent(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    assert put(client, fresh_graph, TURTLE).status_code == 204
    response = get(client, fresh_graph)
    assert response.status_code == 200
    assert isomorphic(parsed(response.text), parsed(TURTLE))


def test_post_to_the_store_creates_a_new_graph_with_a_location(client):
    response = client.post("/rdf-graphs", content=TURTLE.encode(), headers={"Content-Type": "text/turtle", **auth()})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.startswith("https://w3id.org/gros/graph/")
    response = get(client, location)
    assert response.status_code == 200
    assert isomorphic(parsed(response.text), parsed(TURTLE))


def test_get_graph_has_an_etag_and_answers_304(client, fresh_graph):
    assert put(client, fresh_graph, TURTLE).status_code == 201
    etag = get(client, fresh_graph).headers["etag"]
    response = client.get("/rdf-graphs", params={"graph": fresh_graph},
                          headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
