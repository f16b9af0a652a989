"""Per-client rate limits: a token bucket per client for reads and one for writes.

Each client may send `rate` requests a second on average, and save up `rate x burst_seconds`
of unused allowance for a burst (a page that fires a few queries at once). A request over the
limit gets 429 with `Retry-After` (whole seconds until the bucket holds a request again) and
costs the service nothing more: it is answered here, before routing.

What counts as a write: PUT, POST and DELETE on /rdf-graphs, and POST /sparql carrying an update
(`application/sparql-update`, or a form with `update=`; for a form the body is read here to
tell, then handed on unchanged). Failed writes count too, which also slows down anyone guessing
tokens. /health, /metrics, /static/ and CORS preflights are never limited.

Who is a client: the address uvicorn gives as the peer, which is the `X-Forwarded-For` address
when the request comes through a proxy uvicorn trusts (its `--forwarded-allow-ips`, by default
127.0.0.1); an IPv6 client is its /64 network, since one machine usually has a whole /64.

This is a plain ASGI middleware (like observability.AccessLog), so streamed responses pass
through untouched. The buckets live in this process; the table forgets idle clients, so its size
is bounded by the clients of the last few minutes.
"""
from __future__ import annotations

import ipaddress
import math
import time
from urllib.parse import parse_qsl

from starlette.requests import Request

from gros.errors import HTTPProblem, problem_response

EXEMPT_PREFIXES = ("/health", "/metrics", "/static/", "/favicon.ico")
FORM = "application/x-www-form-urlencoded"
UPDATE = "application/sparql-update"
#: Forget a client whose buckets have been full this long (they would refill anyway).
IDLE_SECONDS = 300.0
#: Most clients tracked at once; past it the longest idle ones are forgotten first.
MAX_CLIENTS = 100_000


class TokenBucket:
    """`rate` tokens a second, at most `capacity` kept; one request takes one token."""

    __slots__ = ("tokens", "stamp")

    def __init__(self, capacity: float, now: float):
        self.tokens = capacity
        self.stamp = now

    def take(self, rate: float, capacity: float, now: float) -> float:
        """0 when a token was taken; otherwise the seconds until one is there."""
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


class Limiter:
    """The buckets of one kind of request (reads or writes), keyed by client."""

    def __init__(self, rate: float, burst_seconds: float, clock=time.monotonic):
        self.rate = rate
        self.capacity = max(1.0, rate * burst_seconds)
        self.clock = clock
        self.buckets: dict[str, TokenBucket] = {}
        self._next_sweep = clock() + IDLE_SECONDS

    def wait(self, client: str) -> float:
        now = self.clock()
        if now >= self._next_sweep or len(self.buckets) >= MAX_CLIENTS:
            self._sweep(now)
        bucket = self.buckets.get(client)
        if bucket is None:
            bucket = self.buckets[client] = TokenBucket(self.capacity, now)
        return bucket.take(self.rate, self.capacity, now)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + IDLE_SECONDS
        idle = [key for key, bucket in self.buckets.items() if now - bucket.stamp > IDLE_SECONDS]
        for key in idle:
            del self.buckets[key]
        if len(self.buckets) >= MAX_CLIENTS:  # a flood of new addresses: drop the oldest half
            by_age = sorted(self.buckets, key=lambda key: self.buckets[key].stamp)
            for key in by_age[: len(by_age) // 2]:
                del self.buckets[key]


def client_key(scope) -> str:
    host = (scope.get("client") or ("unknown", 0))[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class RateLimit:
    """ASGI middleware applying `settings.rate_queries` and `settings.rate_writes` per client."""

    def __init__(self, app, settings, metrics=None):
        self.app = app
        self.metrics = metrics
        self.max_body = settings.max_body
        burst = settings.rate_burst_seconds
        self.reads = Limiter(settings.rate_queries, burst) if settings.rate_queries > 0 else None
        self.writes = Limiter(settings.rate_writes, burst) if settings.rate_writes > 0 else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or (self.reads is None and self.writes is None):
            return await self.app(scope, receive, send)
        path, method = scope["path"], scope["method"]
        if method == "OPTIONS" or path.startswith(EXEMPT_PREFIXES):
            return await self.app(scope, receive, send)
        write, receive = await self._is_write(scope, receive)
        limiter = self.writes if write else self.reads
        if limiter is not None:
            wait = limiter.wait(client_key(scope))
            if wait > 0:
                return await self._refuse(scope, receive, send, write, limiter.rate, wait)
        return await self.app(scope, receive, send)

    async def _is_write(self, scope, receive):
        """(is it a write?, the receive callable to hand on)."""
        path, method = scope["path"], scope["method"]
        if path == "/rdf-graphs":
            return method in ("PUT", "POST", "DELETE", "PATCH"), receive
        if path != "/sparql" or method != "POST":
            return False, receive
        kind = _header(scope, b"content-type").split(";")[0].strip().lower()
        if kind == UPDATE:
            return True, receive
        if kind != FORM:
            return False, receive
        # A form: whether it is an update is in the body. Read it (up to the size limit, past
        # which the endpoint answers 413 anyway), then give the app the same messages again.
        messages, size, more = [], 0, True
        while more and size <= self.max_body:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        query = scope.get("query_string", b"").decode("latin-1")
        keys = {k for k, _ in parse_qsl(body.decode("latin-1"), keep_blank_values=True)}
        keys |= {k for k, _ in parse_qsl(query, keep_blank_values=True)}

        async def replay():
            return messages.pop(0) if messages else await receive()

        return "update" in keys, replay

    async def _refuse(self, scope, receive, send, write: bool, rate: float, wait: float):
        if self.metrics is not None:
            self.metrics.refusals.labels("rate").inc()
        what, flag = ("writes", "--rate-writes") if write else ("requests", "--rate-queries")
        retry = max(1, math.ceil(wait))
        problem = HTTPProblem(429, f"too many {what} from your address: the limit is {rate:g} a second "
                                   f"(gros serve {flag}); try again in {retry} s",
                              headers={"Retry-After": str(retry)})
        response = problem_response(Request(scope, receive), problem)
        await response(scope, receive, send)
