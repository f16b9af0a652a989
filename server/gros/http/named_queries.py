"""The named queries of queries/ over HTTP: listed at /queries, run at /queries/{name}.

    GET /queries                                   the list, with titles, descriptions, parameters
    GET /queries/bodies-covering-region?region=IRI the rows: JSON, XML, CSV or TSV (SPARQL results
                                                   formats, by Accept or ?format=), or an HTML table

Parameters come from the URL (every query parameter but `format` and `lang`) and are bound as
SPARQL variables before the query runs (queries.py), never pasted into its text. A query runs in
a worker under the service's time and row limits, like any query on /sparql. For a browser the
page is in its language (?lang=, else Accept-Language); the query's title and description are
in Dutch or English (English for German and French readers).
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import mimeparse
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from gros import etags
from gros import formats
from gros.content import named_queries as queries
from gros.errors import GrosError, HTTPProblem, negotiated
from gros.http.sparql_protocol import stream_job
from gros.runtime.jobs import Kind, QueryJob
from gros.web.rendering import context, language, linker, render

router = APIRouter()

#: URL parameters that are not query parameters.
RESERVED = {"format", "lang"}
OFFERED = [*formats.RESULT_FORMATS, formats.HTML]


def _text(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def describe(query: queries.NamedQuery) -> dict:
    return {"name": query.name, "url": f"/queries/{query.name}", "title": query.title,
            "description": query.description,
            "parameters": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                            "description": p.description} for p in query.parameters.values()]}


def _wants_html(request: Request) -> bool:
    asked = request.query_params.get("format")
    if asked:
        return asked.strip().lower() in ("html", "text/html")
    accept = (request.headers.get("accept") or "")[:4096]
    try:  # on a tie (*/*) mimeparse picks the last: JSON
        return mimeparse.best_match(["text/html", "application/json"], accept or "application/json") == "text/html"
    except (ValueError, IndexError):
        return False


def _all(settings) -> dict[str, queries.NamedQuery]:
    try:
        return queries.all_queries(settings.queries_dir)
    except queries.QueryFileError as err:
        raise HTTPProblem(500, f"a named query cannot be read: {err}") from None


@router.api_route("/queries", methods=["GET", "HEAD"])
async def list_queries(request: Request):
    settings = request.app.state.service.settings
    named = _all(settings)
    if not _wants_html(request):
        return JSONResponse({"queries": [describe(q) for q in named.values()]}, headers={"Vary": "Accept"})
    lang = language(request)
    entries = [{"name": q.name, "title": _text(q.title, lang.code), "description": _text(q.description, lang.code),
                "parameters": list(q.parameters.values())} for q in named.values()]
    return render(request, "queries.html", context(request, lang, entries=entries),
                  headers={"Vary": "Accept, Accept-Language", "Cache-Control": "no-cache"})


@router.api_route("/queries/{name}", methods=["GET", "HEAD"])
async def run_named(request: Request, name: str):
    service = request.app.state.service
    try:
        query = queries.find_query(service.settings.queries_dir, name)
    except queries.QueryNotFound as err:
        raise HTTPProblem(404, str(err), details=[{"queries": ", ".join(err.known)}]) from None
    except queries.QueryFileError as err:
        raise HTTPProblem(500, f"the named query cannot be read: {err}") from None
    values = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    html = _wants_html(request)
    try:
        substitutions = {variable.value: term for variable, term in query.bindings(values).items()}
        problem = None
    except queries.ParameterError as err:
        if not html:
            raise HTTPProblem(400, str(err)) from None
        substitutions, problem = None, str(err)
    if not html:
        negotiated(request, formats.RESULT_FORMATS)

    revision = service.revision
    tag = etags.make(revision, name, sorted(values.items()), request.headers.get("accept"),
                     request.query_params.get("format"), html, language(request).code if html else "")
    headers = {"ETag": tag, "Cache-Control": "no-cache", "Vary": "Accept, Accept-Language"}
    if etags.matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)

    if html:
        return await _page(request, query, values, substitutions, problem, headers)
    job = QueryJob(text=query.text, substitutions=tuple(sorted(substitutions.items())),
                   accept=(request.headers.get("accept") or "")[:4096], format=request.query_params.get("format"),
                   limit=service.settings.max_rows)
    return await stream_job(service, job, headers, context=f"{query.path.name}: ")


async def _page(request: Request, query: queries.NamedQuery, values: dict, substitutions, problem, headers):
    """The HTML page: title, description, a form for the parameters, and the rows as a table."""
    service = request.app.state.service
    lang = language(request)
    columns, rows, truncated = [], [], False
    if substitutions is not None:
        job = QueryJob(text=query.text, substitutions=tuple(sorted(substitutions.items())),
                       format=formats.JSON.name, limit=service.settings.max_rows)
        chunks = []
        async for kind, payload in service.run(job):
            if kind == Kind.ERROR:
                raise GrosError(f"{query.path.name}: {payload['error']}", payload["details"], status=payload["status"])
            if kind == Kind.HEAD:
                truncated = bool(payload.get("truncated"))
            elif kind == Kind.CHUNK:
                chunks.append(payload)
        results = json.loads(b"".join(chunks) or b"{}")
        columns = results.get("head", {}).get("vars", [])
        rows = [{c: row.get(c) for c in columns} for row in results.get("results", {}).get("bindings", [])]
    here = {k: v for k, v in values.items() if v != ""}
    downloads = [(fmt.label, f"/queries/{query.name}?" + urlencode({**here, "format": fmt.name}))
                 for fmt in formats.RESULT_FORMATS]
    parameters = [{"name": p.name, "type": p.type, "required": p.required, "value": values.get(p.name, p.default or ""),
                   "description": _text(p.description, lang.code) if p.description else ""}
                  for p in query.parameters.values()]
    # No parameters yet: the form (200). Parameters that do not fit: the form and the reason (400).
    status = 400 if problem and here else 200
    links = linker(request, lang)

    def href(iri: str) -> str | None:
        """Our IRIs link to their page here; other web IRIs to themselves; anything else not at all."""
        return links.href(iri) or (iri if iri.startswith(("http://", "https://")) else None)

    return render(request, "query_result.html", context(
        request, lang, named=query, title=_text(query.title, lang.code),
        description=_text(query.description, lang.code), parameters=parameters, problem=problem,
        columns=columns, rows=rows, truncated=truncated, ran=substitutions is not None, downloads=downloads,
        max_rows=service.settings.max_rows, href=href), headers=headers, status=status)
