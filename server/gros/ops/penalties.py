"""A client whose query ran into the time limit waits before it may send the next one.

A query stopped at the time limit has held a worker (a CPU) for the whole limit, and its
worker is then killed and a new one started, which costs another second or more of CPU. A
client that sends such queries one after another would keep a worker to itself and the
machine busy starting new ones, and everyone else would wait for the one worker left (soak
run 2 in bench/RESULTS.md: others got 0.9 answers a second and 503s). So after a stop, the
client's address is refused (429 with Retry-After) for `timeout_penalty` seconds (by default
as long as the time limit: the client waits as long as its query ran), twice as long for each
further stop within MEMORY_SECONDS, at most 2**MAX_DOUBLINGS times as long.

The processes of one `gros serve` share the penalties: with a `folder`, each penalised
client has a small file there (named by a hash of its address) holding its record, so the
process that answers its next request refuses it too. Looking a client up is one failed open
for a client without a penalty.

Who is a client is ratelimit.client_key: the peer address, or the X-Forwarded-For address
through a proxy that uvicorn trusts. The middleware puts it in CLIENT for the request; the
service (service.Service.run) calls `strike` when that request's job is stopped.
"""
from __future__ import annotations

import hashlib
import math
import os
import time
from pathlib import Path
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

    def __init__(self, base: float, clock=time.time, folder: Path | None = None):
        self.base = base
        self.clock = clock  # wall-clock time by default: the processes sharing `folder` agree on it
        self.records: dict[str, Record] = {}
        self.folder = folder
        if folder is not None and self.enabled:
            folder.mkdir(parents=True, exist_ok=True)

    def _file(self, client: str) -> Path:
        return self.folder / hashlib.sha256(client.encode()).hexdigest()[:32]

    def _load(self, client: str) -> Record | None:
        if self.folder is None:
            return self.records.get(client)
        try:
            stops, last, until = self._file(client).read_text().split()
        except (OSError, ValueError):
            return None
        record = Record()
        record.stops, record.last, record.until = int(stops), float(last), float(until)
        return record

    def _save(self, client: str, record: Record) -> None:
        if self.folder is None:
            self.records[client] = record
            return
        path = self._file(client)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(f"{record.stops} {record.last} {record.until}")
        os.replace(temporary, path)

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
        record = self._load(client)
        if record is None or now - record.last > MEMORY_SECONDS:
            record = Record()
        record.stops += 1
        record.last = now
        penalty = self.base * 2 ** min(record.stops - 1, MAX_DOUBLINGS)
        record.until = now + penalty
        self._save(client, record)
        return penalty

    def remaining(self, client: str) -> float:
        """Seconds `client` must still wait (0 when it may go on)."""
        record = self._load(client)
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
