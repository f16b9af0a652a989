"""The pages for browsing: the classes and their instances, search, the map (and its GeoJSON)
and the timeline. Like the linked-data pages (pages.py), each reads the view of the current
revision, answers 304 when the client has the page already, and builds the page in a thread.
"""
from __future__ import annotations

import asyncio
import json

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import Response

from . import boundaries, catalogue, i18n, labels, maps, ontology_doc, search, timeline
from .errors import HTTPProblem
from .links import expand
from .reader import for_request as reader
from .resource_page import Builder
from .web import offset_param, assets_built, context, language, linker, render, unchanged

router = APIRouter()

CLASS_PAGE = 100
SEARCH_PAGE = 50


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
            lambda: iri in catalogue.hierarchy(view) or iri in catalogue.direct_counts(view))
        if not known:
            raise HTTPProblem(404, i18n.translate("no-such-class", lang.code, name=name))
        cached, headers = unchanged(request, view, lang)
        if cached:
            return cached

        def build():
            links = linker(request, lang)
            builder = Builder(view, lang.code, links)
            node = ox.NamedNode(iri)
            members = catalogue.instances(view, iri)
            rows = view.cached(("class-members", iri, lang.code), lambda: sorted(
                ((labels.label(view, s, lang.code), s) for s in members), key=lambda r: (r[0].lower(), r[1].value)))
            offset = min(offset_param(request, "offset"), max(len(rows) - 1, 0))
            shown = [{"link": builder.link(s), "types": [builder.link(t) for t in members[s] if t.value != iri]}
                     for _, s in rows[offset: offset + CLASS_PAGE]]
            definition = labels.in_language([o for p in ontology_doc.DEFINITIONS for o in
                                             view.objects(node, ox.NamedNode(p))], lang.code)
            below = sorted((builder.link(ox.NamedNode(c)) for c in catalogue.hierarchy(view).get(iri, ())),
                           key=lambda v: v.text.lower())
            for value in below:
                value.href = links.class_page(value.title)
            return render(request, "class.html", context(
                request, lang, cls=builder.link(node), definition=[builder.literal(d) for d in definition],
                subclasses=below, members=shown, total=len(rows), offset=offset, size=CLASS_PAGE,
                previous=links.local(request.url.path, offset=max(offset - CLASS_PAGE, 0) or None) if offset else None,
                next=links.local(request.url.path, offset=offset + CLASS_PAGE) if offset + CLASS_PAGE < len(rows) else None),
                headers)

        return await asyncio.to_thread(build)


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
            hits = search.index(view).search(query) if query.strip() else []
            offset = min(offset_param(request, "offset"), max(len(hits) - 1, 0))
            results = []
            for hit in hits[offset: offset + SEARCH_PAGE]:
                types = [builder.link(t) for t in view.objects(hit.subject, ox.NamedNode(
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")) if isinstance(t, ox.NamedNode)]
                results.append({"link": builder.link(hit.subject), "types": sorted(types, key=lambda v: v.text),
                                "match": builder.literal(hit.literal)})
            return render(request, "search.html", context(
                request, lang, query=query, search_query=query, results=results, total=len(hits), offset=offset,
                next=links.local("/search", q=query, offset=offset + SEARCH_PAGE) if offset + SEARCH_PAGE < len(hits) else None,
                previous=links.local("/search", q=query, offset=max(offset - SEARCH_PAGE, 0) or None) if offset else None),
                headers)

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
            _, rows = maps.overview(view, lang.code, links)
            return render(request, "map.html", context(
                request, lang, rows=rows, map_src=links.local("/map/data.json"), assets=assets_built(),
                boundaries_installed=boundaries.installed()), headers)

        return await asyncio.to_thread(build)


@router.api_route("/map/data.json", methods=["GET", "HEAD"], include_in_schema=False)
async def map_data(request: Request):
    """GeoJSON for the maps: every body (no parameter) or one resource (?about=IRI)."""
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
                data = view.cached(("map", lang.code, lang.explicit), lambda: maps.overview(view, lang.code, links)[0])
            return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                            media_type="application/geo+json", headers=headers)

        return await asyncio.to_thread(build)


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
            years = timeline.events(view, lang.code, links, kind)
            filters = [{"key": key, "current": key == kind, "href": links.local("/timeline", kind=key)}
                       for key in (None, *timeline.KINDS)]
            return render(request, "timeline.html", context(request, lang, years=years, filters=filters), headers)

        return await asyncio.to_thread(build)
