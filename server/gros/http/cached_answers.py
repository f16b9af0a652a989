"""The short way for a repeated query: `GET /sparql?query=...` answered from the cache, in plain ASGI.

Most reads of a SPARQL endpoint repeat: the same lookups from the same pages and scripts. Once
a query's whole answer is in this process's cache for the current revision (runtime/cache.py,
filled by sparql_protocol.stream_job), sending it again is a dictionary look-up; what costs is
the way there, through the framework's routing and seven middlewares (about 0.5 ms a request,
bench/RESULTS.md, "Serving core"). This middleware sits outside all of them and answers such a
request itself, with what the long way would have sent: the same status, body, ETag (and 304),
Vary, Cache-Control, content type, security headers, access-log line and metrics.

Everything else goes the long way, unchanged: a miss (which fills the cache), any other method
or path, a request with an Origin header (CORS), a server with rate limits, a client serving a
time-limit penalty, and any request the protocol would refuse (it is parsed by the same
functions, and whatever they refuse is left to the endpoint to answer with its message).
"""
from __future__ import annotations

import time
from urllib.parse import parse_qsl

from starlette.datastructures import URL

from gros import etags, formats
from gros.http import sparql_protocol as protocol
from gros.ops import security_headers
from gros.ops.observability import access_log
from gros.ops.ratelimit import client_key

CACHE_CONTROL = b"no-cache"  # as the endpoint: caches may keep an answer, but revalidate it by ETag
SECURITY = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in security_headers.HEADERS]


PARSED_MAX = 4096


class Parsed:
    """A request's job, its cache key and its ETag, worked out once per request text."""

    __slots__ = ("job", "key", "revision", "tag")

    def __init__(self, job):
        self.job = job
        self.key = job.key()
        self.revision = self.tag = None

    def etag(self, revision: int) -> str:
        if revision != self.revision:
            self.revision, self.tag = revision, protocol.query_etag(revision, self.job)
        return self.tag


class CachedAnswers:
    """ASGI middleware: answers a GET /sparql from the cache of the current revision, or passes it on."""

    def __init__(self, app, service):
        self.app = app
        self.service = service
        settings = service.settings
        self.open = settings.rate_queries <= 0  # with rate limits every request goes through RateLimit
        metrics = service.metrics
        self.hits = metrics.cache.labels("hit")
        self.queries_ok = metrics.queries.labels("ok")
        self.latency = metrics.latency.labels("/sparql")
        self.requests = {status: metrics.requests.labels("/sparql", "GET", str(status)) for status in (200, 304)}
        self.parsed: dict[tuple, Parsed] = {}

    async def __call__(self, scope, receive, send):
        if (self.open and scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == "/sparql"
                and self.service.cache.enabled):
            started = time.perf_counter()
            found = self._cached(scope)
            if found is not None:
                await self._send(scope, send, started, *found)
                return
        await self.app(scope, receive, send)

    def _cached(self, scope):
        """(answer, etag, not modified?) for a request the cache can answer, else None."""
        accept = if_none_match = host = None
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"host":
                host = value
            elif name == b"origin":
                return None  # CORS headers: CORSMiddleware
        service = self.service
        if service.penalties.enabled and service.penalties.remaining(client_key(scope)) > 0:
            return None  # refused, with its message, by TimeLimitPenalty
        # What a request asks depends only on these, so each is parsed once (see Parsed).
        asked = (scope["query_string"], accept, host, scope["scheme"])
        parsed = self.parsed.get(asked)
        if parsed is None:
            parsed = self._parse(scope, accept)
            if parsed is None:
                return None
            if len(self.parsed) >= PARSED_MAX:
                self.parsed.clear()  # a crude bound: parsing again is cheap, growing without end is not
            self.parsed[asked] = parsed
        revision = service.revision
        answer = service.cache.get(revision, parsed.key)
        if answer is None:
            return None
        etag = parsed.etag(revision)
        return answer, etag, if_none_match is not None and etags.matches(if_none_match, etag)

    def _parse(self, scope, accept: bytes | None) -> "Parsed | None":
        try:
            params = protocol.parameters(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
            protocol.refuse_misspelt(params)
            query = protocol.single(params, "query")
            if query is None or "update" in params:
                return None
            job = protocol.query_job(self.service, query, params, accept.decode("latin-1") if accept else None,
                                     str(URL(scope=scope).replace(query="", fragment="")))
        except Exception:  # the endpoint answers whatever the protocol refuses, with its message
            return None
        return Parsed(job)

    async def _send(self, scope, send, started: float, answer, etag: str, not_modified: bool) -> None:
        status = 304 if not_modified else 200
        # Vary names Origin as the long way does (CORSMiddleware adds it: answers differ by Origin).
        headers = [(b"vary", b"Accept, Origin"), (b"etag", etag.encode("latin-1")), (b"cache-control", CACHE_CONTROL)]
        body = b""
        if not not_modified:
            body = answer.body
            headers += [(b"content-type", formats.content_type(answer.media_type).encode("latin-1")),
                        (b"content-length", str(len(body)).encode("latin-1"))]
            if answer.truncated:
                headers.append((b"gros-result-truncated", protocol.truncated_header(self.service).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers + SECURITY})
        await send({"type": "http.response.body", "body": body})
        if not not_modified:
            self.hits.inc()
            self.queries_ok.inc()
        elapsed = time.perf_counter() - started
        self.requests[status].inc()
        self.latency.observe(elapsed)
        client = scope.get("client") or ("-", 0)
        access_log.info('%s "%s %s" %d %d %.1fms', client[0], "GET", "/sparql", status, len(body), elapsed * 1000)
