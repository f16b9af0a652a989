"""The embedded Oxigraph store: open it, load the content files into their named graphs,
apply changes atomically, and keep a revision number for caching.

Only this module writes to the store (docs/contributing.md).

Three choices worth knowing:
- Every write is one SPARQL update request, which Oxigraph runs as one transaction: a change
  (and the revision bump that goes with it) is applied whole or not at all, also on `kill -9`.
- The store holds no blank nodes. SPARQL's DELETE DATA cannot name a blank node, so a change
  that removes one could not be written atomically; blank nodes are therefore replaced by
  skolem IRIs (`{base}.well-known/genid/...`, RDF 1.1 Concepts §3.5) when they enter the store.
- Bookkeeping (the store's revision, the content hash and file of each loaded graph, so that
  files are reloaded only when their bytes change, what `gros load --bulk` loaded) is no part of
  the clients' dataset: no query, `GRAPH ?g`, Graph Store request or `DROP ALL` reaches it. It is
  kept as quads in the graph `{base}graph/meta` of a small store of its own (`books`): for an
  embedded store a second Oxigraph store in the folder `bookkeeping/` inside the store's folder
  (so moving, swapping or removing the store folder takes it along); for a remote store the graph
  `{base}graph/meta` of the remote store, shared by every front end (docs/remote-stores.md).

  Two stores cannot share a transaction, so an embedded write is three steps, ordered so that a
  crash between any two leaves nothing wrong: (1) the bookkeeping moves the revision on and
  forgets what the change makes stale (old content hashes); (2) the data change, one transaction;
  (3) the bookkeeping records what the data now holds (new content hashes). A crash after (1)
  leaves a revision that moved without a change (caches revalidate once) and a content file
  without a hash (it is loaded again at the next start); never one revision number for two
  states of the data, nor a hash of content the store does not hold. A change feed kept here
  later would be written in step (1) as pending and confirmed in step (3).
"""
from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from gros.content.skolem import Skolemizer
from gros.settings import Settings
from gros.content.files import ContentFile
from gros.errors import GrosError
from gros.namespaces import GROS

XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
CONTENT_HASH = ox.NamedNode(GROS + "contentHash")
SOURCE_FILE = ox.NamedNode(GROS + "sourceFile")
REVISION = ox.NamedNode(GROS + "revision")
DATA_BLOCK = 4000  # quads per DELETE DATA / INSERT DATA block of one write
BOOKS_FOLDER = "bookkeeping"  # the embedded bookkeeping store, inside the store's folder


class StoreError(GrosError):
    """The store cannot be opened or written (locked, damaged, or on a read-only path)."""

    status = 503
    exit_code = 2


@dataclass
class SyncReport:
    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def open_store(path: Path | None = None, read_only: bool = False) -> ox.Store:
    """An on-disk store at `path` (read-write, or read-only for query workers), or in memory."""
    try:
        if path is None:
            return ox.Store()
        if read_only:
            return ox.Store.read_only(str(path))
        path.mkdir(parents=True, exist_ok=True)
        return ox.Store(str(path))
    except OSError as err:
        if "lock" in str(err).lower():
            raise StoreError(f"the store at {path} is in use by another process (it holds the lock {path}/LOCK): "
                             f"stop that gros or oxigraph process, or pass another --store PATH") from None
        raise StoreError(f"cannot open the store at {path} ({err}): {DAMAGED}") from None
    except RuntimeError as err:  # RocksDB reports a damaged store as "Corruption: ..."
        raise StoreError(f"the store at {path} is damaged and cannot be opened ({err}): {DAMAGED}") from None


DAMAGED = ("if it is damaged, restore a backup into a new folder (gros restore --store NEW FILE) and start "
           "on that, or move it away and start with an empty store (the content files are loaded again; "
           "runtime edits are then lost)")


def books_path(store_path: Path | None) -> Path | None:
    """Where the bookkeeping of the embedded store at `store_path` lives (None: in memory)."""
    return None if store_path is None else store_path / BOOKS_FOLDER


def snapshot_revision(path: Path) -> int:
    """The revision a snapshot folder (GraphStore.snapshot) holds, from its name `rev-N-...`."""
    return int(path.name.split("-")[1])


def remote_store(settings: Settings):
    from gros.store.remote import RemoteStore

    return RemoteStore.from_settings(settings)


