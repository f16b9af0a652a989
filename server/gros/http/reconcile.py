"""/reconcile: the Reconciliation Service API 0.2, as OpenRefine and other clients speak it.

  GET  /reconcile                      the service manifest (add this URL in OpenRefine)
  GET|POST /reconcile?queries=JSON     a batch of reconciliation queries (POST: a form field)
  GET|POST /reconcile?extend=JSON      data extension: property values for reconciled ids
  GET  /reconcile/suggest/entity|type|property?prefix=...   autocomplete
  GET  /reconcile/extend/propose?type=...                    properties worth adding as columns
  GET  /reconcile/preview?id=IRI       a small HTML card (OpenRefine shows it in a frame)
  GET  /reconcile/view?id=IRI          303 to the resource's page on this server

Every endpoint answers cross-origin requests (CORS, http/app.py), as the spec requires. A GET
with `callback=NAME` gets its JSON as JSONP (`NAME(...)`, application/javascript): the spec
leaves JSONP optional, but OpenRefine falls back to it when a request by CORS fails, and its
versions before 3.3 speak nothing else from the browser.

What the service knows is an index of names built once per store revision, kept in the page
reader's per-revision cache (web/reader.py): a write is reflected on the next request, and the
index of an old revision goes with its view. All work on an index happens while its view is in
use, in a worker thread (the look-ups block).
"""
from __future__ import annotations

import asyncio
import json
import re

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gros.errors import HTTPProblem
from gros.reconciliation import service
from gros.reconciliation.index import Index
from gros.web.dereference import local_path
from gros.web.reader import for_request as reader

router = APIRouter()

#: The preview is shown inside another application's frame (OpenRefine): unlike the pages, it
#: may be framed by anyone. It runs no script at all; its only style is its own inline sheet.
PREVIEW_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
                  "form-action 'none'; frame-ancestors *")


async def _with_index(request: Request, work):
    """work(index) in a thread, on the index of the current revision."""
    async with reader(request).view() as view:
        def run():
            index = view.cached("reconcile-index",
                                lambda: Index(view.store, view.settings.id_base, view.revision))
            return work(index)
        return await asyncio.to_thread(run)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif kind.startswith("application/json"):
            raise HTTPProblem(415, "this is the Reconciliation API 0.2: POST the queries as a form field "
                                   "'queries' (application/x-www-form-urlencoded), not as a JSON body")
    return params


def _service_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/reconcile"


#: A JavaScript name (jQuery's are like jQuery3600_1700000000): nothing else is ever echoed into
#: a script.
CALLBACK = re.compile(r"[A-Za-z_$][\w$]{0,99}(\.[A-Za-z_$][\w$]{0,99}){0,4}", re.ASCII)


def _json(request: Request, data) -> Response:
    callback = request.query_params.get("callback") if request.method == "GET" else None
    if callback is None:
        return JSONResponse(data)
    if not CALLBACK.fullmatch(callback):
        raise HTTPProblem(400, "callback: the name of a JavaScript function (letters, digits, _ and $) for JSONP")
    # ASCII escapes keep U+2028/U+2029 out of the script, where older engines end a line; the
    # comment in front stops a name from being read as the start of another kind of file.
    body = f"/**/{callback}({json.dumps(data, ensure_ascii=True)});"
    return Response(body, media_type="application/javascript")


def _guarded(work):
    def run(index):
        try:
            return work(index)
        except service.RequestError as err:
            raise HTTPProblem(400, str(err)) from None
    return run


@router.api_route("/reconcile", methods=["GET", "POST"], summary="Reconciliation Service API 0.2")
async def reconcile(request: Request):
    params = await _params(request)
    lang = service.language(params.get("lang"))
    if "queries" in params:
        text = params["queries"]
        result = await _with_index(request, _guarded(
            lambda index: service.run_batch(index, service.parse_batch(text, index), lang)))
        return _json(request, result)
    if "extend" in params:
        text = params["extend"]

        def extension(index):
            ids, chosen = service.parse_extension(text)
            return service.extend(index, ids, chosen, lang)
        return _json(request, await _with_index(request, _guarded(extension)))
    if request.method == "POST":
        raise HTTPProblem(400, "a POST to /reconcile carries a form field 'queries' (reconciliation) or "
                               "'extend' (data extension)")
    url = _service_url(request)
    return _json(request, await _with_index(request, lambda index: service.manifest(index, url, lang)))


@router.get("/reconcile/suggest/entity", summary="Suggest entities by the start of a name")
async def suggest_entity(request: Request, prefix: str = "", type: str | None = None, limit: str | None = None,
                         lang: str | None = None):
    return _json(request, await _with_index(request, _guarded(
        lambda index: service.suggest_entities(index, prefix, type, limit, service.language(lang)))))


@router.get("/reconcile/suggest/type", summary="Suggest types")
async def suggest_type(request: Request, prefix: str = "", limit: str | None = None, lang: str | None = None):
    return _json(request, await _with_index(request, _guarded(
        lambda index: service.suggest_types(index, prefix, limit, service.language(lang)))))


@router.get("/reconcile/suggest/property", summary="Suggest properties")
async def suggest_property(request: Request, prefix: str = "", limit: str | None = None, lang: str | None = None):
    return _json(request, await _with_index(request, _guarded(
        lambda index: service.suggest_properties(index, prefix, limit, service.language(lang)))))


@router.get("/reconcile/extend/propose", summary="Properties to add as columns for a type")
async def propose(request: Request, type: str | None = None, limit: str | None = None, lang: str | None = None):
    return _json(request, await _with_index(request, _guarded(
        lambda index: service.propose_properties(index, type, limit, service.language(lang)))))


@router.get("/reconcile/preview", summary="An HTML card of an entity")
async def preview(request: Request, id: str = "", lang: str | None = None):
    if not id:
        raise HTTPProblem(400, "give the entity's IRI in the parameter 'id'")
    code = service.language(lang)

    def card(index):
        path = local_path(request.app.state.service.settings, id)
        page = str(request.base_url).rstrip("/") + path if path else None
        return service.preview_html(index, id, page, code)
    html = await _with_index(request, card)
    if html is None:
        raise HTTPProblem(404, f"no entity to preview with the id {id!r}: ids are the IRIs that /reconcile returns")
    return HTMLResponse(html, headers={"Content-Security-Policy": PREVIEW_POLICY})


@router.get("/reconcile/view", summary="Go to the page of an entity")
async def view(request: Request, id: str = "") -> Response:
    path = local_path(request.app.state.service.settings, id) if id else None
    if path is None:
        raise HTTPProblem(404, f"{id!r} is not an IRI of this knowledge graph" if id else
                          "give the entity's IRI in the parameter 'id'")
    return RedirectResponse(str(request.base_url).rstrip("/") + path, status_code=303)
