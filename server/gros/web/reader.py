"""What the pages read: a read-only view of the store at one revision.

Pages run many small look-ups (a resource's triples, the labels of everything it links to,
its incoming links), so they read in this process rather than through the query workers:
a round trip to a worker per look-up would cost more than the look-up. They still never
touch the live store: the first page request after a write opens the checkpoint of the new
revision that the writer published (runtime/snapshots.py), read-only. So one page is rendered
from one revision, and a write cannot change what a page is reading half-way.

A view also caches what is worth computing once per revision (counts, the class hierarchy,
names, pages of the map, timeline and search results): a revision never changes, so nothing
has to be invalidated; the next revision simply gets a new view. Every cache is bounded (an
LRU with a fixed number of entries, each entry itself bounded by a page size or a cap in
settings), so what a view holds does not grow with the data: nothing here keeps a
list of all resources, all labels or all events.

Page queries are bounded look-ups written for this purpose (files in page_queries/), not
client queries, so they do not need the workers' time limit.
"""
from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from gros.settings import Settings
from gros.store.embedded import snapshot_revision

QUERIES = Path(__file__).parent / "page_queries"
#: Entries of a view's general cache (counts, hierarchy, documentation per language, ...).
CACHE_ENTRIES = 256


class Bounded:
    """A mapping that forgets its least recently used entries beyond `size`; safe to share
    between the threads that render pages.

    Hand-written rather than a dependency (cachetools): an OrderedDict does it in a few lines,
    and cachetools' caches would need a lock around them all the same."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def __contains__(self, key) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key, default=None):
        with self.lock:
            if key not in self.entries:
                return default
            self.entries.move_to_end(key)
            return self.entries[key]

    def __setitem__(self, key, value) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


@lru_cache(maxsize=None)
def page_query(name: str) -> str:
    return (QUERIES / f"{name}.rq").read_text(encoding="utf-8")


_MISSING = object()


class View:
    """The store as it was at `revision`, read-only."""

    def __init__(self, settings: Settings, path: Path | None, store=None, revision: int | None = None):
        self.settings = settings
        self.path = path
        # A remote store (remote.py) has no checkpoints: its view reads it live, so a page
        # may see a write that lands while it is being rendered (docs/remote-stores.md).
        self.store = store if store is not None else ox.Store.read_only(str(path))
        # Named by the checkpoint itself (its folder is named after its revision): a write between
        # "which revision?" and the checkpoint cannot make a view carry the wrong number.
        self.revision = revision if revision is not None else snapshot_revision(path)
        self.meta = ox.NamedNode(settings.graph_base + "meta")
        # The service's bookkeeping graph is not content: pages never show it.
        self.graphs = [g for g in self.store.named_graphs() if g != self.meta]
        # HTTP dates have whole seconds; a revision is "modified" when this server first saw it.
        self.modified = datetime.now(timezone.utc).replace(microsecond=0)
        self.users = 0
        self.release = None  # gives the published checkpoint back once the view is retired
        self.cache = Bounded(CACHE_ENTRIES)
        self.memos: dict[str, Bounded] = {}  # named caches of their own size (names, shapes, pages)
        self.pending: dict = {}  # (memo, key) -> the lock of the computation in progress
        self.lock = threading.Lock()  # held only to look up or make a cache or a pending lock

    # --- triples ------------------------------------------------------------------------------
    def triples(self, subject=None, predicate=None, obj=None, limit: int | None = None) -> list[ox.Triple]:
        """Matching triples of the union of the content graphs, each once."""
        seen: dict[ox.Triple, None] = {}
        for quad in self.store.quads_for_pattern(subject, predicate, obj, None):
            if quad.graph_name == self.meta:
                continue
            seen.setdefault(quad.triple)
            if limit is not None and len(seen) >= limit:
                break
        return list(seen)

    def objects(self, subject, predicate) -> list:
        return [t.object for t in self.triples(subject, predicate)]

    def exists(self, iri: ox.NamedNode) -> bool:
        """Something is said about `iri` (as subject or object) in the content graphs."""
        for quads in (self.store.quads_for_pattern(iri, None, None, None),
                      self.store.quads_for_pattern(None, None, iri, None)):
            for quad in quads:
                if quad.graph_name != self.meta:
                    return True
        return False

    def count(self, subject=None, predicate=None, obj=None, cap: int = 10_000) -> int:
        """How many triples match, counted up to `cap` (a page says "more than" beyond it)."""
        return len(self.triples(subject, predicate, obj, limit=cap))

    # --- SPARQL -------------------------------------------------------------------------------
    def select(self, name: str, union: bool = True, limit: int | None = None, offset: int = 0,
               text: str | None = None, values: dict | None = None, **bindings) -> list[dict]:
        """Rows of page_queries/{name}.rq (variables to terms; unbound ones absent).

        With `union` the default graph is the union of all graphs, as for the endpoint's
        clients; without it, the store's own default graph (and GRAPH for the named ones).
        `limit` and `offset` are appended to the query (a file ends with its solution
        modifiers); `text` is the query when the caller had to fill in parts of the file.
        `bindings` are substituted; `values` (variable -> one term) become a VALUES block at
        the start of the WHERE clause instead, where Oxigraph's planner sees them: a
        substituted ?class in `?type rdfs:subClassOf* ?class` is planned as if unbound (all
        pairs of the closure, seconds on a large store), a VALUES one is a walk from it."""
        query = page_query(name) if text is None else text
        if values:
            head, where, rest = query.partition("WHERE {")
            block = " ".join(f"VALUES ?{k} {{ {v} }}" for k, v in values.items())
            query = f"{head}{where}\n  {block}{rest}"
        if limit is not None:
            query += f"\nLIMIT {int(limit)}"
        if offset:
            query += f"\nOFFSET {int(offset)}"
        result = self.store.query(query, use_default_graph_as_union=union,
                                  substitutions={ox.Variable(k): v for k, v in bindings.items()} or None)
        names = [v.value for v in result.variables]
        return [{n: s[n] for n in names if s[n] is not None} for s in result]

    # --- per-revision cache -------------------------------------------------------------------
    def cached(self, key, compute, memo: str | None = None, size: int = 0):
        """compute() once per view (and key) while the entry is remembered; concurrent callers
        of the same key wait for the first, others go on (a search that scans the store must
        not hold up every other page). With `memo`, the entry goes to that named cache of
        `size` entries instead of the general one (for things with many variants, like pages)."""
        cache = self.cache if memo is None else self.memo(memo, size)
        found = cache.get(key, _MISSING)
        if found is not _MISSING:
            return found
        with self.lock:
            pending = self.pending.setdefault((memo, key), threading.Lock())
        with pending:
            found = cache.get(key, _MISSING)
            if found is _MISSING:
                try:
                    found = compute()
                    cache[key] = found
                finally:
                    with self.lock:
                        self.pending.pop((memo, key), None)
            return found

    def memo(self, name: str, size: int) -> Bounded:
        """The named bounded cache `name` (made on first use with `size` entries)."""
        with self.lock:
            found = self.memos.get(name)
            if found is None:
                found = self.memos[name] = Bounded(size)
            return found


class Reader:
    """Hands out the view of the service's current revision, making it when needed."""

    def __init__(self, service):
        self.service = service
        self.current: View | None = None
        self.lock = asyncio.Lock()
        self.retired: list[View] = []

    @asynccontextmanager
    async def view(self):
        view = await self._current()
        view.users += 1
        try:
            yield view
        finally:
            view.users -= 1
            self._sweep()

    async def _current(self) -> View:
        revision = self.service.revision
        view = self.current
        if view is not None and view.revision == revision:
            return view
        async with self.lock:
            if self.current is None or self.current.revision != self.service.revision:
                loop = asyncio.get_running_loop()
                fresh = await loop.run_in_executor(None, self._open)
                if self.current is not None:
                    self.retired.append(self.current)
                self.current = fresh
            return self.current

    def _open(self) -> View:
        current = self.service.current
        if current is None:  # a remote store, read live
            return View(self.service.settings, None, store=self.service.store.store,
                        revision=self.service.store.revision)
        snapshot = current.acquire()
        try:
            view = View(self.service.settings, None, store=snapshot.store, revision=snapshot.revision)
        except BaseException:
            current.release(snapshot)
            raise
        view.release = lambda: current.release(snapshot)
        return view

    def _sweep(self) -> None:
        """Remove retired views that no request is reading any more."""
        keep = []
        for view in self.retired:
            if view.users:
                keep.append(view)
                continue
            view.store = None
            if view.release is not None:
                view.release()
                view.release = None
        self.retired = keep


def for_request(request) -> Reader:
    """The app's reader (one per app, made on first use)."""
    state = request.app.state
    if getattr(state, "page_reader", None) is None:
        state.page_reader = Reader(state.service)
    return state.page_reader
