"""A pool of worker processes that run queries where they can be stopped.

pyoxigraph cannot cancel a running query, and a thread cannot be killed. So every query
(and the read-only part of every update) runs in a worker process with its own read-only
view of the store. When a job passes its time limit the worker is killed, which frees its
CPU at once, and a fresh one takes its place.

Jobs are the dataclasses of jobs.py, answered by the messages described there. Since the
serving processes run read queries themselves (serving.py), the pool runs the writer's jobs:
the part of an update that works out what it changes, under the time limit.
What a job does is `execution.Executor.handle`.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from gros.errors import GrosError
from gros.runtime.jobs import FINAL

log = logging.getLogger("gros.workers")


class Overloaded(GrosError):
    """Every worker is busy and none became free in time."""

    status = 503
    exit_code = 1


class JobTimeout(GrosError):
    """The job passed its time limit; its worker was killed."""

    status = 503
    exit_code = 1


class WorkerDied(GrosError):
    """The worker process ended without answering (crash or out of memory)."""

    status = 500
    exit_code = 1


#: Stack of the thread that runs jobs in a worker. Oxigraph's parser and planner recurse over a
#: query; on the main thread's 8 MB a query of some thousands of nested groups, joined patterns
#: or `+` terms overflows the stack and kills the worker (a 500). 512 MB of address space (only
#: the pages used become memory) makes such a query run into the time limit instead; the
#: worst nesting is refused before it gets here (guards.check_shape).
JOB_STACK = 512 * 1024 * 1024
#: How long a new worker may take to import, parse the shapes and warm up the gate before it
#: is given up (a busy machine takes seconds; a healthy one under one).
READY_TIMEOUT = 120.0
SPAWN_ATTEMPTS = 3


def _worker_main(conn: Connection, settings) -> None:  # runs in the child process
    try:
        threading.stack_size(JOB_STACK)
        runner = threading.Thread(target=_run_jobs, args=(conn, settings), name="gros-jobs", daemon=True)
        runner.start()
    except (ValueError, RuntimeError):  # the system refuses so big a stack: run on this thread
        return _run_jobs(conn, settings)
    finally:
        threading.stack_size(0)
    try:
        runner.join()
    except KeyboardInterrupt:
        return


def _run_jobs(conn: Connection, settings) -> None:
    from gros.runtime.execution import Executor

    executor = Executor(settings)
    conn.send(("ready", None))  # only now may the pool give this worker a job (Worker.wait_ready)
    while True:
        try:
            job = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if job is None:
            return
        executor.handle(job, conn.send)


class Worker:
    def __init__(self, context, settings):
        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child, settings), daemon=True,
                                       name="gros-query-worker")
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the process has started and warmed up. Without this a fresh worker would
        take a job at once and spend the job's time limit on imports and warm-up: with a short
        limit its first job timed out, the worker was replaced, and the next one did the same."""
        message = self.receive(timeout)
        if message[0] != "ready":
            raise WorkerDied()

    def send(self, job) -> None:
        self.conn.send(job)

    def receive(self, timeout: float):
        """The next message, or JobTimeout / WorkerDied."""
        try:
            if not self.conn.poll(max(timeout, 0)):
                raise JobTimeout()
            return self.conn.recv()
        except (EOFError, OSError):
            raise WorkerDied() from None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.kill()


class WorkerPool:
    """`size` worker processes; a job waits at most `queue_timeout` seconds for a free one."""

    def __init__(self, settings, size: int = 2, queue_timeout: float = 2.0):
        self.settings = settings
        self.size = size
        self.queue_timeout = queue_timeout
        self.context = mp.get_context("spawn")  # fork is unsafe with RocksDB's and uvicorn's threads
        self.idle: asyncio.Queue[Worker] | None = None
        self.threads = ThreadPoolExecutor(max_workers=size + 2, thread_name_prefix="gros-pool")
        self.all: set[Worker] = set()
        self.lock = threading.Lock()
        self.kills = 0
        self.draining: set[asyncio.Task] = set()
        self.closing = False

    async def start(self) -> None:
        self.idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        workers = await asyncio.gather(*(loop.run_in_executor(self.threads, self._new) for _ in range(self.size)))
        for worker in workers:
            self.idle.put_nowait(worker)

    def _new(self) -> Worker:
        """A started, warmed-up worker (in a thread: it takes a second or more)."""
        for attempt in range(1, SPAWN_ATTEMPTS + 1):
            worker = Worker(self.context, self.settings)
            try:
                worker.wait_ready()
            except (JobTimeout, WorkerDied):
                worker.kill()
                log.error("a query worker did not start (attempt %d of %d)", attempt, SPAWN_ATTEMPTS)
                continue
            with self.lock:
                self.all.add(worker)
            return worker
        raise RuntimeError(f"no query worker started in {SPAWN_ATTEMPTS} attempts; see the log above")

    async def stop(self) -> None:
        self.closing = True
        with self.lock:
            workers = list(self.all)
            self.all.clear()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.threads, w.stop) for w in workers))
        self.threads.shutdown(wait=False, cancel_futures=True)

    async def _acquire(self) -> Worker:
        try:
            return await asyncio.wait_for(self.idle.get(), timeout=self.queue_timeout)
        except asyncio.TimeoutError:
            raise Overloaded() from None

    def _replace(self, worker: Worker) -> None:
        """Kill a worker and put a fresh one in the pool (in a thread: spawning takes a moment)."""
        with self.lock:
            self.all.discard(worker)
        self.kills += 1
        loop = asyncio.get_running_loop()

        def replace():
            worker.kill()
            try:
                fresh = self._new()
            except RuntimeError as err:  # the pool goes on one worker short, and the log says so
                log.error("%s", err)
                return
            loop.call_soon_threadsafe(self.idle.put_nowait, fresh)

        loop.run_in_executor(self.threads, replace)

    async def run(self, job, timeout: float):
        """Run a job; yields its messages. Stops the worker if the caller stops listening early."""
        worker = await self._acquire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        finished = failed = False
        receiving = None  # the read of the pipe in progress, if any
        try:
            worker.send(job)
            while True:
                receiving = self.threads.submit(worker.receive, deadline - loop.time())
                message = await asyncio.wrap_future(receiving)
                receiving = None
                if message[0] in FINAL:
                    finished = True
                yield message
                if finished:
                    return
        except (JobTimeout, WorkerDied):
            failed = True
            raise
        finally:
            if finished:
                self.idle.put_nowait(worker)
            elif failed:
                self._replace(worker)  # killed at the time limit, or dead
            else:
                # The caller stopped listening (the client went away). Starting a new process
                # costs a second or more of CPU, far more than most queries: let the job run to
                # its end within the same time limit, discard what it sends, and reuse the worker.
                task = loop.create_task(self._drain(worker, deadline, receiving))
                self.draining.add(task)  # a task nobody refers to may be collected mid-way
                task.add_done_callback(self.draining.discard)

    async def _drain(self, worker: Worker, deadline: float, receiving=None) -> None:
        """Read and drop the rest of an abandoned job's messages. A read that was in progress when
        the caller went away goes on in its thread: its message is taken first, for a second
        reader of the same pipe would wait for a message the first one already took."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                if receiving is not None and not receiving.cancelled():
                    message = await asyncio.wrap_future(receiving)
                else:
                    message = await loop.run_in_executor(self.threads, worker.receive, deadline - loop.time())
                receiving = None
                if message[0] in FINAL:
                    self.idle.put_nowait(worker)
                    return
        except (JobTimeout, WorkerDied):
            if not self.closing:
                self._replace(worker)
