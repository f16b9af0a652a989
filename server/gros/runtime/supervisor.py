"""The serving processes under gunicorn's arbiter, with the time limit in the heartbeat.

gunicorn's arbiter starts the serving processes (forked from `gros serve`, which holds no
store and runs no thread by then, see cli/main.py), starts a fresh one when one exits, and
kills one whose heartbeat is older than its `timeout`. uvicorn's worker for gunicorn runs the
ASGI app in each. `ServingWorker` changes two things:

- the heartbeat (`notify`, every 0.2 s) carries the start of the oldest query the process is
  running instead of "now": the arbiter's timeout (the time limit + GRACE) then passes exactly
  when that query has run for that long, so a process that cannot end by itself (the event
  loop stuck) is killed by the arbiter;
- a process whose query passed the time limit (serving.Serving._runaway) stops accepting
  connections, finishes the requests it is answering within `GRACE` (uvicorn's graceful
  shutdown), then exits at once, leaving the runaway query's thread behind: the arbiter starts
  a fresh process.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time

from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from gros.runtime.serving import PROCESS

#: Seconds a process that is ending gives the other requests it is answering.
GRACE = 1
#: Seconds between heartbeats.
BEAT = 0.2


class ServingWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "timeout_graceful_shutdown": GRACE}

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
        self.config.app = self.wsgi
        server = Server(config=self.config)
        self._install_sigquit_handler()

        def end() -> None:
            # Stop accepting at once, before the 503 that ends the runaway request goes out: the
            # client's next connection must reach another process, since this one closes, as it
            # exits, every connection that has not sent a whole request yet.
            for listener in server.servers:
                listener.close()
            server.should_exit = True

        # Called on this loop's thread (by the request that hit the limit, or the watchdog).
        PROCESS.end = end
        loop = asyncio.get_running_loop()
        beat = loop.create_task(self._beat())
        try:
            await server.serve(sockets=self.sockets)
        finally:
            beat.cancel()
        if not server.started and not PROCESS.tainted:
            sys.exit(3)  # gunicorn's Arbiter.WORKER_BOOT_ERROR: the arbiter stops, the log says why

    def run(self) -> None:
        super().run()
        if PROCESS.tainted:
            # The runaway query's thread cannot be stopped, and Python would wait for it at exit.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
