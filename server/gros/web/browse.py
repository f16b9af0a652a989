"""The pages for browsing: the classes and their instances, search, the map (and its GeoJSON)
and the timeline. Like the linked-data pages (pages.py), each reads the view of the current
revision, answers 304 when the client has the page already, and builds the page in a thread.

Every list here comes a page at a time (?offset=N), and each page says how many there are in
all: what a page reads and keeps is bounded by the page sizes and settings.page_*, not by the
size of the data.
"""
from __future__ import annotations

import asyncio
import json

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import Response

from gros.web import boundaries
from gros.web import catalogue
from gros.web import i18n
from gros.web import labels
from gros.web import maps
from gros.web import ontology_doc
from gros.web import search
from gros.web import timeline
from gros.errors import HTTPProblem
from gros.web.links import expand
from gros.web.reader import for_request as reader
from gros.web.resource_page import Builder
from gros.web.rendering import offset_param, assets_built, context, language, linker, render, unchanged

router = APIRouter()

CLASS_PAGE = 100
SEARCH_PAGE = 50
#: Pages of the map remembered per revision (each settings.page_items bodies).
MAP_PAGES = 8
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


# --- classes ------------------------------------------------------------------------------------

@router.api_route("/classes", methods=["GET", "HEAD"], include_in_schema=False)
async def classes(request: Request):
    lang = language(request)
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            entries = view.cached(("class-index", lang.code), lambda: catalogue.index(view, lang.code))
            return render(request, "classes.html", context(request, lang, entries=entries,
                                                           class_page=linker(request, lang).class_page), headers)

        return await asyncio.to_thread(build)


@router.api_route("/classes/{name:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def class_page(request: Request, name: str):
    lang = language(request)
    iri = expand(name)
    async with reader(request).view() as view:
        known = iri is not None and await asyncio.to_thread(
            lambda: iri in catalogue.hierarchy(view) or iri in catalogue.counts(view))
        if not known:
            raise HTTPProblem(404, i18n.translate("no-such-class", lang.code, name=name))
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            builder = Builder(view, lang.code, links)
            node = ox.NamedNode(iri)
            total = catalogue.count(view, iri)
            offset = min(offset_param(request, "offset"), max(total - 1, 0))
            page = catalogue.members(view, iri, lang.code, offset, CLASS_PAGE)
            shown = [{"link": builder.link(s), "types": [builder.link(t) for t in _types(view, s) if t.value != iri]}
                     for s in page.resources]
            definition = labels.in_language([o for p in ontology_doc.DEFINITIONS for o in
                                             view.objects(node, ox.NamedNode(p))], lang.code)
            below = sorted((builder.link(ox.NamedNode(c)) for c in catalogue.hierarchy(view).get(iri, ())),
                           key=lambda v: v.text.lower())
            for value in below:
                value.href = links.class_page(value.title)
            return render(request, "class.html", context(
                request, lang, cls=builder.link(node), definition=[builder.literal(d) for d in definition],
                subclasses=below, members=shown, total=page.total, offset=offset, size=CLASS_PAGE,
                by_name=page.by_name, **_pager(links, request.url.path, offset, CLASS_PAGE, page.total)),
                headers)

        return await asyncio.to_thread(build)


def _types(view, resource: ox.NamedNode) -> list[ox.NamedNode]:
    return [t for t in view.objects(resource, RDF_TYPE) if isinstance(t, ox.NamedNode)]


def _pager(links, path: str, offset: int, size: int, total: int, **params) -> dict:
    """previous / next links of a list shown `size` at a time, and where this page ends."""
    return {"previous": links.local(path, **params, offset=max(offset - size, 0) or None) if offset else None,
            "next": links.local(path, **params, offset=offset + size) if offset + size < total else None,
            "last": min(offset + size, total)}


# --- search -------------------------------------------------------------------------------------

@router.api_route("/search", methods=["GET", "HEAD"], include_in_schema=False)
async def search_page(request: Request):
    lang = language(request)
    query = request.query_params.get("q", "")[:200]
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            builder = Builder(view, lang.code, links)
            found = search.search(view, query) if query.strip() else search.Result([], True, 0)
            hits = found.hits
            offset = min(offset_param(request, "offset"), max(len(hits) - 1, 0))
            results = []
            for hit in hits[offset: offset + SEARCH_PAGE]:
                types = [builder.link(t) for t in _types(view, hit.subject)]
                results.append({"link": builder.link(hit.subject), "types": sorted(types, key=lambda v: v.text),
                                "match": builder.literal(hit.literal)})
            return render(request, "search.html", context(
                request, lang, query=query, search_query=query, results=results, total=len(hits), offset=offset,
                complete=found.complete, cap=found.cap,
                **_pager(links, "/search", offset, SEARCH_PAGE, len(hits), q=query)), headers)

        return await asyncio.to_thread(build)


# --- map and timeline ---------------------------------------------------------------------------

@router.api_route("/map", methods=["GET", "HEAD"], include_in_schema=False)
async def map_page(request: Request):
    lang = language(request)
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            offset = offset_param(request, "offset")
            page = _map_page(view, lang, links, offset)
            return render(request, "map.html", context(
                request, lang, rows=page.rows, map_src=links.local("/map/data.json", offset=page.offset or None),
                assets=assets_built(), boundaries_installed=boundaries.installed(), total=page.total,
                offset=page.offset, by_name=page.by_name,
                **_pager(links, "/map", page.offset, view.settings.page_items, page.total)), headers)

        return await asyncio.to_thread(build)


@router.api_route("/map/data.json", methods=["GET", "HEAD"], include_in_schema=False)
async def map_data(request: Request):
    """GeoJSON for the maps: a page of bodies (no parameter, or ?offset=N as on /map) or one
    resource (?about=IRI)."""
    lang = language(request)
    about = request.query_params.get("about")
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            if about:
                try:
                    node = ox.NamedNode(about)
                except ValueError:
                    raise HTTPProblem(400, f"?about={about!r} is not an IRI") from None
                data = maps.about(view, node, lang.code, links)
            else:
                data = _map_page(view, lang, links, offset_param(request, "offset")).geojson
            return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                            media_type="application/geo+json", headers=headers)

        return await asyncio.to_thread(build)


def _map_page(view, lang, links, offset: int) -> maps.Overview:
    """A page of the map (the page and its GeoJSON ask for the same), once per revision."""
    total = catalogue.count(view, maps.BODY)
    offset = min(offset, max(total - 1, 0))
    return view.cached((offset, lang.code, lang.explicit), lambda: maps.overview(view, lang.code, links, offset),
                       memo="map-pages", size=MAP_PAGES)


@router.api_route("/timeline", methods=["GET", "HEAD"], include_in_schema=False)
async def timeline_page(request: Request):
    lang = language(request)
    kind = request.query_params.get("kind")
    kind = kind if kind in timeline.KINDS else None
    async with reader(request).view() as view:
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            size = view.settings.page_items
            counted = timeline.totals(view)
            total = counted.get(kind, 0) if kind else sum(counted.values())
            offset = min(offset_param(request, "offset"), max(total - 1, 0))
            page = timeline.events(view, lang.code, links, kind, offset)
            filters = [{"key": key, "current": key == kind, "href": links.local("/timeline", kind=key)}
                       for key in (None, *timeline.KINDS)]
            return render(request, "timeline.html", context(
                request, lang, years=page.years, filters=filters, total=page.total, offset=offset,
                **_pager(links, "/timeline", offset, size, page.total, kind=kind)), headers)

        return await asyncio.to_thread(build)
