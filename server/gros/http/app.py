"""The web application: `create_app(settings)` builds it; `gros serve` runs it in each serving process
(runtime/supervisor.py)."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from gros import patches
from gros import __version__
from gros.http import downloads
from gros.http.cached_answers import CachedAnswers
from gros.http import feed
from gros.http import graph_store
from gros.web import pages
from gros.http import named_queries as query_api
from gros.http import reconcile
from gros.ops import security_headers
from gros.http import sparql_protocol as sparql
from gros.errors import GrosError, HTTPProblem, problem_response
from gros.ops.observability import AccessLog
from gros.ops.penalties import TimeLimitPenalty
from gros.ops.ratelimit import RateLimit
from gros.runtime.service import Service
from gros.runtime.serving import Serving
from gros.runtime.writer import LocalWriter
from gros.settings import Settings

log = logging.getLogger("gros.app")


def create_app(settings: Settings | None = None, service: Serving | None = None) -> FastAPI:
    """The app for `settings`, served by `service` (a serving process of `gros serve`, whose
    writer is a process of its own). Without one, the writer runs in this process too: start-up
    validates and loads the content (for the app run in process, as bench/pages.py does)."""
    patches.apply()
    settings = settings or Settings.from_env()
    local = None
    if service is None:
        local = Service(settings)
        service = Serving(settings, LocalWriter(local))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if local is not None:
            if local.store is None:
                local.prepare()
            await local.start()
        await service.start()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            await service.stop()
            if local is not None:
                await local.stop()

    # No /docs or /redoc: FastAPI loads them from a CDN with inline script, which the service's
    # offline, strict Content-Security-Policy forbids. The OpenAPI document stays at /openapi.json.
    app = FastAPI(title="GROS knowledge graph", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="SPARQL 1.1 endpoint and Graph Store of the GROS knowledge graph "
                              "(cross-border cooperation NL-BE-DE).")
    app.state.service = service
    app.state.ready = False
    app.include_router(sparql.router)
    app.include_router(graph_store.router)
    app.include_router(downloads.router)  # /dumps, /export, /context.jsonld
    app.include_router(query_api.router)  # /queries
    app.include_router(feed.router)  # /ldes: the change feed (LDES)
    app.include_router(reconcile.router)  # /reconcile: the Reconciliation Service API for OpenRefine
    # Linked-data pages (/, /id/..., /def, /dataset, /classes, /search, /map, /timeline) and
    # their static files; the security headers wrap everything, errors and 500s included.
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    security_headers.install(app)

    # Per-client rate limits (off unless gros serve --rate-queries / --rate-writes); inside CORS,
    # so that a page can read the 429 and its Retry-After.
    app.add_middleware(RateLimit, settings=service.settings, metrics=service.metrics)
    # Names the client of each request, and refuses for a while one whose query ran into the
    # time limit (penalties.py; gros serve --timeout-penalty).
    app.add_middleware(TimeLimitPenalty, box=service.penalties, metrics=service.metrics)

    # Any web page may query; writes need a bearer token, never a cookie, so CORS is granted
    # without credentials (a page can only write with a token its user gave it).
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False,
                       allow_methods=["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"],
                       allow_headers=["Accept", "Content-Type", "If-None-Match", "Authorization"],
                       expose_headers=["ETag", "Gros-Result-Truncated", "Retry-After"])

    app.add_middleware(AccessLog, metrics=service.metrics)
    # Outside everything, security headers included: a query answered from the cache skips the
    # stack above, sending what it would have sent (cached_answers.py).
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: CachedAnswers(build(), service)

    @app.get("/metrics")
    async def metrics():
        service.metrics.revision.set(service.revision)
        service.metrics.worker_restarts.set(service.health()["worker_restarts"])
        body, media_type = service.metrics.exposition()
        return Response(body, media_type=media_type)

    @app.get("/health")
    async def health(request: Request):
        if not request.app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            revision = service.revision
        except GrosError as problem:  # a remote store that cannot be reached: not ready
            return JSONResponse({"status": "unavailable", "error": str(problem)}, status_code=503)
        return {"status": "ok", "revision": revision, **service.health()}

    @app.exception_handler(GrosError)
    async def on_problem(request: Request, problem: GrosError):
        return problem_response(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException):
        message = {404: f"there is nothing at {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code, str(exc.detail))
        return problem_response(request, HTTPProblem(exc.status_code, message, headers=exc.headers))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        return problem_response(request, HTTPProblem(400, "the request is not valid",
                                                     details=[{"where": ".".join(map(str, e["loc"])), "message": e["msg"]}
                                                              for e in exc.errors()]))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, HTTPProblem(500, "an internal error occurred; it has been logged"))

    return app
