"""Real SPARQL clients against `gros serve`: SPARQLWrapper and rdflib's SPARQLStore /
SPARQLUpdateStore, used the way their documentation shows.
"""
from __future__ import annotations

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import JSON, POST, TURTLE, URLENCODED, XML, SPARQLWrapper

from server_fixture import MINIMAL_GRAPH, TOKEN, ask

RDFS = "http://www.w3.org/2000/01/rdf-schema#"


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
