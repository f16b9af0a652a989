"""SPARQL 1.1 Update at /sparql over real HTTP: the token, the SHACL gate, protected graphs,
network access, skolemised blank nodes, and the promise that a refused change leaves the store
exactly as it was.

Every write goes to a fresh graph (`fresh_graph`), so the tests do not depend on their order.
"""
from __future__ import annotations

import json

import pytest

from server_fixture import (BASE, MINIMAL_GRAPH, TOKEN, ask, dump_store, problem, revision, select,
                            update)

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
COMMENT = f"<{RDFS}comment>"
LABEL = f"<{RDFS}label>"
GENID = BASE + ".well-known/genid/"


def thing(name: str) -> str:
    return f"<https://example.org/test/{name}>"


def triples_in(client, graph: str) -> set[tuple[str, str, str]]:
    rows = select(client, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return {(r["s"], r["p"], r["o"]) for r in rows}


# --- the token ---------------------------------------------------------------------------------------

def test_update_without_authorization_is_401_with_www_authenticate(client, fresh_graph):
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "a" }} }}', token=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert "Authorization: Bearer" in problem(response)["error"]
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")


def test_update_with_a_wrong_token_is_401(client, fresh_graph):
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "a" }} }}',
                      token="not-the-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")


def test_update_with_another_scheme_is_401(client, fresh_graph):
    response = client.post("/sparql", data={"update": f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "a" }} }}'},
                           headers={"Authorization": f"Basic {TOKEN}"})
    assert response.status_code == 401


def test_update_on_a_read_only_server_is_403_saying_how_to_enable_updates(readonly_server):
    import httpx

    with httpx.Client(base_url=readonly_server.url, timeout=30) as http:
        response = update(http, f'INSERT DATA {{ {thing("a")} {COMMENT} "a" }}')
        assert response.status_code == 403
        message = problem(response)["error"]
        assert "read-only" in message and "GROS_UPDATE_TOKEN" in message
        assert not ask(http, f'ASK {{ {thing("a")} ?p ?o }}')
        # and the graph store refuses writes the same way
        response = http.put("/rdf-graphs", params={"graph": "https://w3id.org/gros/graph/test-readonly"},
                            content=b'<https://example.org/a> <https://example.org/b> "c" .',
                            headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403
        assert "GROS_UPDATE_TOKEN" in problem(response)["error"]


# --- writes that succeed -------------------------------------------------------------------------

def test_insert_data_answers_added_removed_revision_and_is_seen_by_queries(client, fresh_graph):
    before = revision(client)
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "a", "b" }} }}')
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == {"added": 2, "removed": 0, "revision": before + 1}
    assert revision(client) == before + 1
    assert triples_in(client, fresh_graph) == {("https://example.org/test/a", RDFS + "comment", "a"),
                                               ("https://example.org/test/a", RDFS + "comment", "b")}


def test_insert_data_by_form_post(client, fresh_graph):
    response = client.post("/sparql", data={"update": f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("f")} {COMMENT} "f" }} }}'},
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1
    assert ask(client, f'ASK {{ GRAPH <{fresh_graph}> {{ {thing("f")} {COMMENT} "f" }} }}')


def test_delete_data_removes(client, fresh_graph):
    assert update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "keep", "drop" }} }}').status_code == 200
    response = update(client, f'DELETE DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "drop" }} }}')
    assert response.status_code == 200, response.text
    assert response.json()["removed"] == 1 and response.json()["added"] == 0
    assert triples_in(client, fresh_graph) == {("https://example.org/test/a", RDFS + "comment", "keep")}


def test_an_update_that_changes_nothing_keeps_the_revision(client, fresh_graph):
    before = revision(client)
    response = update(client, f'DELETE DATA {{ GRAPH <{fresh_graph}> {{ {thing("none")} {COMMENT} "none" }} }}')
    assert response.status_code == 200, response.text
    assert response.json() == {"added": 0, "removed": 0, "revision": before}


