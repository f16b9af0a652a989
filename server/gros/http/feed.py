"""GET /ldes: the change feed, a Linked Data Event Stream (history/stream.py says what is in it).

- `/ldes` the entry point (the stream, its one view, the retention policy, a relation to every page);
- `/ldes/{n}` page n; a full page never changes: `Cache-Control: public, max-age=31536000,
  immutable`; the newest page (still filling) and the entry point may be cached for
  FRESH_SECONDS, so a harvester that polls them sees a change within that time;
- `/ldes/event/{seq}` one member on its own (an immutable thing: cached like a full page);
- `/ldes/catalog`, `/ldes/catalog/{n}`, `/ldes/catalog/event/{seq}`: the same for the
  catalogue's own feed, a DCAT-AP Feed (history/catalogue.py).

Formats by `Accept` (or `?format=`): TriG (the default, the payloads in their members' named
graphs), N-Quads, JSON-LD (named graphs as `@graph`), and Turtle, which has no named graphs: there
the payloads are in the one graph with the activities, so a page that holds two versions of one
resource merges them; harvesters that replay use one of the others. Every answer has a strong
ETag of its bytes; `If-None-Match` gets 304.
"""
from __future__ import annotations

import asyncio

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import Response

from gros import etags, formats
from gros.errors import HTTPProblem, negotiated
from gros.history.catalogue import CatalogueStream
from gros.history.stream import AS, LDES, TREE, Stream

router = APIRouter()

OFFERED = [formats.TRIG, formats.TURTLE, formats.NQUADS, formats.JSONLD]
FRESH_SECONDS = 10
IMMUTABLE = "public, max-age=31536000, immutable"
PREFIXES = {"ldes": LDES, "tree": TREE, "as": AS, "dcterms": "http://purl.org/dc/terms/",
            "xsd": "http://www.w3.org/2001/XMLSchema#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "gros": "https://w3id.org/gros/def#"}


def stream_of(request: Request, kind: type[Stream] = Stream) -> Stream:
    service = request.app.state.service
    if service.history is None:
        raise HTTPProblem(404, "this service keeps no change feed: it runs on a remote store, whose other writers "
                               "it cannot see (docs/publishing.md)")
    return kind(service.settings.base_iri, service.history.log)


def serialise(quads: list[ox.Quad], fmt: formats.Format) -> bytes:
    if not fmt.oxigraph.supports_datasets:
        quads = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads}, key=str)
    return ox.serialize(quads, format=fmt.oxigraph, prefixes=PREFIXES) or b""


def answer(request: Request, quads: list[ox.Quad], fmt: formats.Format, cache: str) -> Response:
    body = serialise(quads, fmt)
    tag = etags.of_content(body)
    headers = {"ETag": tag, "Cache-Control": cache, "Vary": "Accept"}
    if etags.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(b"" if request.method == "HEAD" else body, media_type=fmt.content_type, headers=headers)


async def _entry(request: Request, kind: type[Stream]):
    fmt = negotiated(request, OFFERED)
    stream = stream_of(request, kind)
    quads = await asyncio.to_thread(stream.entry)
    return answer(request, quads, fmt, f"public, max-age={FRESH_SECONDS}")


async def _page(request: Request, number: int, kind: type[Stream]):
    fmt = negotiated(request, OFFERED)
    stream = stream_of(request, kind)

    def build():
        count = stream.size()  # one count for the page and its caching: a page is immutable only as served
        return stream.page_quads(number, count), stream.finished(number, count), stream.pages()

    quads, finished, pages = await asyncio.to_thread(build)
    if quads is None:
        raise HTTPProblem(404, f"the change feed has pages 1 to {pages}; page {number} does not exist (yet)")
    return answer(request, quads, fmt, IMMUTABLE if finished else f"public, max-age={FRESH_SECONDS}")


@router.api_route("/ldes", methods=["GET", "HEAD"], include_in_schema=False)
async def entry(request: Request):
    return await _entry(request, Stream)


@router.api_route("/ldes/{number:int}", methods=["GET", "HEAD"], include_in_schema=False)
async def page(request: Request, number: int):
    return await _page(request, number, Stream)


@router.api_route("/ldes/event/{seq:int}", methods=["GET", "HEAD"], include_in_schema=False)
async def member(request: Request, seq: int):
    fmt = negotiated(request, OFFERED)
    stream = stream_of(request)
    event = await asyncio.to_thread(stream.log.event, seq)
    if event is None:
        raise HTTPProblem(404, f"the change feed has no member {seq}")
    return answer(request, stream.members([event]), fmt, IMMUTABLE)


@router.api_route("/ldes/catalog", methods=["GET", "HEAD"], include_in_schema=False)
async def catalogue_entry(request: Request):
    return await _entry(request, CatalogueStream)


@router.api_route("/ldes/catalog/{number:int}", methods=["GET", "HEAD"], include_in_schema=False)
async def catalogue_page(request: Request, number: int):
    return await _page(request, number, CatalogueStream)


@router.api_route("/ldes/catalog/event/{seq:int}", methods=["GET", "HEAD"], include_in_schema=False)
async def catalogue_member(request: Request, seq: int):
    fmt = negotiated(request, OFFERED)
    stream = stream_of(request, CatalogueStream)
    event = await asyncio.to_thread(stream.event, seq)
    if event is None:
        raise HTTPProblem(404, f"the catalogue's change feed has no member {seq} (/ldes/event/{seq} may be a "
                               f"change of a resource that is not a catalogue entry)")
    return answer(request, stream.members([event]), fmt, IMMUTABLE)
