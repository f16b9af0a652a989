"""The SPARQL 1.1 Graph Store HTTP Protocol at /rdf-graphs: indirect identification
(`/rdf-graphs?graph=IRI`, `/rdf-graphs?default`) and direct identification (the graph IRI is the
request URL itself, `/rdf-graphs/any/path`, without its query string; GSP §4.1).

Reads come straight from the store; writes go through the same SHACL gate and single
writer as SPARQL updates (service.write), so they are all-or-nothing and validated.
"""
from __future__ import annotations

import asyncio
import uuid
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import Response

from gros import etags
from gros.http import openapi as api_description
from gros import formats
from gros.errors import HTTPProblem, negotiated
from gros.content.files import SourceError, parse_text
from gros.content.skolem import BlankNodes
from gros.runtime.jobs import UpdateJob
from gros.http.sparql_protocol import decode, parameters, read_body, refuse_misspelt, single

router = APIRouter()


MAX_PARTS = 100  # RDF documents in one multipart/form-data POST


def target(request: Request, allow_none: bool = False):
    """The graph named by the request: ox.DefaultGraph, an ox.NamedNode, or None (POST to the store)."""
    params = parameters(parse_qsl(request.url.query, keep_blank_values=True))
    refuse_misspelt(params, ("graph", "default", "format"))
    if request.path_params.get("path"):  # direct identification: the graph is this URL
        if "graph" in params or "default" in params:
            raise HTTPProblem(400, f"{request.url.path} names its graph by its URL (direct identification); "
                                   f"do not add ?graph= or ?default (those go to /rdf-graphs itself)")
        return ox.NamedNode(str(request.url.replace(query="", fragment="")))
    graph = single(params, "graph")
    if "default" in params and graph is not None:
        raise HTTPProblem(400, "use either ?default or ?graph=IRI, not both")
    if "default" in params:
        return ox.DefaultGraph()
    if graph is None:
        if allow_none:
            return None
        raise HTTPProblem(400, "name the graph with ?graph=IRI, or ?default for the default graph")
    try:
        node = ox.NamedNode(graph)
    except ValueError:
        raise HTTPProblem(400, f"?graph={graph!r} is not an absolute IRI") from None
    if ":" not in graph:
        raise HTTPProblem(400, f"?graph={graph!r} is not an absolute IRI")
    return node


@router.api_route("/rdf-graphs/{path:path}", methods=["GET", "HEAD"], include_in_schema=False, openapi_extra=api_description.GRAPH_READ)
@router.api_route("/rdf-graphs", methods=["GET", "HEAD"], openapi_extra=api_description.GRAPH_READ)
async def read_graph(request: Request):
    service = request.app.state.service
    graph = target(request)
    if not service.store.has_graph(graph):
        raise HTTPProblem(404, f"there is no graph <{graph.value}> in the store")
    fmt = negotiated(request, formats.GRAPH_FORMATS)
    etag = etags.make(service.revision, fmt.name, str(graph))
    headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "no-cache"}
    if etags.matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)

    def serialise() -> bytes:
        blank = BlankNodes(service.settings.base_iri)  # skolem IRIs back to blank nodes (content.skolem)
        triples = (blank.triple(q.triple) for q in service.store.graph_quads(graph))
        return ox.serialize(triples, format=fmt.oxigraph) or b""

    body = await asyncio.get_running_loop().run_in_executor(None, serialise)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=fmt.media_type)
    return Response(body, media_type=fmt.media_type, headers=headers)


def _parse_document(body: bytes, content_type: str | None, graph, label: str) -> list:
    """One RDF document as triples, or 400/415 naming what is wrong and where."""
    try:
        fmt = formats.for_upload(content_type)
    except formats.UnsupportedMediaType as err:
        raise HTTPProblem(415, str(err)) from None
    decode(body, label)
    if fmt.name == "rdfxml" and b"<!ENTITY" in body:
        # Entities nest: nine lines of them expand to a gigabyte ("billion laughs"), parsed here
        # in the server process. RDF/XML written by tools has no need of them.
        raise HTTPProblem(400, f"the RDF/XML {label} declares XML entities (<!ENTITY ...>), which this "
                               f"endpoint does not accept; send the document with the entities expanded")
    try:
        return parse_text(body, fmt.media_type, label=label,
                          base_iri=None if isinstance(graph, ox.DefaultGraph) else graph.value)
    except SourceError as err:
        raise HTTPProblem(400, f"the {fmt.name} {label} does not parse: {err.message}",
                          details=[{"line": err.line, "column": err.column}]) from None