def test_delete_insert_where_with_using_graph_uri(client, fresh_graph):
    other = fresh_graph + "-other"
    assert update(client, f'''INSERT DATA {{
        GRAPH <{fresh_graph}> {{ {thing("x")} {COMMENT} "oud"@nl }}
        GRAPH <{other}> {{ {thing("y")} {COMMENT} "oud"@nl }} }}''').status_code == 200
    text = f'''DELETE {{ GRAPH <{fresh_graph}> {{ ?s {COMMENT} "oud"@nl }} }}
               INSERT {{ GRAPH <{fresh_graph}> {{ ?s {COMMENT} "nieuw"@nl }} }}
               WHERE {{ ?s {COMMENT} "oud"@nl }}'''
    response = update(client, text, **{"using-graph-uri": fresh_graph})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1 and response.json()["removed"] == 1
    # only the using graph was read: ?s matched x, not y
    assert triples_in(client, fresh_graph) == {("https://example.org/test/x", RDFS + "comment", "nieuw")}
    assert triples_in(client, other) == {("https://example.org/test/y", RDFS + "comment", "oud")}


def test_using_graph_uri_matches_plain_string_literals(client, fresh_graph):
    assert update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("x")} {COMMENT} "old" }} }}').status_code == 200
    text = f'''DELETE {{ GRAPH <{fresh_graph}> {{ ?s {COMMENT} "old" }} }}
               INSERT {{ GRAPH <{fresh_graph}> {{ ?s {COMMENT} "new" }} }}
               WHERE {{ ?s {COMMENT} "old" }}'''
    response = update(client, text, **{"using-graph-uri": fresh_graph})
    assert response.status_code == 200, response.text
    assert triples_in(client, fresh_graph) == {("https://example.org/test/x", RDFS + "comment", "new")}


def test_using_graph_uri_with_a_using_clause_is_400(client, fresh_graph):
    text = f'DELETE {{ ?s {COMMENT} "old" }} USING <{fresh_graph}> WHERE {{ ?s {COMMENT} "old" }}'
    response = update(client, text, **{"using-graph-uri": fresh_graph})
    assert response.status_code == 400
    assert "using-graph-uri" in problem(response)["error"]


def test_graph_management_copy_move_drop(client, fresh_graph):
    copy, moved = fresh_graph + "-copy", fresh_graph + "-moved"
    assert update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("c")} {COMMENT} "c" }} }}').status_code == 200
    assert update(client, f"COPY <{fresh_graph}> TO <{copy}>").status_code == 200
    assert triples_in(client, copy) == triples_in(client, fresh_graph) != set()
    assert update(client, f"MOVE <{copy}> TO <{moved}>").status_code == 200
    assert triples_in(client, copy) == set() and triples_in(client, moved) == triples_in(client, fresh_graph)
    assert update(client, f"DROP GRAPH <{moved}>").status_code == 200
    assert triples_in(client, moved) == set()


# --- refused writes leave the store exactly as it was ----------------------------------------------

def test_update_syntax_error_is_400_and_changes_nothing(client, fresh_graph):
    before, rev = dump_store(client), revision(client)
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("a")} {COMMENT} "a" . {thing("b")} }} }}')
    assert response.status_code == 400
    body = problem(response)
    assert "does not parse" in body["error"]
    assert "line" in body["error"] and "col" in body["error"]
    assert dump_store(client) == before
    assert revision(client) == rev


def test_update_syntax_error_names_the_line_of_the_error(client, fresh_graph):
    text = (f"INSERT DATA {{ GRAPH <{fresh_graph}> {{\n"
            f'  {thing("a")} {COMMENT} "a" .\n'
            f"  {thing('b')} {COMMENT} }} }}\n")
    response = update(client, text)
    assert response.status_code == 400
    body = problem(response)
    assert any(d.get("line") == 3 for d in body["details"]), body


def test_a_second_dutch_label_is_422_with_the_report_and_changes_nothing(client, known, fresh_graph):
    before, rev = dump_store(client), revision(client)
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{known.resource}> {LABEL} '
                              f'{json.dumps(known.label_nl + " (tweede naam)")}@nl }} }}')
    assert response.status_code == 422, response.text
    body = problem(response)
    assert "nothing was written" in body["error"]
    details = [d for d in body["details"] if d["focusNode"] == known.resource and d["path"] == RDFS + "label"]
    assert details, body["details"]
    detail = details[0]
    assert detail["shape"] and detail["shape"].startswith("https://w3id.org/gros/shape#")
    assert detail["severity"] == "Violation"
    assert detail["message"]["nl"] and detail["message"]["en"]
    assert detail["message"]["nl"] != detail["message"]["en"]
    assert dump_store(client) == before
    assert revision(client) == rev
    assert not ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}")


