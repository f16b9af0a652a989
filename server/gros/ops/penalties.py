"""A client whose query ran into the time limit waits before it may send the next one.

A query stopped at the time limit has held a worker (a CPU) for the whole limit, and its
worker is then killed and a new one started, which costs another second or more of CPU. A
client that sends such queries one after another would keep a worker to itself and the
machine busy starting new ones, and everyone else would wait for the one worker left (soak
run 2 in bench/RESULTS.md: others got 0.9 answers a second and 503s). So after a stop, the
client's address is refused (429 with Retry-After) for `timeout_penalty` seconds (by default
as long as the time limit: the client waits as long as its query ran), twice as long for each
further stop within MEMORY_SECONDS, at most 2**MAX_DOUBLINGS times as long.

Who is a client is ratelimit.client_key: the peer address, or the X-Forwarded-For address
through a proxy that uvicorn trusts. The middleware puts it in CLIENT for the request; the
service (service.Service.run) calls `strike` when that request's job is stopped.
"""
from __future__ import annotations

import math
import time
from contextvars import ContextVar

from starlette.requests import Request

from gros.errors import HTTPProblem, problem_response
from gros.ops.ratelimit import EXEMPT_PREFIXES, client_key

#: The client of the request being handled (None outside a request, e.g. on start-up).
CLIENT: ContextVar[str | None] = ContextVar("gros_client", default=None)
#: A client's stops are forgotten this long after its last one.
MEMORY_SECONDS = 600.0
MAX_DOUBLINGS = 4
#: Most clients remembered at once (a flood of addresses cannot grow the table without bound).
MAX_CLIENTS = 100_000


class Record:
    __slots__ = ("stops", "last", "until")

    def __init__(self):
        self.stops = 0
        self.last = self.until = 0.0


class PenaltyBox:
    """Which clients wait, and until when. `base` seconds for a first stop; 0 switches it off."""

    def __init__(self, base: float, clock=time.monotonic):
        self.base = base
        self.clock = clock
        self.records: dict[str, Record] = {}

    @property
    def enabled(self) -> bool:
        return self.base > 0

    def strike(self, client: str | None) -> float:
        """Record a stopped job of `client`; the seconds it must now wait (0: no penalty)."""
        if not self.enabled or client is None:
            return 0.0
        now = self.clock()
        if len(self.records) >= MAX_CLIENTS:
            self._sweep(now)
        record = self.records.get(client)
        if record is None or now - record.last > MEMORY_SECONDS:
            record = self.records[client] = Record()
        record.stops += 1
        record.last = now
        penalty = self.base * 2 ** min(record.stops - 1, MAX_DOUBLINGS)
        record.until = now + penalty
        return penalty

    def remaining(self, client: str) -> float:
        """Seconds `client` must still wait (0 when it may go on)."""
        record = self.records.get(client)
        if record is None:
            return 0.0
        return max(0.0, record.until - self.clock())

    def _sweep(self, now: float) -> None:
        stale = [key for key, record in self.records.items() if now - record.last > MEMORY_SECONDS]
        for key in stale:
            del self.records[key]
        if len(self.records) >= MAX_CLIENTS:  # still full: forget the oldest half
            by_age = sorted(self.records, key=lambda key: self.records[key].last)
            for key in by_age[: len(by_age) // 2]:
                del self.records[key]


class TimeLimitPenalty:
    """ASGI middleware: names the client of each request (CLIENT) and refuses the ones that wait."""

    def __init__(self, app, box: PenaltyBox, metrics=None):
        self.app = app
        self.box = box
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = client_key(scope)
        token = CLIENT.set(client)
        try:
            path = scope["path"]
            if self.box.enabled and scope["method"] != "OPTIONS" and not path.startswith(EXEMPT_PREFIXES):
                wait = self.box.remaining(client)
                if wait > 0:
                    return await self._refuse(scope, receive, send, wait)
            return await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)

    async def _refuse(self, scope, receive, send, wait: float):
        if self.metrics is not None:
            self.metrics.refusals.labels("time-limit-penalty").inc()
        retry = max(1, math.ceil(wait))
        problem = HTTPProblem(429, f"a query from your address ran into the time limit, so to keep the service "
                                   f"for others your requests are refused for {retry} s more (each further "
                                   f"one within {MEMORY_SECONDS / 60:g} minutes doubles the wait; set by gros "
                                   f"serve --timeout-penalty). Make the query cheaper: a LIMIT, fewer "
                                   f"unbound patterns, or a named query from /queries",
                              headers={"Retry-After": str(retry)})
        response = problem_response(Request(scope, receive), problem)
        await response(scope, receive, send)
