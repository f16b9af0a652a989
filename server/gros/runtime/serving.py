"""What a serving process does: answer HTTP and run read queries itself, on the published
revision, with the time limit enforced by ending the process.

`gros serve` runs several serving processes under gunicorn's arbiter (supervisor.py); each
runs the whole web app (http/app.py) with a `Serving` as its service. A read query runs on a
thread of this process, on the read-only checkpoint of the current revision (snapshots.py):
no hop to another process. Writes go to the one writer process (writer.py), which passes them
through the SHACL gate and publishes the new revision before it answers.

pyoxigraph cannot cancel a query and a thread cannot be killed, so a query past the time limit
ends its process: the client gets its 503 at the limit, the process stops accepting
connections and exits as soon as the other requests it is answering are done; the arbiter
starts a fresh one. Those requests keep their own time limit, so no other client's request is
lost to the kill; meanwhile the runaway query's thread runs at the lowest CPU priority
(`nice` 19 for that thread only), so it takes no CPU anyone else wants. Should the process not
get that far, the arbiter kills it: each process's heartbeat carries the start of its oldest
running query that is not given up (supervisor.ServingWorker.notify), which the arbiter
compares with its timeout.
"""
from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from gros.errors import GrosError
from gros.history.log import ChangeLog
from gros.ops.observability import Metrics
from gros.ops.penalties import CLIENT, PenaltyBox
from gros.ops.tokens import TokenSet
from gros.runtime import snapshots
from gros.runtime.cache import ResponseCache
from gros.runtime.execution import guarded, run_query
from gros.runtime.jobs import FINAL, Kind, QueryJob
from gros.runtime.service import WRITER, check_token, run_folder, snapshot_folder
from gros.runtime.workers import JOB_STACK, JobTimeout, Overloaded
from gros.settings import Settings
from gros.store.embedded import GraphStore

log = logging.getLogger("gros.serving")


class ProcessState:
    """The queries this process is running, for the watchdog and the arbiter's heartbeat."""

    def __init__(self):
        self.running: dict[object, float] = {}  # token -> time.monotonic() at its start
        self.threads: dict[object, int] = {}  # token -> the native id of the thread running it
        self.given_up: set[object] = set()  # queries past the limit, left to run until the process ends
        self.lock = threading.Lock()
        self.tainted = False  # a query ran past the limit: this process is ending
        self.end = None  # set by the supervisor's worker: stop serving and exit

    def oldest(self) -> float | None:
        """The start of the oldest query still answered for (the heartbeat; given-up ones excluded)."""
        with self.lock:
            return min((start for token, start in self.running.items() if token not in self.given_up), default=None)

    def give_up(self, now: float, limit: float, token=None) -> int:
        """Mark every query past `limit` (and `token`'s) as given up and lower its thread's CPU priority to the
        least (Linux sets `nice` per thread): it runs on only while the process finishes the other
        requests, and only on CPU time nobody else wants. Returns how many were given up."""
        with self.lock:
            late = [found for found, start in self.running.items()
                    if (found is token or now - start > limit) and found not in self.given_up]
            self.given_up.update(late)
            threads = [self.threads[found] for found in late if found in self.threads]
        for thread in threads:
            try:
                os.setpriority(os.PRIO_PROCESS, thread, 19)
            except OSError:  # the thread is gone (nothing left to lower)
                pass
        # A lowered thread that finishes its query stays lowered in the pool: harmless, since a
        # process with a given-up query is ending.
        return len(late)

    def forget(self, token) -> None:
        with self.lock:
            self.running.pop(token, None)
            self.threads.pop(token, None)
            self.given_up.discard(token)


PROCESS = ProcessState()


@dataclass(frozen=True)
class ReadHistory:
    """What http/ and web/ read of the change log (history.keeper.History has the same `log`)."""

    log: ChangeLog


