"""Access log with timing, and Prometheus metrics at /metrics.

A plain ASGI middleware (not Starlette's BaseHTTPMiddleware, which buffers streamed bodies)
times each request from its start to the last byte of the response.
"""
from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

access_log = logging.getLogger("gros.access")

#: Paths reported as themselves; anything else is grouped so the label set stays small.
KNOWN_PATHS = ("/sparql", "/rdf-graphs", "/health", "/metrics", "/queries")
#: Methods reported as themselves. uvicorn's HTTP parser (h11) passes any token as a method, and
#: every label value is a series kept for the life of the process: a client sending made-up
#: methods would otherwise grow the metrics without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("gros_http_requests_total", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("gros_http_request_seconds", "Time from request to last response byte",
                                 ["route"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.queries = Counter("gros_queries_total", "SPARQL queries by outcome (ok, error, timeout, refused)",
                               ["outcome"], registry=self.registry)
        self.updates = Counter("gros_updates_total", "Writes by outcome (ok, invalid, refused, error)",
                               ["outcome"], registry=self.registry)
        self.timeouts = Counter("gros_timeouts_total", "Jobs stopped at the time limit", registry=self.registry)
        self.refusals = Counter("gros_refusals_total",
                                "Requests refused (auth, size, overload, SERVICE/LOAD, rate, time-limit penalty)",
                                ["reason"], registry=self.registry)
        self.cache = Counter("gros_cache_total", "Query answers served from the per-revision cache (hit) or "
                             "made (miss)", ["outcome"], registry=self.registry)
        self.revision = Gauge("gros_store_revision", "Revision of the store", registry=self.registry,
                              multiprocess_mode="max")
        self.worker_restarts = Gauge("gros_worker_restarts", "Serving processes ended at the time limit and "
                                     "replaced", registry=self.registry, multiprocess_mode="max")

    def exposition(self) -> tuple[bytes, str]:
        # Under `gros serve` every process writes its samples to PROMETHEUS_MULTIPROC_DIR
        # (prometheus_client's multiprocess mode, set up by cli/main.py before any import of it),
        # and whichever process answers /metrics adds them up.
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def method_of(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def route_of(path: str) -> str:
    for known in KNOWN_PATHS:
        if path == known or path.startswith(known + "/"):
            return known
    return "other"


class AccessLog:
    """ASGI middleware: one log line and one metrics sample per request."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        size = 0

        async def sending(message):
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = route_of(scope["path"])
            self.metrics.requests.labels(route, method_of(scope["method"]), str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            client = scope.get("client") or ("-", 0)
            access_log.info('%s "%s %s" %d %d %.1fms', client[0], scope["method"], scope["path"], status, size,
                            elapsed * 1000)