GOAL_WITHOUT_SOURCE = "https://w3id.org/gros/id/goal/test-without-source"


def insert_goal_without_source(client, graph: str):
    return update(client, f'''INSERT DATA {{ GRAPH <{graph}> {{
        <{GOAL_WITHOUT_SOURCE}> a <https://w3id.org/gros/def#Goal> ;
            {LABEL} "Doel zonder bron"@nl , "Goal without a source"@en . }} }}''')


def test_a_resource_without_source_is_422_and_changes_nothing(client, fresh_graph):
    before, rev = dump_store(client), revision(client)
    response = insert_goal_without_source(client, fresh_graph)
    assert response.status_code == 422, response.text
    details = problem(response)["details"]
    assert details and all(d["focusNode"] == GOAL_WITHOUT_SOURCE for d in details)
    about_source = [d for d in details if d["path"] == "http://purl.org/dc/terms/source"]
    assert about_source, details
    assert about_source[0]["shape"].startswith("https://w3id.org/gros/shape#")
    assert "dcterms:source" in " ".join(about_source[0]["message"].values())
    assert dump_store(client) == before
    assert revision(client) == rev


def test_a_sparql_rule_violation_reports_messages_in_nl_and_en(client, fresh_graph):
    response = insert_goal_without_source(client, fresh_graph)
    assert response.status_code == 422, response.text
    about_source = [d for d in problem(response)["details"] if d["path"] == "http://purl.org/dc/terms/source"]
    message = about_source[0]["message"]
    assert "elk feit heeft een bron" in message.get("nl", "")
    assert "every fact needs a source" in message.get("en", "")


def test_a_valid_new_resource_passes_the_gate(client, known, fresh_graph):
    resource = "https://w3id.org/gros/id/goal/test-with-source"
    response = update(client, f'''INSERT DATA {{ GRAPH <{fresh_graph}> {{
        <{resource}> a <https://w3id.org/gros/def#Goal> ;
            {LABEL} "Doel met bron"@nl , "Goal with a source"@en ;
            <http://purl.org/dc/terms/description> "Een doel."@nl , "A goal."@en ;
            <http://purl.org/dc/terms/source> <{known.source}> . }} }}''')
    assert response.status_code == 200, response.text
    assert ask(client, f"ASK {{ <{resource}> a <https://w3id.org/gros/def#Goal> }}")


def test_a_write_into_a_content_graph_is_403_and_changes_nothing(client):
    before, rev = dump_store(client), revision(client)
    response = update(client, f'INSERT DATA {{ GRAPH <{MINIMAL_GRAPH}> {{ {thing("a")} {COMMENT} "a" }} }}')
    assert response.status_code == 403
    message = problem(response)["error"]
    assert MINIMAL_GRAPH in message and "minimal.ttl" in message
    assert dump_store(client) == before
    assert revision(client) == rev


def test_deleting_from_a_content_graph_is_403(client, known):
    response = update(client, f"DELETE WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> {LABEL} ?label }} }}")
    assert ask(client, f"ASK {{ GRAPH <{MINIMAL_GRAPH}> {{ <{known.resource}> {LABEL} ?label }} }}")
    assert response.status_code == 403


@pytest.mark.parametrize("form", ["DELETE DATA", "DELETE WHERE", "DELETE/INSERT"])
def test_deleting_content_triples_from_the_default_graph_is_403_not_a_200_for_nothing(client, known, form):
    """Reads see the union, so a client finds the content triples without GRAPH; deleting them from
    the default graph, where they are not, is refused naming the graph and its file."""
    triple = f'<{known.resource}> {LABEL} "{known.label_nl}"@nl'
    text = {"DELETE DATA": f"DELETE DATA {{ {triple} }}",
            "DELETE WHERE": f"DELETE WHERE {{ <{known.resource}> {LABEL} ?label }}",
            "DELETE/INSERT": f'DELETE {{ ?s {LABEL} ?l }} INSERT {{ ?s {COMMENT} "x" }} '
                             f'WHERE {{ ?s {LABEL} ?l FILTER(?s = <{known.resource}>) }}'}[form]
    before = revision(client)
    response = update(client, text)
    assert response.status_code == 403, response.text
    message = problem(response)["error"]
    assert MINIMAL_GRAPH in message and "minimal.ttl" in message, message
    assert ask(client, f"ASK {{ {triple} }}") and revision(client) == before


