"""The linked-data pages: the home page and every IRI of ours (/id/..., /def, /dataset,
/catalog) by content negotiation. The pages for browsing (classes, search, map, timeline)
are in browse.py; its routes are part of this router.

Each handler takes the view of the current revision (reader.py), answers 304 when the client
has this revision's page already, and otherwise builds the page in a worker thread (the store
look-ups and the rendering block). Dereferencing rules (formats, suffixes, 404s, caching)
are in linked_data.py; what a page shows is worked out in its own module (resource_page,
ontology_doc, catalogue, search, maps, timeline, void).
"""
from __future__ import annotations

import asyncio

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from gros.web import browse
from gros.web import catalogue
from gros import formats
from gros.web import i18n
from gros.web import memento
from gros.web import labels
from gros.web import ontology_doc
from gros.web import void
from gros.errors import HTTPProblem
from gros.web.dereference import (SUFFIXES, alternate_links, choose_format, iri_for, link_header, not_found_body,
                          rdf_response, split_suffix, describe, describe_document)
from gros.web.reader import for_request as reader
from gros.web.resource_page import Builder
from gros.web.rendering import offset_param, STATIC, assets_built, context, language, linker, render, unchanged

router = APIRouter()
router.include_router(browse.router)  # the browsing pages share this router: the app includes one
router.include_router(memento.router)  # /timemap/id/...: the versions of a resource (Memento)


def static_files() -> StaticFiles:
    """/static: the stylesheet, the icon and the built bundles (static/build, from `make install`)."""
    return StaticFiles(directory=str(STATIC), check_dir=False)




# --- home ---------------------------------------------------------------------------------------

@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def home(request: Request):
    lang = language(request)
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            entries = [{"key": key, "href": links.class_page(iri), "count": catalogue.count(view, iri)}
                       for key, iri in catalogue.ENTRY_POINTS]
            programme = ox.NamedNode(view.settings.base_iri + "id/programme/gros")
            texts = [o for o in view.objects(programme, ox.NamedNode("http://purl.org/dc/terms/description"))]
            summary = labels.in_language(texts, lang.code)
            return render(request, "home.html", context(
                request, lang, entries=entries, programme_href=links.href(programme.value) if summary else None,
                programme=[s.value for s in summary], revision=view.revision), headers)

        return await asyncio.to_thread(build)


# --- dereferencing ------------------------------------------------------------------------------

async def _dereference(request: Request, path: str, describe_fn, page_fn):
    """The common part of /id/..., /def and /dataset: format, 404, RDF or the HTML page."""
    path, suffix = split_suffix(path)
    fmt = choose_format(request, suffix)
    lang = language(request)
    async with reader(request).view() as view:
        try:
            iri = ox.NamedNode(iri_for(view.settings, path))
        except ValueError:
            iri = None
        if iri is None or not await asyncio.to_thread(view.exists, iri):
            return await asyncio.to_thread(_not_found, request, view, fmt, lang, path)
        if fmt.name != "html":
            triples = await asyncio.to_thread(describe_fn, view, iri)
            return rdf_response(request, view, triples, fmt, path, "rdf")
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached
        headers["Content-Location"] = path + ".html"
        headers["Link"] = link_header(path)
        return await asyncio.to_thread(page_fn, request, view, lang, iri, path, headers)


def _not_found(request: Request, view, fmt: formats.Format, lang: i18n.Language, path: str) -> Response:
    iri = iri_for(view.settings, path)
    message = i18n.translate("not-found", lang.code, iri=iri)
    headers = {"Vary": "Accept, Accept-Language", "Cache-Control": "no-cache"}
    if fmt.name == "html":
        return render(request, "error.html", context(request, lang, status=404, reason="Not Found", message=message,
                                                     details=[], columns=[]), headers, status=404)
    return Response(not_found_body(fmt, f"nothing is known about <{iri}>"), status_code=404,
                    media_type=fmt.content_type, headers=headers)


def _resource_page(request, view, lang, iri, path, headers, triples=None, template="resource.html", **extra):
    links = linker(request, lang)
    triples = view.triples(iri) if triples is None else triples
    page = Builder(view, lang.code, links).page(iri, triples, path, offset_param(request, "incoming"))
    return render(request, template, context(
        request, lang, page=page, alternates=alternate_links(path),
        map_src=links.local("/map/data.json", about=iri.value) if page.has_map else None,
        assets=assets_built(), **extra), headers)


