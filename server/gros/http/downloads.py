"""The graph as files, over HTTP: the dumps (/dumps/gros.ttl, ...), the registry profiles
(/export/dcat-ap, ...) and the JSON-LD @context (/context.jsonld).

They are made by the same library as `gros export` (export.py), but from the running service:
  * a dump is the store as it is now - the content files and whatever updates added - without
    the service's bookkeeping graph. Blank nodes, kept as skolem IRIs in the store, become blank
    nodes again with the same labels, so a dump of unchanged content is byte-identical to
    `gros export`. Dumps are made once per store revision and kept in memory (the graph is
    small); the ETag names the revision.
  * a profile runs its CONSTRUCT in a query worker, under the service's time limit, and is
    serialised here, so its JSON-LD carries our @context as the dumps' does.
The download URLs are the ones data/catalog.ttl gives the distributions: the server answers for
https://w3id.org/gros/dumps/... at /dumps/....
"""
from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gros import etags
from gros.publish import export
from gros import formats
from gros.content.skolem import BlankNodes
from gros.errors import GrosError, HTTPProblem, negotiated
from gros.runtime.jobs import Kind, QueryJob

router = APIRouter()

GZIP = "application/gzip"


# --- /context.jsonld ----------------------------------------------------------------------------

@router.api_route("/context.jsonld", methods=["GET", "HEAD"])
async def jsonld_context(request: Request):
    body = export.CONTEXT_FILE.read_bytes()
    tag = etags.of_content(body)
    headers = {"ETag": tag, "Cache-Control": "public, max-age=3600"}
    if etags.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/ld+json", headers=headers)


# --- /dumps ---------------------------------------------------------------------------------------

def dump_files() -> dict[str, tuple[formats.Format, bool]]:
    """File name -> (format, gzip-compressed)."""
    files = {}
    for fmt in export.DUMP_FORMATS:
        files[export.dump_name(fmt)] = (fmt, False)
        files[export.dump_name(fmt) + ".gz"] = (fmt, True)
    return files


@dataclass
class DumpCache:
    """The dumps of one revision (a new revision empties it)."""
    revision: int = -1
    files: dict[str, bytes] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _cache(request: Request) -> DumpCache:
    state = request.app.state
    if getattr(state, "dump_cache", None) is None:
        state.dump_cache = DumpCache()
    return state.dump_cache


def store_dump_quads(service) -> list[ox.Quad]:
    """Every quad of the live store, skolem IRIs back to blank nodes (content.skolem.BlankNodes)."""
    blank = BlankNodes(service.settings.base_iri)
    with service.store.reading() as store:  # read whole inside: the writer may reopen the store
        return [blank.quad(q) for q in export.store_quads(store)]


def _make(service, fmt: formats.Format, compressed: bool) -> tuple[int, bytes]:
    """(revision, bytes) of a dump; made again if a write landed while it was being made."""
    for _ in range(3):
        before = service.revision
        body = export.serialize(store_dump_quads(service), fmt)
        if service.revision == before:
            return before, (gzip.compress(body, mtime=0) if compressed else body)
    raise HTTPProblem(503, "the store kept changing while the dump was being made; try again shortly",
                      headers={"Retry-After": "1"})


@router.api_route("/dumps", methods=["GET", "HEAD"])
async def list_dumps(request: Request):
    service = request.app.state.service
    base = service.settings.base_iri
    return JSONResponse({"revision": service.revision, "dumps": [
        {"file": name, "url": f"/dumps/{name}", "iri": f"{base}dumps/{name}",
         "mediaType": GZIP if compressed else fmt.media_type, "format": fmt.name, "gzip": compressed,
         "namedGraphs": fmt.name in export.QUAD_FORMATS}
        for name, (fmt, compressed) in dump_files().items()]})


@router.api_route("/dumps/{name}", methods=["GET", "HEAD"])
async def dump(request: Request, name: str):
    files = dump_files()
    if name not in files:
        raise HTTPProblem(404, f"there is no dump {name!r}; the dumps are {', '.join(files)}")
    fmt, compressed = files[name]
    service = request.app.state.service
    cache = _cache(request)
    headers = {"Cache-Control": "no-cache", "Content-Disposition": f'attachment; filename="{name}"'}
    revision = service.revision
    tag = etags.make(revision, name)
    if etags.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers={**headers, "ETag": tag})
    async with cache.lock:
        if cache.revision != revision:
            cache.revision, cache.files = revision, {}
        if name not in cache.files:
            made_at, body = await asyncio.get_running_loop().run_in_executor(None, _make, service, fmt, compressed)
            if made_at != cache.revision:
                cache.revision, cache.files = made_at, {}
            cache.files[name] = body
        body, revision = cache.files[name], cache.revision
    headers["ETag"] = etags.make(revision, name)
    return Response(body, media_type=GZIP if compressed else fmt.content_type, headers=headers)


# --- /export ------------------------------------------------------------------------------------

@router.api_route("/export", methods=["GET", "HEAD"])
async def list_profiles(request: Request):
    settings = request.app.state.service.settings
    profiles = []
    for name in export.profile_names(settings):
        query = export.profile_query(settings, name)
        profiles.append({"name": name, "url": f"/export/{name}", "title": query.title,
                         "description": query.description})
    return JSONResponse({"profiles": profiles})


@router.api_route("/export/{name}", methods=["GET", "HEAD"])
async def profile(request: Request, name: str):
    service = request.app.state.service
    try:
        query = export.profile_query(service.settings, name)
    except export.UnknownProfile as err:
        raise HTTPProblem(404, str(err), details=[{"profiles": ", ".join(err.known)}]) from None
    fmt = negotiated(request, formats.GRAPH_FORMATS)
    revision = service.revision
    tag = etags.make(revision, name, fmt.name)
    headers = {"ETag": tag, "Cache-Control": "no-cache", "Vary": "Accept"}
    if etags.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    # The worker writes N-Triples without a row limit (a profile is ours, and bounded by the
    # data); the chosen syntax is written here, by the same code as gros export.
    job = QueryJob(text=query.text, format=formats.NTRIPLES.name, limit=None)
    chunks = []
    async for kind, payload in service.run(job):
        if kind == Kind.ERROR:
            raise GrosError(f"{query.path.name}: {payload['error']}", payload["details"], status=payload["status"])
        if kind == Kind.CHUNK:
            chunks.append(payload)
    triples = [q.triple for q in ox.parse(b"".join(chunks), format=ox.RdfFormat.N_TRIPLES)]
    body = await asyncio.get_running_loop().run_in_executor(None, export.serialize, triples, fmt)
    return Response(body, media_type=fmt.content_type, headers=headers)