def term_text(term) -> str:
    """A term in SPARQL/N-Triples syntax (Oxigraph's str() gives exactly that)."""
    return str(term)


def quad_text(quad: ox.Quad) -> str:
    triple = f"{term_text(quad.subject)} {term_text(quad.predicate)} {term_text(quad.object)} ."
    if isinstance(quad.graph_name, ox.DefaultGraph):
        return triple
    return f"GRAPH {term_text(quad.graph_name)} {{ {triple} }}"


class GraphStore:
    """The service's store: content graphs, runtime changes, revision."""

    def __init__(self, settings: Settings, store: ox.Store | None = None, books: ox.Store | None = None):
        """`store`: a store opened elsewhere (else the one `settings` names); `books`: its
        bookkeeping store (else the one inside `settings.store_path`, or the remote store)."""
        self.settings = settings
        # Only a store opened here may be reopened here (_renew_if_due); not one we were handed.
        self.renewable = store is None and not settings.remote and settings.store_path is not None
        if store is None:
            store = remote_store(settings) if settings.remote else open_store(settings.store_path)
        self._store = store
        self.remote = not isinstance(store, ox.Store)
        if books is None:
            books = store if self.remote else open_store(books_path(settings.store_path))
        self._books = books
        # The handle may be swapped by a reopen; `reading()` marks a reader that must not lose it.
        self._lock = threading.Lock()
        self._readers = 0
        self._writes_since_open = 0
        self.reopens = 0  # times the writer reopened the store (tests, bench)
        self.meta = ox.NamedNode(settings.graph_base + "meta")
        self.dataset = ox.NamedNode(settings.base_iri + "dataset")
        if not self.remote:
            self._move_old_bookkeeping()

    @classmethod
    def at_checkpoint(cls, settings: Settings, store: ox.Store, revision: int) -> "GraphStore":
        """A read-only checkpoint of revision `revision` (runtime/snapshots.py). A checkpoint copies
        the data only: the bookkeeping store stays with the writer, which holds its lock, so the
        bookkeeping a reader needs (the revision) is kept in memory here."""
        books = ox.Store()
        dataset = ox.NamedNode(settings.base_iri + "dataset")
        meta = ox.NamedNode(settings.graph_base + "meta")
        books.add(ox.Quad(dataset, REVISION, ox.Literal(str(revision), datatype=XSD_INTEGER), meta))
        return cls(settings, store=store, books=books)

    # --- the handle ----------------------------------------------------------------------------
    @property
    def store(self) -> ox.Store:
        """The live handle, for the single writer and start-up. Any other thread reads through
        `reading()`, because the writer may reopen the store between two writes."""
        return self._store

    @contextmanager
    def reading(self) -> Iterator[ox.Store]:
        """The live handle, kept open until the block ends. Consume every iterator and result
        inside the block: one still alive afterwards holds RocksDB's lock and stops a reopen."""
        with self._lock:
            self._readers += 1
            store = self._store
        try:
            yield store
        finally:
            with self._lock:
                self._readers -= 1

    def _renew_if_due(self) -> None:
        """Reopen the live store every `settings.store_reopen_every` writes, when no reader holds
        it (else at the next write). Called by the writer before it writes.

        Why: RocksDB records every change to its set of table files in one MANIFEST file and
        starts a new one only when the store is opened: about 3.4 KB a write, which every
        snapshot (checkpoint) copies and every read-only open replays. After 3,000 writes it is
        10 MB, opening a view is 3x slower and the server's memory grows with it
        (bench/manifest_growth.py). pyoxigraph has no option for it; a reopen takes ~20 ms on a small store."""
        due = self._writes_since_open >= max(1, self.settings.store_reopen_every)
        if not self.renewable or (self._store is not None and not due):
            return
        with self._lock:
            if self._readers and self._store is not None:
                return
            self._store = self._books = None  # RocksDB closes with the handle's last reference
            # Should the open fail, the write fails with a StoreError and the next one opens again.
            self._store = _reopen(self.settings.store_path)
            self._books = _reopen(books_path(self.settings.store_path))
            self._writes_since_open = 0
            self.reopens += 1

    # --- the bookkeeping -----------------------------------------------------------------------
    def records(self, subject=None, predicate=None) -> list[ox.Quad]:
        """The bookkeeping quads (in the graph `self.meta`) that match; None is a wildcard.
        They are written with `apply`, like data: a quad whose graph is `self.meta` goes to the books."""
        with self._lock:
            self._readers += 1
            books = self._books
        try:
            return list(books.quads_for_pattern(subject, predicate, None, self.meta))
        finally:
            with self._lock:
                self._readers -= 1

    def _move_old_bookkeeping(self) -> None:
        """A store written before the bookkeeping had a store of its own keeps it in its graph
        `self.meta`: move it to the books (once; the books first, so a crash repeats the move)."""
        old = list(self._store.quads_for_pattern(None, None, None, self.meta))
        if not old:
            return
        if not list(self._books.quads_for_pattern(self.dataset, REVISION, None, self.meta)):
            self._books.extend(old)
            self._books.flush()
        self._store.update(f"DROP SILENT GRAPH {self.meta}")
        self._store.flush()

    # --- reading -----------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        for quad in self.records(self.dataset, REVISION):
            return int(quad.object.value)
        return 0

    def loaded_hashes(self) -> dict[str, str]:
        return {q.subject.value: q.object.value for q in self.records(None, CONTENT_HASH)}

    def named_graphs(self) -> list[str]:
        with self.reading() as store:
            return sorted(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode) and g != self.meta)

    def has_graph(self, graph) -> bool:
        """Whether the named graph has quads (the default graph always exists)."""
        if isinstance(graph, ox.DefaultGraph):
            return True
        if graph == self.meta and self.remote:
            return False  # the remote store's bookkeeping graph is no client's graph
        with self.reading() as store:
            return store.contains_named_graph(graph)

    def graph_quads(self, graph) -> list[ox.Quad]:
        """Every quad of one graph (a list: read whole inside the handle's block)."""
        with self.reading() as store:
            return list(store.quads_for_pattern(None, None, None, graph))

    # --- writing -----------------------------------------------------------------------------
    def _revision_change(self, current: int) -> tuple[list[ox.Quad], list[ox.Quad]]:
        old = [ox.Quad(self.dataset, REVISION, ox.Literal(str(current), datatype=XSD_INTEGER), self.meta)]
        new = [ox.Quad(self.dataset, REVISION, ox.Literal(str(current + 1), datatype=XSD_INTEGER), self.meta)]
        return (old if current else []), new

    def apply(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad], drop_graphs: Iterable[str] = ()) -> int:
        """Remove and add quads (and drop whole graphs first); returns the new revision. Quads in
        the graph `self.meta` are bookkeeping (see the module docstring for the order of the steps)."""
        self._renew_if_due()
        current = self.revision
        old_revision, new_revision = self._revision_change(current)
        skolem = Skolemizer(self.settings)
        removed, added = list(removed), [skolem.quad(q) for q in added]
        books_removed = [q for q in removed if q.graph_name == self.meta]
        books_added = [q for q in added if q.graph_name == self.meta]
        removed = [q for q in removed if q.graph_name != self.meta]
        added = [q for q in added if q.graph_name != self.meta]
        drop_graphs = [g for g in drop_graphs if g != self.meta.value]
        try:
            if self.remote:
                # One request: the remote store runs it as one transaction (bookkeeping included).
                self.store.update(_operations([*removed, *books_removed, *old_revision],
                                              [*added, *books_added, *new_revision], drop_graphs, self.store.outward))
            else:
                self._books.update(_operations([*books_removed, *old_revision], new_revision))
                if removed or added or drop_graphs:
                    self.store.update(_operations(removed, added, drop_graphs))
                if books_added:
                    self._books.update(_operations([], books_added))
        except OSError as err:
            raise StoreError(f"the store could not be written: {err}") from None
        self._writes_since_open += 1
        return current + 1

    def flush(self) -> None:
        self.store.flush()
        if not self.remote:
            self._books.flush()

    def backup_books(self, folder: Path) -> None:
        """A copy of the bookkeeping store in `folder` (beside a copy of the data store)."""
        self._books.backup(str(folder))

    def sync(self, files: list[ContentFile]) -> SyncReport:
        """Load each content file into its named graph when its bytes changed since the last load.

        Each changed file is replaced in one transaction, so a reader never sees half a file.
        Graphs of files that no longer exist are dropped.
        """
        report = SyncReport()
        known = self.loaded_hashes()
        present = set()
        for content in files:
            present.add(content.graph)
            digest = hashlib.sha256(content.path.read_bytes()).hexdigest()
            if known.get(content.graph) == digest:
                report.unchanged.append(content.graph)
                continue
            graph = ox.NamedNode(content.graph)
            skolem = Skolemizer(self.settings, prefix=content.stem)
            added = [skolem.quad(ox.Quad(t.subject, t.predicate, t.object, graph)) for t in content.triples]
            removed = self.records(graph)
            bookkeeping = [ox.Quad(graph, CONTENT_HASH, ox.Literal(digest), self.meta),
                           ox.Quad(graph, SOURCE_FILE, ox.Literal(self._relative(content.path)), self.meta)]
            if self.remote and self.store.replace_graph(content.graph, (q.triple for q in added)):
                # One Graph Store PUT replaces the graph; the hash is recorded after it, so a
                # crash in between only means the file is loaded again on the next start.
                self.apply(removed, bookkeeping)
            else:
                self.apply(removed, added + bookkeeping, drop_graphs=[content.graph])
            report.loaded.append(content.graph)
        for graph in sorted(set(known) - present):
            removed = self.records(ox.NamedNode(graph))
            self.apply(removed, [], drop_graphs=[graph])
            report.removed.append(graph)
        return report

    def snapshot(self, folder: Path) -> Path | None:
        """A consistent read-only copy of the store as it is now, for the query workers.

        Oxigraph's backup is a RocksDB checkpoint: hard links to the immutable table files,
        so it is cheap and later writes or compactions of the live store cannot change or
        delete what a worker is reading.
        """
        if self.remote:
            return None  # a remote store is read live: it has no checkpoints (docs/remote-stores.md)
        target = folder / f"rev-{self.revision}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with self.reading() as store:
                store.backup(str(target))
        except OSError as err:
            raise StoreError(f"cannot write a snapshot of the store to {target}: {err}") from None
        return target

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.settings.root.resolve()))
        except ValueError:
            return str(path)


