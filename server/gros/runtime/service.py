"""The running service: store, query workers and the single writer.

Start-up follows the data flow of docs/architecture.md: parse the files, validate the whole graph (nothing
invalid is ever served), load changed files into their graphs, start the query workers.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import time
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from gros.shacl import validation
from gros.ops.observability import Metrics
from gros.settings import Settings
from gros.content.files import find_files, read_files
from gros.store.embedded import GraphStore
from gros.ops.tokens import TokenSet
from gros.runtime import snapshots as published
from gros.runtime.jobs import Kind, UpdateJob, on_snapshot
from gros.runtime.workers import JobTimeout, Overloaded, WorkerDied, WorkerPool
from gros.errors import GrosError
from gros.history.keeper import STORE_ACTOR, History
from gros.history.log import CONTENT_ACTOR

log = logging.getLogger("gros.service")

#: The name of the token that authorised the request being answered (set by check_token), so
#: that the change log can say who made a write without every route passing it along.
WRITER: ContextVar[str | None] = ContextVar("gros_writer", default=None)

VALIDATED = ox.NamedNode("https://w3id.org/gros/def#validatedDigest")


class WriteRefused(GrosError):
    """A write that may not be made: no token, a wrong one (401), a read-only service or a protected graph (403)."""

    status = 403
    exit_code = 2


class ShapesViolated(GrosError):
    """A write whose result would violate the shapes (nothing was written); details name each violation."""

    status = 422
    exit_code = 1


class InvalidContent(GrosError):
    """The shipped files do not pass validation; the report says why."""

    status = 500
    exit_code = 1

    def __init__(self, report: validation.Report):
        self.report = report
        super().__init__(validation.render_text(report))


@dataclass
class WriteOutcome:
    revision: int
    added: int
    removed: int


def snapshot_folder(settings: Settings) -> Path:
    """Where the writer puts the checkpoint of each revision and publishes the current one."""
    store = settings.store_path or settings.default_store
    return store.with_name(store.name + ".snapshots")


def run_folder(settings: Settings) -> Path:
    """What the processes of one `gros serve` share besides the store: metrics, time-limit
    penalties, which serving processes are ready, how many were replaced."""
    store = settings.store_path or settings.default_store
    return store.with_name(store.name + ".run")


def check_token(tokens: TokenSet, metrics: Metrics, authorization: str | None) -> str:
    """The name of the update token in `authorization`, or 401/403 (see tokens.py)."""
    if not tokens.enabled:
        metrics.refusals.labels("auth").inc()
        raise WriteRefused("this service is read-only: updates are enabled by starting it with "
                           "GROS_UPDATE_TOKEN (or GROS_UPDATE_TOKEN_FILE) set, and sending "
                           "Authorization: Bearer <token>")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        metrics.refusals.labels("auth").inc()
        raise WriteRefused("updates need an Authorization: Bearer <token> header", status=401,
                           headers={"WWW-Authenticate": 'Bearer realm="gros"'})
    name = tokens.match(given.strip())
    if name is None:
        metrics.refusals.labels("auth").inc()
        raise WriteRefused("the update token is not valid", status=401,
                           headers={"WWW-Authenticate": 'Bearer realm="gros", error="invalid_token"'})
    log.info("write authorised by token %r", name)
    WRITER.set(name)
    return name


class Service:
    """The store and its single writer: start-up (validate, load), and every write (the SHACL
    gate in a worker process, then the commit, then the new revision published for the serving
    processes, snapshots.py). `gros serve` runs it in a process of its own (writer.py)."""

    def __init__(self, settings: Settings):
        if settings.store_path is None:
            settings = settings.with_(store_path=settings.default_store)
        self.settings = settings
        self.store: GraphStore | None = None
        self.pool: WorkerPool | None = None
        self.writer = asyncio.Lock()
        self.content_graphs: dict[str, str] = {}  # graph IRI -> file
        self.snapshots = snapshot_folder(settings)
        self.snapshot: Path | None = None  # the checkpoint of the current revision
        self.metrics = Metrics()
        self._revision: int | None = None
        self._revision_read = 0.0
        self.tokens = TokenSet.from_settings(settings)  # raises TokenFileError
        self.history: History | None = None  # the change log (history/); none for a remote store

    # --- life cycle ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Validate and load the content (blocking; raises InvalidContent or ContentErrors)."""
        files = read_files(find_files(self.settings))
        shape_files = read_files(find_files(self.settings, ("shapes",)))
        digest = hashlib.sha256()
        for content in [*files, *shape_files]:
            digest.update(content.path.name.encode() + b"\0" + content.path.read_bytes())
        self.store = GraphStore(self.settings)
        meta = self.store.meta
        known = [q.object.value for q in self.store.records(self.store.dataset, VALIDATED)]
        if known != [digest.hexdigest()]:
            report = validation.validate_content(self.settings, files)
            if not report.conforms:
                raise InvalidContent(report)
        report = self.store.sync(files)
        if known != [digest.hexdigest()]:
            old = [ox.Quad(self.store.dataset, VALIDATED, ox.Literal(v), meta) for v in known]
            self.store.apply(old, [ox.Quad(self.store.dataset, VALIDATED, ox.Literal(digest.hexdigest()), meta)])
        if not self.settings.remote:
            self.history = History(self.settings, self.store)
            self.history.catch_up(CONTENT_ACTOR if report.loaded or report.removed else STORE_ACTOR)
        self.store.flush()
        shutil.rmtree(self.snapshots, ignore_errors=True)  # left over from an earlier run
        self.snapshot = self.store.snapshot(self.snapshots)
        published.publish(self.snapshots, self.store.revision, self.snapshot)
        self.content_graphs = {f.graph: str(f.path) for f in files}
        log.info("loaded %s, unchanged %s, removed %s", report.loaded, report.unchanged, report.removed)

    async def start(self) -> None:
        # One worker: writes are sequential, and it only works out what a write changes.
        self.pool = WorkerPool(self.settings, size=1, queue_timeout=self.settings.query_timeout)
        await self.pool.start()

    async def stop(self) -> None:
        if self.pool:
            await self.pool.stop()
        shutil.rmtree(self.snapshots, ignore_errors=True)

    def _new_snapshot(self) -> None:
        """After a write: the serving processes read a checkpoint of the new revision from now
        on; the older ones go once no process reads them."""
        self.snapshot = self.store.snapshot(self.snapshots)
        published.publish(self.snapshots, self.store.revision, self.snapshot)
        self.sweep()

    def sweep(self) -> None:
        if self.snapshot is not None:
            published.sweep(self.snapshots, keep=self.snapshot)

    @property
    def revision(self) -> int:
        # Kept in memory: every GET needs it for its ETag, and only this process writes to an
        # embedded store. A remote store may have other writers (several front ends), so there
        # the number is read again once it is `remote_refresh` seconds old: a write elsewhere
        # is seen within that delay.
        if self.settings.remote and time.monotonic() - self._revision_read > self.settings.remote_refresh:
            self._revision = None
        if self._revision is None:
            try:
                self._revision = self.store.revision
            except OSError as err:  # only a remote store: it is down or answers errors
                raise GrosError(f"the store cannot be read: {err}", status=502) from None
            self._revision_read = time.monotonic()
        return self._revision

    # --- the writer's jobs ---------------------------------------------------------------------
    async def run(self, job):
        """Run a job on the writer's worker (the part of an update that works out what it
        changes); yields its messages, turning pool failures into HTTP problems."""
        job = on_snapshot(job, str(self.snapshot) if self.snapshot else None)  # None: a remote store
        timeout = self.settings.query_timeout
        try:
            async for message in self.pool.run(job, timeout):
                yield message
        except Overloaded:
            self.metrics.refusals.labels("overload").inc()
            raise Overloaded("another write is being checked; try again shortly", headers={"Retry-After": "1"}) from None
        except JobTimeout:
            self.metrics.timeouts.inc()
            raise JobTimeout(f"the update took longer than the time limit of {timeout:g} s and was stopped "
                             f"(the limit is set with gros serve --query-timeout)") from None
        except WorkerDied:
            raise WorkerDied("the worker checking the update stopped unexpectedly (out of memory?); "
                             "nothing was written") from None

    # --- writing ------------------------------------------------------------------------------
    def check_token(self, authorization: str | None) -> str:
        return check_token(self.tokens, self.metrics, authorization)

    async def write(self, job: UpdateJob) -> WriteOutcome:
        """Evaluate a change in a worker, pass it through the SHACL gate, then commit it whole.

        The writer lock makes writes sequential, so the change is computed on the revision it
        is committed on: no write is lost to a concurrent one.
        """
        try:
            outcome = await self._write(job)
        except GrosError as problem:
            kind = {422: "invalid", 401: "refused", 403: "refused", 400: "refused"}.get(problem.status, "error")
            self.metrics.updates.labels(kind).inc()
            raise
        self.metrics.updates.labels("ok").inc()
        self.metrics.revision.set(outcome.revision)
        return outcome

    async def _write(self, job: UpdateJob) -> WriteOutcome:
        async with self.writer:
            self._refuse_protected_graphs(job.drop_graphs)
            outcome = None
            async for kind, payload in self.run(job):
                if kind == Kind.ERROR:
                    raise GrosError.from_dict(payload)
                outcome = payload
            if outcome.get("removed") is None:  # refused before evaluation (syntax and the like)
                details = [outcome["position"]] if outcome.get("position") else []
                raise GrosError(outcome["message"], details, status=outcome["status"])
            removed = list(ox.parse(outcome["removed"], format=ox.RdfFormat.N_QUADS))
            added = list(ox.parse(outcome["added"], format=ox.RdfFormat.N_QUADS))
            # Protected graphs first: a write there is refused whatever the shapes say.
            self._refuse_protected(removed + added)
            self._refuse_deleting_protected(outcome.get("elsewhere") or {})
            if not outcome["ok"]:
                raise ShapesViolated("the change was refused: the result would violate the shapes "
                                     "(nothing was written)",
                                     details=[_detail(r) for r in outcome["results"] if r["severity"] == "Violation"])
            # A graph that is replaced (PUT) keeps what old and new content share, which is in
            # neither list; only a graph whose new content is empty is dropped by name.
            drop = [] if job.added else list(job.drop_graphs)
            drop += [g for g in outcome.get("emptied", []) if g not in drop]
            self._refuse_protected_graphs(drop)
            if not removed and not added and not drop:
                return WriteOutcome(self.revision, 0, 0)
            loop = asyncio.get_running_loop()
            actor = job.actor or WRITER.get() or "anonymous"
            revision = await loop.run_in_executor(None, self._commit, actor, removed, added, drop)
            self._revision = revision
            await loop.run_in_executor(None, self._new_snapshot)
            return WriteOutcome(revision, len(added), len(removed))

    def _commit(self, actor: str, removed, added, drop) -> int:
        """The store commits the change, then the change log records it (history/keeper.py)."""
        if self.history is None:
            return self.store.apply(removed, added, drop_graphs=drop)
        pending = self.history.before_commit(actor, removed, added, drop)
        try:
            revision = self.store.apply(removed, added, drop_graphs=drop)
        except BaseException:
            self.history.failed(pending)
            raise
        self.history.committed(pending, removed, added, revision)
        return revision

    def _refuse_protected_graphs(self, graphs) -> None:
        for name in graphs:
            if name == self.store.meta.value:
                raise WriteRefused(f"the graph <{name}> holds the service's bookkeeping and cannot be changed")
            if name in self.content_graphs:
                raise WriteRefused(f"the graph <{name}> is loaded from {self.content_graphs[name]}; change "
                                   f"that file instead (runtime edits belong in other graphs)")

    def _refuse_deleting_protected(self, elsewhere: dict[str, str]) -> None:
        """A deletion from the default graph of triples that are only in a read-only graph (reads
        see the union, so the client saw them): refused, not a 200 that changed nothing."""
        for name, triple in sorted(elsewhere.items()):
            if name in self.content_graphs:
                raise WriteRefused(f"the triple {triple} is in the graph <{name}>, which is loaded from "
                                   f"{self.content_graphs[name]} and cannot be changed at run time (change "
                                   f"that file instead); the update deletes it from the default graph, "
                                   f"where it is not. Nothing was changed")

    def _refuse_protected(self, quads) -> None:
        self._refuse_protected_graphs({q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)})


def _detail(result: dict) -> dict:
    return {key: result[key] for key in ("focusNode", "shape", "rule", "path", "value", "message", "severity",
                                         "constraint")}