async def _uploaded(request: Request, graph, multipart: bool = False) -> bytes:
    """The request body as N-Quads in `graph`. With `multipart`, a multipart/form-data body is
    accepted too: every part is an RDF document, all merged into the graph (GSP §5.5)."""
    service = request.app.state.service
    content_type = request.headers.get("content-type")
    triples = []
    if multipart and (content_type or "").lower().startswith("multipart/form-data"):
        # The whole body is read first, through the same byte count as any other body (chunked or
        # not), and parsed from memory: the limit is on what was sent, not on each part.
        body = await read_body(request, service.settings.max_body)

        async def replay():
            yield body

        parser = MultiPartParser(request.headers, replay(), max_files=MAX_PARTS, max_fields=MAX_PARTS,
                                 max_part_size=service.settings.max_body)
        try:
            form = await parser.parse()
        except MultiPartException as err:
            if "Too many" in err.message:
                raise HTTPProblem(413, f"the multipart body has more than {MAX_PARTS} parts; send at most "
                                       f"{MAX_PARTS} documents per request") from None
            raise HTTPProblem(400, f"the multipart/form-data body cannot be read: {err.message}") from None
        for name, part in form.multi_items():
            if isinstance(part, str):
                raise HTTPProblem(400, f"the form field {name!r} is not a file: each part must be an RDF document")
            body = await part.read()
            triples += _parse_document(body, part.content_type, graph, f"part {part.filename or name!r}")
    else:
        body = await read_body(request, service.settings.max_body)
        triples = _parse_document(body, content_type, graph, "request body")
    quads = (ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""


@router.put("/rdf-graphs/{path:path}", include_in_schema=False, openapi_extra=api_description.GRAPH_WRITE)
@router.put("/rdf-graphs", openapi_extra=api_description.GRAPH_WRITE)
async def put_graph(request: Request):
    service = request.app.state.service
    service.check_token(request.headers.get("authorization"))
    graph = target(request)
    existed = service.store.has_graph(graph) and not isinstance(graph, ox.DefaultGraph)
    added = await _uploaded(request, graph)
    drop = [] if isinstance(graph, ox.DefaultGraph) else [graph.value]
    await service.write(UpdateJob(added=added, drop_graphs=tuple(drop), clear_default=isinstance(graph, ox.DefaultGraph)))
    return Response(status_code=204 if existed or isinstance(graph, ox.DefaultGraph) else 201)


@router.post("/rdf-graphs/{path:path}", include_in_schema=False, openapi_extra=api_description.GRAPH_WRITE)
@router.post("/rdf-graphs", openapi_extra=api_description.GRAPH_WRITE)
async def post_graph(request: Request):
    service = request.app.state.service
    service.check_token(request.headers.get("authorization"))
    graph = target(request, allow_none=True)
    created = graph is None
    if created:  # POST to the graph store itself makes a new graph (Graph Store Protocol §5.5)
        graph = ox.NamedNode(f"{service.settings.graph_base}upload-{uuid.uuid4().hex}")
    existed = service.store.has_graph(graph)
    await service.write(UpdateJob(added=await _uploaded(request, graph, multipart=True)))
    if created:
        return Response(status_code=201, headers={"Location": graph.value})
    return Response(status_code=204 if existed else 201)


@router.delete("/rdf-graphs/{path:path}", include_in_schema=False, openapi_extra=api_description.GRAPH_DELETE)
@router.delete("/rdf-graphs", openapi_extra=api_description.GRAPH_DELETE)
async def delete_graph(request: Request):
    service = request.app.state.service
    service.check_token(request.headers.get("authorization"))
    graph = target(request)
    if not service.store.has_graph(graph):
        raise HTTPProblem(404, f"there is no graph <{graph.value}> in the store")
    if isinstance(graph, ox.DefaultGraph):
        await service.write(UpdateJob(text="CLEAR DEFAULT"))
    else:
        await service.write(UpdateJob(drop_graphs=(graph.value,)))
    return Response(status_code=204)
