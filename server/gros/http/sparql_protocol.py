"""The SPARQL 1.1 Protocol at /sparql: queries (GET, POST form, POST sparql-query) and
updates (POST form, POST sparql-update), with the service description for a bare GET.

Requests are read strictly (one query per request, known content types, UTF-8, a size
limit); the query runs in this process (runtime/serving.py) and its results are streamed, or
served from the per-revision cache (runtime/cache.py).
"""
from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from gros import etags
from gros.http import openapi as api_description
from gros import formats
from gros.sparql import guards
from gros.sparql import text as sparql_text
from gros.errors import GrosError, HTTPProblem, negotiated
from gros.runtime.cache import Answer
from gros.runtime.jobs import Kind, QueryJob, UpdateJob
from gros.http.service_description import describe_service, query_page

router = APIRouter()

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        request.app.state.service.metrics.refusals.labels("size").inc()
        raise HTTPProblem(413, f"the request body is larger than the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            request.app.state.service.metrics.refusals.labels("size").inc()
            raise HTTPProblem(413, f"the request body is larger than the limit of {limit} bytes")
    return bytes(body)


def decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise HTTPProblem(400, f"the {what} is not valid UTF-8 (byte {err.start})") from None


def parameters(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


#: The parameters that choose the answer's format. Clients send them under all three names, some
#: more than once (SPARQLWrapper sends each twice: `format=tsv` and `format=text/tab-separated-values`);
#: values that name the same format are one choice, values that contradict each other are refused.
#: They win over the Accept header (a link can choose the format; SPARQLWrapper sends both, agreeing).
FORMAT_PARAMETERS = ("format", "output", "results")

#: The parameters of the SPARQL 1.1 Protocol (and the format ones). Other parameters are ignored,
#: as clients add their own, but a near miss of one of these is a typo and refused: `qurey=`
#: must not quietly return the service description.
PROTOCOL_PARAMETERS = ("query", "update", "default-graph-uri", "named-graph-uri", "using-graph-uri",
                       "using-named-graph-uri", *FORMAT_PARAMETERS)


def refuse_misspelt(params: dict[str, list[str]], known: tuple[str, ...] = PROTOCOL_PARAMETERS) -> None:
    """400 for a parameter that is one typo (a letter added, left out, changed or two swapped, or
    another case or stray spaces) away from a known one."""
    for name in params:
        if name in known or len(name) > 40:
            continue
        plain = name.strip().lower()
        for candidate in known:
            if plain == candidate or (len(plain) >= 4 and _one_typo(plain, candidate)):
                raise HTTPProblem(400, f"unknown parameter {name!r}: did you mean {candidate!r}? "
                                       f"(this endpoint reads {', '.join(known)})")


def _one_typo(a: str, b: str) -> bool:
    """Whether the optimal string alignment distance of a and b is exactly 1."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return previous[len(b)] == 1


def single(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise HTTPProblem(400, f"the parameter {name!r} is given {len(values)} times; send one per request")
    return values[0] if values else None


def format_choices(params: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The (parameter, value) pairs that ask for a format, each distinct pair once; the worker
    checks that they agree once it knows the kind of result (execution.requested_format)."""
    found: list[tuple[str, str]] = []
    for name in FORMAT_PARAMETERS:
        for value in params.get(name, []):
            if value.strip() and (name, value.strip()) not in found:
                found.append((name, value.strip()))
    return found


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


@router.get("/sparql", openapi_extra=api_description.SPARQL_GET)
async def sparql_get(request: Request):
    params = parameters(parse_qsl(request.url.query, keep_blank_values=True))
    refuse_misspelt(params)
    if "update" in params:
        raise HTTPProblem(405, "updates are sent with POST (SPARQL 1.1 Protocol §2.2)", headers={"Allow": "POST"})
    query = single(params, "query")
    if query is None:
        return describe_or_page(request)
    return await run_query(request, query, params, cacheable=True)


@router.post("/sparql", openapi_extra=api_description.SPARQL_POST)
async def sparql_post(request: Request):
    service = request.app.state.service
    kind = media_type(request)
    url_params = parameters(parse_qsl(request.url.query, keep_blank_values=True))
    body = await read_body(request, service.settings.max_body)
    if kind == FORM:
        form = parameters(parse_qsl(decode(body, "form body"), keep_blank_values=True))
        for key, values in url_params.items():
            form.setdefault(key, []).extend(values)
        refuse_misspelt(form)
        query, update = single(form, "query"), single(form, "update")
        if query is not None and update is not None:
            raise HTTPProblem(400, "send either query= or update=, not both")
        if update is not None:
            return await run_update(request, update, form)
        if query is None:
            raise HTTPProblem(400, "the form has neither a query= nor an update= parameter")
        return await run_query(request, query, form, cacheable=False)
    refuse_misspelt(url_params)
    if kind == QUERY:
        if "query" in url_params:
            raise HTTPProblem(400, "with Content-Type application/sparql-query the query is the body; "
                                   "do not also send query= in the URL")
        return await run_query(request, decode(body, "query"), url_params, cacheable=False)
    if kind == UPDATE:
        return await run_update(request, decode(body, "update"), url_params)
    raise HTTPProblem(415, f"a SPARQL request has Content-Type {FORM}, {QUERY} or {UPDATE}"
                           + (f", not {kind}" if kind else ""))


def describe_or_page(request: Request) -> Response:
    accept = request.headers.get("accept") or ""
    wanted = negotiated(request, [*formats.GRAPH_FORMATS, formats.HTML])
    if wanted.name == "html" and "text/html" in accept:
        return query_page(request)
    if wanted.name == "html":
        wanted = formats.GRAPH_FORMATS[0]
    return describe_service(request, wanted)


def endpoint(request: Request) -> str:
    """The base IRI of a request's query or update: the endpoint's own URL."""
    return str(request.url.replace(query="", fragment=""))


def screen(service, text: str) -> None:
    """Refuse SERVICE/LOAD to endpoints that are not allow-listed, and requests nested too deeply
    or too large to run safely (see guards.py)."""
    try:
        guards.check(text, service.settings.allow_service)
    except guards.NetworkAccessRefused as err:
        service.metrics.refusals.labels("network").inc()
        raise HTTPProblem(400, str(err)) from None
    try:
        guards.check_shape(text)
    except guards.TooComplex as err:
        service.metrics.refusals.labels("complexity").inc()
        raise HTTPProblem(400, str(err)) from None


async def run_query(request: Request, query: str, params: dict[str, list[str]], cacheable: bool):
    service = request.app.state.service
    if not query.strip():
        raise HTTPProblem(400, "the query is empty")
    screen(service, query)
    job = query_job(service, query, params, request.headers.get("accept"), endpoint(request))
    headers = {"Vary": "Accept"}
    if cacheable:
        etag = query_etag(service.revision, job)
        headers["ETag"] = etag
        headers["Cache-Control"] = "no-cache"  # caches may keep it, but revalidate by ETag
        if etags.matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    else:
        headers["Cache-Control"] = "no-store"

    return await stream_job(service, job, headers)


def query_job(service, query: str, params: dict[str, list[str]], accept: str | None, base_iri: str) -> QueryJob:
    """The job of a protocol query: what selects its answer (and its key in the cache)."""
    return QueryJob(text=query, default_graphs=tuple(params.get("default-graph-uri", [])),
                    named_graphs=tuple(params.get("named-graph-uri", [])),
                    accept=(accept or "")[:4096], format=tuple(format_choices(params)),
                    limit=service.settings.max_rows, base_iri=base_iri,
                    has_from=sparql_text.has_keyword(query, "FROM"))


def query_etag(revision: int, job: QueryJob) -> str:
    return etags.make(revision, job.text, list(job.default_graphs), list(job.named_graphs), job.accept, job.format)


async def stream_job(service, job: QueryJob, headers: dict[str, str], context: str = "") -> Response:
    """Answer a query job: from the cache of the current revision, or by running it and
    streaming its answer (kept in the cache when it is complete and small enough). An error
    before the first byte is a problem response (`context` prefixes its message), one after it
    just ends the stream."""
    cache, key = service.cache, job.key()
    if cache.enabled:
        found = cache.get(service.revision, key)
        if found is not None:
            service.metrics.cache.labels("hit").inc()
            service.metrics.queries.labels("ok").inc()
            return _answer(service, found, headers)
        service.metrics.cache.labels("miss").inc()
    messages = service.run(job)
    try:
        kind, head = await anext(messages)
    except GrosError as problem:
        service.metrics.queries.labels("timeout" if problem.status == 503 else "error").inc()
        raise
    service.metrics.queries.labels("error" if kind == Kind.ERROR else "ok").inc()
    if kind == Kind.ERROR:
        await messages.aclose()
        raise GrosError(context + head["error"], head["details"], status=head["status"])
    revision, truncated = head.get("revision"), bool(head.get("truncated"))
    if truncated:
        headers["Gros-Result-Truncated"] = truncated_header(service)
    kept = bytearray() if cache.enabled and revision is not None else None

    async def body():
        nonlocal kept
        try:
            async for kind, payload in messages:
                if kind == Kind.CHUNK:
                    if kept is not None:
                        kept += payload
                        if len(kept) > cache.entry_max:
                            kept = None
                    yield payload
                elif kind == Kind.ERROR:
                    return  # the status line is sent; the stream just ends
                elif kind == Kind.END and kept is not None:
                    cache.put(revision, key, Answer(head["media_type"], bytes(kept), truncated))
        except GrosError:
            return  # time limit passed mid-stream: the stream ends
        finally:
            await messages.aclose()

    return StreamingResponse(body(), media_type=formats.content_type(head["media_type"]), headers=headers)


def truncated_header(service) -> str:
    return f"true; the result was cut at {service.settings.max_rows} rows (gros serve --max-rows)"


def _answer(service, answer: Answer, headers: dict[str, str]) -> Response:
    if answer.truncated:
        headers["Gros-Result-Truncated"] = truncated_header(service)
    return Response(answer.body, media_type=formats.content_type(answer.media_type), headers=headers)


async def run_update(request: Request, update: str, params: dict[str, list[str]]):
    service = request.app.state.service
    service.check_token(request.headers.get("authorization"))
    if not update.strip():
        raise HTTPProblem(400, "the update is empty")
    screen(service, update)
    outcome = await service.write(UpdateJob(text=update, using=tuple(params.get("using-graph-uri", [])),
                                            using_named=tuple(params.get("using-named-graph-uri", [])),
                                            base_iri=endpoint(request)))
    return JSONResponse({"added": outcome.added, "removed": outcome.removed, "revision": outcome.revision},
                        headers={"Cache-Control": "no-store"})