class Serving:
    """The service as one serving process sees it (the interface http/ uses)."""

    def __init__(self, settings: Settings, writer):
        if settings.store_path is None:
            settings = settings.with_(store_path=settings.default_store)
        self.settings = settings
        self.writer = writer
        self.metrics = Metrics()
        self.tokens = TokenSet.from_settings(settings)
        self.run_dir = run_folder(settings)
        self.penalties = PenaltyBox(settings.penalty_seconds, folder=self.run_dir / "penalties")
        self.cache = ResponseCache(settings.cache_bytes)
        self.current = None if settings.remote else snapshots.Current(snapshot_folder(settings))
        if self.current is not None:
            self.current.on_change.append(self.cache.drop)
        self._remote_store: GraphStore | None = None
        self._revision: int | None = None
        self._revision_read = 0.0
        self.threads: ThreadPoolExecutor | None = None
        self.slots: asyncio.Semaphore | None = None
        self.watchdog: asyncio.Task | None = None
        self.ready_file = self.run_dir / "ready" / str(os.getpid())
        self._history: ReadHistory | None = None

    # --- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        count = self.settings.query_threads
        # Oxigraph's parser and planner recurse over a query: the threads that run them get the
        # big stack the query workers had (workers.JOB_STACK says why).
        threading.stack_size(JOB_STACK)
        try:
            self.threads = ThreadPoolExecutor(max_workers=count, thread_name_prefix="gros-query")
            barrier = threading.Barrier(count + 1)
            for _ in range(count):  # start them all now, while the big stack size is set
                self.threads.submit(barrier.wait)
            barrier.wait()
        finally:
            threading.stack_size(0)
        self.slots = asyncio.Semaphore(count)
        self.watchdog = asyncio.get_running_loop().create_task(self._watch())
        if self.current is not None:
            self.current.refresh()
        self.ready_file.parent.mkdir(parents=True, exist_ok=True)
        self.ready_file.touch()

    async def stop(self) -> None:
        self.ready_file.unlink(missing_ok=True)
        if self.watchdog:
            self.watchdog.cancel()
        if self.threads:
            self.threads.shutdown(wait=False, cancel_futures=True)

    # --- what http/ reads ---------------------------------------------------------------------
    @property
    def revision(self) -> int:
        if self.current is not None:
            return self.current.revision
        # A remote store may have other writers: its number is read again once it is
        # `remote_refresh` seconds old, so a write elsewhere is seen within that delay.
        if time.monotonic() - self._revision_read > self.settings.remote_refresh:
            self._revision = None
        if self._revision is None:
            try:
                self._revision = self.store.revision
            except OSError as err:
                raise GrosError(f"the store cannot be read: {err}", status=502) from None
            self._revision_read = time.monotonic()
            self.cache.drop(self._revision)
        return self._revision

    @property
    def history(self) -> "ReadHistory | None":
        """The change log, read here, kept by the writer process (SQLite in WAL mode lets other
        processes read each commit at once). A remote store has none."""
        if self.settings.remote or not ChangeLog.exists_for(self.settings.store_path):
            return None
        if self._history is None:
            self._history = ReadHistory(ChangeLog.for_store(self.settings.store_path))
        return self._history

    @property
    def store(self) -> GraphStore:
        """The store at the current revision, read-only (a remote store: read live)."""
        if self.current is None:
            if self._remote_store is None:
                self._remote_store = GraphStore(self.settings)
            return self._remote_store
        snapshot = self.current.refresh()
        return GraphStore.at_checkpoint(self.settings, snapshot.store, snapshot.revision)

    def health(self) -> dict:
        ready = 0
        for path in (self.run_dir / "ready").glob("*"):
            try:
                os.kill(int(path.name), 0)
                ready += 1
            except (ValueError, ProcessLookupError, PermissionError):
                continue
        try:
            restarts = (self.run_dir / "restarts").stat().st_size
        except FileNotFoundError:
            restarts = 0
        # workers_idle: serving processes ready for requests; queries_running: in the process that answers.
        return {"workers": self.settings.workers, "workers_idle": ready, "worker_restarts": restarts,
                "queries_running": len(PROCESS.running)}

    # --- reading ------------------------------------------------------------------------------
    async def run(self, job: QueryJob):
        """Run a read query on a thread of this process; yields its messages (jobs.py), with
        the revision it read in the head, and turns a stop at the time limit into 503."""
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=self.settings.queue_timeout)
        except TimeoutError:
            self.metrics.refusals.labels("overload").inc()
            raise Overloaded(f"all {self.settings.query_threads} query threads of this serving process are busy; "
                             f"try again shortly (more serving processes: gros serve --workers)",
                             headers={"Retry-After": "1"}) from None
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        snapshot = self.current.acquire() if self.current is not None else None
        store = snapshot.store if snapshot is not None else self.store.store
        revision = snapshot.revision if snapshot is not None else self.revision
        token = object()
        started = time.monotonic()

        def send(message) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, message)

        def work() -> None:
            with PROCESS.lock:
                PROCESS.threads[token] = threading.get_native_id()
            try:
                guarded(job, send, lambda: run_query(store, job, send, self.settings.base_iri))
            finally:
                PROCESS.forget(token)
                if snapshot is not None:
                    self.current.release(snapshot)
                loop.call_soon_threadsafe(self.slots.release)

        with PROCESS.lock:
            PROCESS.running[token] = started
        loop.run_in_executor(self.threads, work)
        deadline = started + self.settings.query_timeout
        while True:
            try:
                kind, payload = await asyncio.wait_for(queue.get(), deadline - time.monotonic())
            except TimeoutError:
                raise self._stopped(token) from None
            if kind == Kind.WHOLE:  # a small result in one message (execution.PipeWriter)
                yield Kind.HEAD, {**payload["head"], "revision": revision}
                if payload["body"]:
                    yield Kind.CHUNK, payload["body"]
                yield Kind.END, payload["end"]
                return
            yield kind, ({**payload, "revision": revision} if kind == Kind.HEAD else payload)
            if kind in FINAL:
                return

    def _stopped(self, token) -> JobTimeout:
        """The request's query passed the time limit: this process ends (see the module note)."""
        self._runaway(token)  # this one even if the timer fired a hair early
        timeout = self.settings.query_timeout
        message = (f"the request took longer than the time limit of {timeout:g} s and was stopped (the limit "
                   f"is set with gros serve --query-timeout)")
        wait = self.penalties.strike(CLIENT.get())
        if wait:
            message += (f"; to keep the service for others, further requests from your address are refused "
                        f"for {wait:g} s (gros serve --timeout-penalty)")
        # This process is ending: the client should not send its next request on this connection.
        headers = {"Connection": "close"}
        if wait:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return JobTimeout(message, headers=headers)

    def _runaway(self, token=None) -> None:
        given_up = PROCESS.give_up(time.monotonic(), self.settings.query_timeout, token)
        if given_up:
            self.metrics.timeouts.inc(given_up)
        if PROCESS.tainted:
            return
        PROCESS.tainted = True
        self.ready_file.unlink(missing_ok=True)
        if PROCESS.end is not None:
            log.warning("a query passed the time limit of %gs: this serving process ends and is replaced",
                        self.settings.query_timeout)
            PROCESS.end()
        else:  # no supervisor (the app run in process, e.g. by bench/pages.py): nothing can stop it
            log.warning("a query passed the time limit, and without a supervisor it runs on to its end")

    async def _watch(self) -> None:
        """Notice a query past its limit whose client is gone (nobody waits for its 503)."""
        limit = self.settings.query_timeout
        while True:
            await asyncio.sleep(0.1)
            oldest = PROCESS.oldest()
            if oldest is not None and time.monotonic() - oldest > limit:
                self._runaway()

    # --- writing ------------------------------------------------------------------------------
    def check_token(self, authorization: str | None) -> str:
        return check_token(self.tokens, self.metrics, authorization)

    async def write(self, job):
        # The writer process records who wrote: the token's name travels with the job.
        outcome = await self.writer.write(replace(job, actor=job.actor or WRITER.get()))
        self._revision = None  # a remote store: read the number again
        if self.current is not None:
            self.current.refresh()  # published by the writer before it answered
        self.metrics.revision.set(outcome.revision)
        return outcome


def ready_processes(run_dir: Path) -> int:
    return len(list((run_dir / "ready").glob("*")))