@router.api_route("/id/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def resource(request: Request, rest: str):
    # Memento (memento.py): with Accept-Datetime the version of that time, else the links to it.
    if memento.asked(request):
        return await memento.timegate(request, "/id/" + rest, _memento_page)
    return memento.annotate(request, "/id/" + rest,
                            await _dereference(request, "/id/" + rest, describe, _resource_page))


@router.api_route("/memento/{seq:int}/id/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def resource_version(request: Request, seq: int, rest: str):
    return await memento.memento(request, seq, rest, _memento_page)


async def _memento_page(request: Request, iri: ox.NamedNode, path: str, triples, headers):
    """The HTML page of a past version of a resource."""
    lang = language(request)
    async with reader(request).view() as view:
        return await asyncio.to_thread(_resource_page, request, view, lang, iri, path, headers, triples=triples)


def _suffix(ext: str) -> str:
    if "." + ext not in SUFFIXES:
        raise HTTPProblem(404, f"there is nothing at this address; the formats are {', '.join(SUFFIXES)}")
    return "." + ext


def _ontology_page(request, view, lang, iri, path, headers):
    links = linker(request, lang)
    # The same for every request of a revision and language: worked out once.
    doc = view.cached(("def", lang.code, lang.explicit), lambda: ontology_doc.documentation(view, lang.code, links))
    return render(request, "def.html", context(request, lang, doc=doc, alternates=alternate_links(path)), headers)


@router.api_route("/def", methods=["GET", "HEAD"], include_in_schema=False)
async def ontology(request: Request):
    return await _dereference(request, "/def", lambda view, iri: ontology_doc.describe(view), _ontology_page)


@router.api_route("/def.{ext}", methods=["GET", "HEAD"], include_in_schema=False)
async def ontology_as(request: Request, ext: str):
    return await _dereference(request, "/def" + _suffix(ext), lambda view, iri: ontology_doc.describe(view),
                              _ontology_page)


def _dataset_page(request, view, lang, iri, path, headers):
    return _resource_page(request, view, lang, iri, path, headers, triples=void.describe(view))


async def _dereference_dataset(request: Request, path: str):
    """Like _dereference, but the dataset always exists: without a stored description its
    VoID statistics describe it."""
    path, suffix = split_suffix(path)
    fmt = choose_format(request, suffix)
    lang = language(request)
    async with reader(request).view() as view:
        iri = void.dataset_iri(view.settings)
        if fmt.name != "html":
            triples = await asyncio.to_thread(void.describe, view)
            return rdf_response(request, view, triples, fmt, "/dataset", "rdf")
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached
        headers["Link"] = link_header("/dataset")
        return await asyncio.to_thread(_dataset_page, request, view, lang, iri, "/dataset", headers)


@router.api_route("/dataset", methods=["GET", "HEAD"], include_in_schema=False)
async def dataset(request: Request):
    return await _dereference_dataset(request, "/dataset")


@router.api_route("/dataset.{ext}", methods=["GET", "HEAD"], include_in_schema=False)
async def dataset_as(request: Request, ext: str):
    return await _dereference_dataset(request, "/dataset" + _suffix(ext))


@router.api_route("/dataset/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def dataset_part(request: Request, rest: str):
    """The dataset's distributions and services ({base}dataset/...), as any other resource."""
    return await _dereference(request, "/dataset/" + rest, describe, _resource_page)


@router.api_route("/catalog", methods=["GET", "HEAD"], include_in_schema=False)
async def catalog(request: Request):
    return await _dereference(request, "/catalog", describe_document, _resource_page)


@router.api_route("/catalog.{ext}", methods=["GET", "HEAD"], include_in_schema=False)
async def catalog_as(request: Request, ext: str):
    return await _dereference(request, "/catalog" + _suffix(ext), describe_document, _resource_page)


@router.api_route("/.well-known/void", methods=["GET", "HEAD"], include_in_schema=False)
async def well_known_void(request: Request):
    return await _dereference_dataset(request, "/dataset")