def test_a_write_into_the_bookkeeping_graph_is_403(client):
    response = update(client, f'INSERT DATA {{ GRAPH <{BASE}graph/meta> {{ {thing("a")} {COMMENT} "a" }} }}')
    assert response.status_code == 403
    assert "bookkeeping" in problem(response)["error"]


@pytest.mark.parametrize("text", [
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "LOAD SILENT <http://example.org/data.ttl> INTO GRAPH <https://w3id.org/gros/graph/test-load>",
    "INSERT { GRAPH <https://w3id.org/gros/graph/test-service> { ?s ?p ?o } } "
    "WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
])
def test_load_and_service_in_updates_are_400_explaining_the_allow_list(client, text):
    before = revision(client)
    response = update(client, text)
    assert response.status_code == 400
    message = problem(response)["error"]
    assert "not allowed" in message and "--allow-service" in message
    assert revision(client) == before


def test_service_in_a_query_is_400_explaining_the_allow_list(client):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"})
    assert response.status_code == 400
    message = problem(response)["error"]
    assert "not allowed" in message and "--allow-service" in message


def test_service_with_a_variable_is_400(client):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } }"})
    assert response.status_code == 400
    assert "variable" in problem(response)["error"]


def test_inserted_blank_nodes_come_back_blank_and_their_skolem_iri_addresses_them(client, fresh_graph):
    """The store skolemises; clients get `bnode` bindings, and `<{base}.well-known/genid/LABEL>`
    names the node `_:LABEL` in a later request (docs/protocol.md)."""
    response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ {thing("b")} <{RDFS}seeAlso> '
                              f'[ {COMMENT} "a blank node" ] }} }}')
    assert response.status_code == 200, response.text
    response = client.get("/sparql", params={"query": f'SELECT ?b WHERE {{ GRAPH <{fresh_graph}> '
                                                      f'{{ ?b {COMMENT} "a blank node" }} }}'},
                          headers={"Accept": "application/sparql-results+json"})
    bindings = response.json()["results"]["bindings"]
    assert len(bindings) == 1 and bindings[0]["b"]["type"] == "bnode", bindings
    node = GENID + bindings[0]["b"]["value"]
    assert ask(client, f'ASK {{ GRAPH <{fresh_graph}> {{ <{node}> {COMMENT} "a blank node" }} }}')
    response = update(client, f'DELETE DATA {{ GRAPH <{fresh_graph}> {{ <{node}> {COMMENT} "a blank node" . '
                              f'{thing("b")} <{RDFS}seeAlso> <{node}> }} }}')
    assert response.status_code == 200, response.text
    assert response.json()["removed"] == 2
    assert triples_in(client, fresh_graph) == set()


# --- the default graph ----------------------------------------------------------------------------

def test_delete_data_without_graph_leaves_named_graphs_alone(client, fresh_graph):
    triple = f'{thing("default-and-named")} {COMMENT} "in both"'
    assert update(client, f"INSERT DATA {{ {triple} . GRAPH <{fresh_graph}> {{ {triple} }} }}").status_code == 200
    response = update(client, f"DELETE DATA {{ {triple} }}")
    assert response.status_code == 200, response.text
    assert response.json()["removed"] == 1
    assert ask(client, f"ASK {{ GRAPH <{fresh_graph}> {{ {triple} }} }}")


def test_clear_default_clears_only_the_default_graph(client):
    assert update(client, f'INSERT DATA {{ {thing("clear-default")} {COMMENT} "x" }}').status_code == 200
    response = update(client, "CLEAR DEFAULT")
    assert response.status_code == 200, response.text
    assert not ask(client, f'ASK {{ {thing("clear-default")} {COMMENT} "x" }}')


def test_create_graph_is_accepted(client, fresh_graph):
    response = update(client, f"CREATE GRAPH <{fresh_graph}>")
    assert response.status_code == 200, response.text
