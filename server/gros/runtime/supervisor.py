"""The serving processes under gunicorn's arbiter, with the time limit in the heartbeat.

gunicorn's arbiter starts the serving processes (forked from `gros serve`, which holds no
store and runs no thread by then, see cli/main.py), starts a fresh one when one exits, and
kills one whose heartbeat is older than its `timeout`. uvicorn's worker for gunicorn runs the
ASGI app in each. `ServingWorker` changes three things:

- the heartbeat (`notify`, every 0.2 s) carries the start of the oldest query the process is
  running instead of "now": the arbiter's timeout (the time limit + a margin) then passes exactly
  when that query has run for that long, so a process that cannot end by itself (the event
  loop stuck) is killed by the arbiter;
- a process whose query passed the time limit (serving.Serving._runaway) stops accepting
  connections, finishes the requests it is answering (uvicorn's graceful shutdown; each keeps
  its own time limit, so the wait is bounded by it), then exits at once, leaving the runaway
  query's thread behind: the arbiter starts a fresh process;
- responses are written through `CoalescingWrites` (one write per answer, see there).
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from gros.runtime.serving import PROCESS

#: Seconds an ending process waits, beyond the time limit, for the requests it is answering
#: (each stops itself at its own limit; this bounds the wait should one not).
GRACE = 1
#: Seconds an ending process keeps serving its open (kept-alive) connections: a busy client sends
#: its next request within milliseconds; one idle longer is closed as a keep-alive timeout would.
LINGER = 1.0
#: Seconds between heartbeats.
BEAT = 0.2


class ServingWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "gros.runtime.supervisor:CoalescingProtocol"}

    def notify(self) -> None:
        now = time.monotonic()
        oldest = PROCESS.oldest()
        stamp = now if oldest is None else min(now, oldest)
        os.utime(self.tmp.fileno(), (stamp, stamp))
        if os.getppid() != self.ppid:  # the arbiter is gone (kill -9): so is this process
            os._exit(0)

    async def _beat(self) -> None:
        while True:
            self.notify()
            await asyncio.sleep(BEAT)

    async def _serve(self) -> None:
        self.config.app = closing_when_ending(self.wsgi)
        # The other requests of an ending process may run up to their own time limit.
        self.config.timeout_graceful_shutdown = math.ceil(self.app.settings.query_timeout) + GRACE
        server = Server(config=self.config)
        self._install_sigquit_handler()
        loop = asyncio.get_running_loop()

        async def finish() -> None:
            # A client may send its next request on a kept-alive connection to this process at
            # any moment; closing such a connection under it would lose that request. So the
            # open connections are served for up to LINGER seconds more, every answer with
            # `Connection: close` (closing_when_ending), and only those still idle then are
            # closed, as any keep-alive timeout closes them.
            ends = time.monotonic() + LINGER
            while server.server_state.connections and time.monotonic() < ends:
                await asyncio.sleep(0.05)
            server.should_exit = True

        def end() -> None:
            # Stop accepting at once, before the 503 that ends the runaway request goes out: the
            # client's next connection must reach another process.
            for listener in server.servers:
                listener.close()
            loop.create_task(finish())

        # Called on this loop's thread (by the request that hit the limit, or the watchdog).
        PROCESS.end = end
        beat = loop.create_task(self._beat())
        try:
            await server.serve(sockets=self.sockets)
        finally:
            beat.cancel()
        if not server.started and not PROCESS.tainted:
            sys.exit(3)  # gunicorn's Arbiter.WORKER_BOOT_ERROR: the arbiter stops, the log says why

    def run(self) -> None:
        # Every request writes an access-log line; no format here names its caller or thread:
        # skip collecting them (the "Optimization" section of Python's logging HOWTO). The
        # process id stays: gunicorn's own lines show it.
        logging._srcfile = None
        logging.logThreads = logging.logMultiprocessing = False
        super().run()
        if PROCESS.tainted:
            # The runaway query's thread cannot be stopped, and Python would wait for it at exit.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def closing_when_ending(app):
    """The app, but once this process is ending every answer says `Connection: close`, so the
    client sends its next request to another process (uvicorn closes the connection after it)."""

    async def serve(scope, receive, send):
        if not PROCESS.tainted or scope["type"] != "http":
            return await app(scope, receive, send)

        async def send_closing(message):
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ()) if name.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return await app(scope, receive, send_closing)

    return serve


#: Bytes held before they are written at once (a large answer streams as before).
HOLD_LIMIT = 64 * 1024


class CoalescingWrites:
    """A transport that holds what is written during one turn of the event loop and sends it
    as one write at the end of the turn.

    uvicorn writes a response's status line and headers with one `send()` and its body with
    another. For the small answers most requests get, that is two TCP segments and two
    wake-ups of the client, and the first `send()` on a loopback or LAN connection costs as
    much as the whole answer's processing in Python (bench/RESULTS.md, "Serving core"). Held
    together they go out in one.
    """

    __slots__ = ("_transport", "_loop", "_held", "_size")

    def __init__(self, transport, loop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._size += len(data)
        if self._size >= HOLD_LIMIT:
            self.flush()

    def flush(self) -> None:
        if self._held:
            held, self._held, self._size = self._held, [], 0
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name):  # everything else is the transport's own
        return getattr(self._transport, name)


class CoalescingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through CoalescingWrites."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.transport = CoalescingWrites(transport, self.loop)
