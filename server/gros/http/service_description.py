"""What GET /sparql without a query returns: the SPARQL 1.1 Service Description for machines,
and the query page for browsers.
"""
from __future__ import annotations

from fastapi import Request
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, VOID
from starlette.responses import Response

from gros import formats
from gros.namespaces import FORMATS, SD


#: W3C format IRIs (http://www.w3.org/ns/formats/) of what we serve.
FORMAT_IRIS = {"json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
               "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples", "jsonld": "JSON-LD",
               "rdfxml": "RDF_XML", "trig": "TriG", "nquads": "N-Quads"}


def endpoint_url(request: Request) -> str:
    return str(request.url.replace(query="", fragment=""))


def service_graph(request: Request) -> Graph:
    service = request.app.state.service
    settings = service.settings
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("dcterms", DCTERMS)
    me = URIRef(endpoint_url(request))
    g.add((me, RDF.type, SD.Service))
    g.add((me, SD.endpoint, me))
    g.add((me, DCTERMS.title, Literal("GROS SPARQL-endpoint", lang="nl")))
    g.add((me, DCTERMS.title, Literal("GROS SPARQL endpoint", lang="en")))
    g.add((me, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((me, SD.supportedLanguage, SD.SPARQL11Update))
    g.add((me, SD.feature, SD.UnionDefaultGraph))
    if settings.allow_service:
        g.add((me, SD.feature, SD.BasicFederatedQuery))
    for fmt in [*formats.RESULT_FORMATS, *formats.GRAPH_FORMATS]:
        if fmt.name in FORMAT_IRIS:
            g.add((me, SD.resultFormat, FORMATS[FORMAT_IRIS[fmt.name]]))
    dataset = URIRef(settings.base_iri + "dataset")
    g.add((me, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, DCTERMS.description, Literal("De vereniging van alle grafen.", lang="nl")))
    g.add((default, DCTERMS.description, Literal("The union of all graphs.", lang="en")))
    for name in service.store.named_graphs():
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
    return g


def describe_service(request: Request, fmt: formats.Format) -> Response:
    rdflib_names = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml",
                    "trig": "trig", "nquads": "nquads"}
    body = service_graph(request).serialize(format=rdflib_names.get(fmt.name, "turtle"))
    return Response(body, media_type=fmt.media_type, headers={"Vary": "Accept"})


def query_page(request: Request) -> Response:
    """The query page for browsers: editor, named queries as examples, results as a table."""
    from gros.web.query_editor import render_page  # the pages side; imported late to keep this module light

    return render_page(request)