def _operations(removed: list[ox.Quad], added: list[ox.Quad], drop_graphs: Iterable[str] = (),
                stored=lambda quad: quad) -> str:
    """One SPARQL update request: drop the graphs, then remove and add the quads. `stored` maps
    a quad to how the store keeps it (a remote store keeps the default graph under a named
    stand-in, remote.py). Blocks of a few thousand quads because Virtuoso refuses a DATA block
    of about 5,000 (docs/remote-stores.md)."""
    operations = [f"DROP SILENT GRAPH <{g}>" for g in drop_graphs]
    removal = [quad_text(stored(q)) for q in removed]
    addition = [quad_text(stored(q)) for q in added]
    for start in range(0, len(removal), DATA_BLOCK):
        operations.append("DELETE DATA {\n" + "\n".join(removal[start:start + DATA_BLOCK]) + "\n}")
    for start in range(0, len(addition), DATA_BLOCK):
        operations.append("INSERT DATA {\n" + "\n".join(addition[start:start + DATA_BLOCK]) + "\n}")
    return " ;\n".join(operations)


def _reopen(path: Path, attempts: int = 50) -> ox.Store:
    """Open the store again after closing it. A handle dropped on another thread an instant
    ago may still be closing, so a held lock is waited out for a moment (50 x 20 ms)."""
    for attempt in range(attempts):
        try:
            return open_store(path)
        except StoreError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")


def quads(files: list[ContentFile]) -> Iterator[ox.Quad]:
    for content in files:
        graph = ox.NamedNode(content.graph)
        for t in content.triples:
            yield ox.Quad(t.subject, t.predicate, t.object, graph)


def memory_store(files: list[ContentFile]) -> ox.Store:
    """All content in a fresh in-memory store, one named graph per file (for the CLI and tests)."""
    store = ox.Store()
    store.extend(quads(files))
    return store


def open_for_query(path: Path) -> ox.Store:
    """An existing store to query (refused when the folder holds no store)."""
    if not (path / "CURRENT").is_file():
        raise StoreError(f"there is no store at {path}; fill one with gros load --store {path} --graph IRI FILE")
    return open_store(path)
