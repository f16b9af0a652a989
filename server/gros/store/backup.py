"""Backups and restores: every graph of the store as one N-Quads file, with a checksum.

A backup holds every quad of every graph, and the bookkeeping (content hashes, revision; kept
in a store of its own, store/embedded.py) as the graph `{base}graph/meta`, so that a restored
store is the same store: started on the same content files, the server moves that graph back to
its bookkeeping, finds nothing to reload and carries on at the same revision. A backup over
HTTP reads what clients read, which has no bookkeeping: the restored server loads the content
files again and counts revisions from 1.

- `backup_store(path, file)` reads a store on disk that no server is using (the store is locked
  while `gros serve` runs; use the URL then).
- `backup_url(url, file)` reads a running server over its public HTTP interface: the default
  graph and every named graph of the service description through the Graph Store Protocol
  (GET /rdf-graphs). The graphs are fetched one by one, so the dump is checked to be of one
  revision: /health before and after, and the revision in each graph's ETag, must agree, and
  the whole dump is taken again (a few times at most) when a write came in between.
- `restore(file, path)` loads a backup into a new store and then checks that the store holds
  exactly the quads of the file. It refuses a folder that is not empty, so a restore never
  mixes with, or overwrites, a store.

Files: `FILE` (N-Quads, UTF-8; gzip-compressed when asked, recognised by its magic bytes on
restore) and `FILE.sha256`, a line `HEX  NAME` that `sha256sum -c` checks. Both are written
to a temporary name and renamed, so a file with the final name is always complete.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from gros import etags
from gros.content.skolem import genid_prefix
from gros.store.embedded import REVISION, StoreError, books_path, open_store

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
from gros.errors import GrosError
from gros.namespaces import SD

NQ = ox.RdfFormat.N_QUADS
GZIP_MAGIC = b"\x1f\x8b"
SD_NAME = str(SD.name)
#: How many times a URL backup starts again when the store changed while it was read.
ATTEMPTS = 5
CHUNK = 1 << 16


class BackupError(GrosError):
    """A backup or restore that cannot be done; the message says why and what to do.

    `invalid` marks a backup file that is damaged (checksum, parse or content check failed), as
    opposed to a usage problem (exit codes 1 and 2 of the CLI)."""

    status = 500
    exit_code = 2

    def __init__(self, message: str, invalid: bool = False):
        super().__init__(message, exit_code=1 if invalid else 2)
        self.invalid = invalid


@dataclass
class Summary:
    path: Path
    quads: int
    graphs: int  # named graphs (the default graph is not counted)
    sha256: str
    revision: int | None = None


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


# --- writing a backup ---------------------------------------------------------------------------

class _Counting:
    """A binary writer that hashes and counts what goes through it (lines = quads in N-Quads)."""

    def __init__(self, raw):
        self.raw = raw
        self.sha = hashlib.sha256()

    def write(self, data) -> int:
        self.raw.write(data)
        self.sha.update(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


class _Writer:
    """Writes FILE.partial, then renames it to FILE and writes FILE.sha256 (both fsynced)."""

    def __init__(self, path: Path, compress: bool):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.compress = compress
        self.quads = 0

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.partial, "wb")
        self.hashed = _Counting(self.file)
        # mtime=0 and no file name: the same store gives the same bytes, hence the same checksum.
        self.out = gzip.GzipFile(filename="", fileobj=self.hashed, mode="wb", mtime=0) if self.compress else self.hashed
        return self

    def write_quads(self, data: bytes) -> None:
        self.quads += data.count(b"\n")  # N-Quads: one quad a line; newlines in literals are escaped
        self.out.write(data)

    def __exit__(self, kind, error, trace):
        try:
            if self.compress:
                self.out.close()
            self.file.flush()
            os.fsync(self.file.fileno())
        finally:
            self.file.close()
        if kind is not None:
            self.partial.unlink(missing_ok=True)
            return False
        digest = self.hashed.sha.hexdigest()
        os.replace(self.partial, self.path)
        _write_atomically(checksum_path(self.path), f"{digest}  {self.path.name}\n".encode())
        _fsync_folder(self.path.parent)
        self.sha256 = digest
        return False


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def dump_store(store: ox.Store, path: Path, compress: bool = False, books: ox.Store | None = None) -> Summary:
    """Every quad of `store` (and of its bookkeeping store `books`) into `path` (and `path`.sha256)."""
    graphs = sum(1 for g in store.named_graphs() if isinstance(g, ox.NamedNode))
    with _Writer(path, compress) as writer:
        store.dump(_QuadSink(writer), format=NQ)
        if books is not None:
            books.dump(_QuadSink(writer), format=NQ)
    return Summary(path, writer.quads, graphs, writer.sha256)


class _QuadSink:
    def __init__(self, writer: _Writer):
        self.writer = writer

    def write(self, data) -> int:
        self.writer.write_quads(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def backup_store(store_path: Path, path: Path, compress: bool = False) -> Summary:
    """A backup of the store at `store_path`, which no running server may be using."""
    if not store_path.is_dir() or not any(store_path.iterdir()):
        raise BackupError(f"there is no store at {store_path}")
    try:
        store = open_store(store_path)
        books = open_store(books_path(store_path)) if books_path(store_path).is_dir() else None
    except StoreError as err:
        raise BackupError(f"{err} (a running server's store is backed up with gros backup --url)") from None
    try:
        return dump_store(store, path, compress, books)
    except OSError as err:
        raise BackupError(f"the backup could not be written to {path}: {err}") from None
    finally:
        del store, books


# --- a backup over HTTP ---------------------------------------------------------------------------

def _get(url: str, accept: str, timeout: float) -> urllib.request.addinfourl:
    """GET with a few retries on 429 / 503 (rate limit, busy workers), honouring Retry-After."""
    request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": "gros-backup"})
    for attempt in range(6):
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (the operator's own URL)
        except urllib.error.HTTPError as err:
            if err.code in (429, 503) and attempt < 5:
                wait = err.headers.get("Retry-After", "1")
                time.sleep(min(30.0, float(wait) if wait.replace(".", "", 1).isdigit() else 1.0))
                continue
            detail = err.read(2000).decode("utf-8", errors="replace").strip()
            raise BackupError(f"GET {url} answered {err.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            raise BackupError(f"cannot reach {url}: {getattr(err, 'reason', err)}") from None
    raise AssertionError("unreachable")


def _revision(base: str, timeout: float) -> int:
    with _get(base + "/health", "application/json", timeout) as response:
        try:
            return int(json.load(response)["revision"])
        except (ValueError, KeyError, TypeError):
            raise BackupError(f"{base}/health did not say which revision the store is at; "
                              f"is this a gros server?") from None


def _graph_names(base: str, timeout: float) -> list[str]:
    """The named graphs the service description lists (sd:namedGraph/sd:name)."""
    with _get(base + "/sparql", "application/n-triples", timeout) as response:
        data = response.read()
    try:
        triples = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
        return sorted({t.object.value for t in triples if t.predicate.value == SD_NAME})
    except SyntaxError as err:
        raise BackupError(f"the service description of {base}/sparql does not parse: {err}") from None


def _etag_revision(etag: str | None) -> int | None:
    return etags.revision_of(etag)


def _dump_once(base: str, writer: _Writer, names: list[str], expected: int, timeout: float,
               base_iri: str | None = None) -> bool:
    """Write every graph; False when one of them was served from another revision. Clients get
    blank nodes where the store keeps skolem IRIs (content/skolem.py); with the service's
    `base_iri` they are turned back into those IRIs, so the restored store holds the same nodes."""
    genid = genid_prefix(base_iri) if base_iri else None

    def term(t):
        return ox.NamedNode(genid + t.value) if genid and isinstance(t, ox.BlankNode) else t

    for name in [None, *names]:
        query = "default" if name is None else "graph=" + urllib.parse.quote(name, safe="")
        with _get(f"{base}/rdf-graphs?{query}", "application/n-triples", timeout) as response:
            if _etag_revision(response.headers.get("ETag")) not in (None, expected):
                return False
            with tempfile.TemporaryFile() as spool:
                while chunk := response.read(CHUNK):
                    spool.write(chunk)
                spool.seek(0)
                graph = ox.DefaultGraph() if name is None else ox.NamedNode(name)
                try:
                    quads = (ox.Quad(term(t.subject), t.predicate, term(t.object), graph)
                             for t in ox.parse(spool, format=ox.RdfFormat.N_TRIPLES))
                    writer.write_quads(ox.serialize(quads, format=NQ) or b"")
                except SyntaxError as err:
                    raise BackupError(f"the graph <{name or 'default'}> from {base} does not parse: {err}") from None
    return True


def backup_url(url: str, path: Path, compress: bool = False, timeout: float = 300.0,
               base_iri: str | None = None) -> Summary:
    """A backup of the running server at `url` (its base URL, or its /sparql endpoint)."""
    base = url.rstrip("/").removesuffix("/sparql")
    for _ in range(ATTEMPTS):
        revision = _revision(base, timeout)
        names = _graph_names(base, timeout)
        try:
            with _Writer(path, compress) as writer:
                complete = _dump_once(base, writer, names, revision, timeout, base_iri)
                if not complete or _revision(base, timeout) != revision:
                    raise _Changed()
                if base_iri and revision is not None:
                    # The revision the backup was read at, as the bookkeeping records it: a server on
                    # the restored store goes on counting from there, so no ETag it sends can equal one
                    # sent before the backup for other content.
                    writer.write_quads(f'<{base_iri}dataset> <{REVISION.value}> "{revision}"^^<{XSD_INTEGER}> '
                                       f'<{base_iri}graph/meta> .\n'.encode())
        except _Changed:
            continue
        return Summary(path, writer.quads, len(names), writer.sha256, revision)
    raise BackupError(f"the store at {base} changed during each of {ATTEMPTS} attempts to read it; "
                      f"try again when fewer writes come in, or back up the store folder of a stopped server")


class _Changed(Exception):
    """The store moved to another revision while it was being read."""


# --- restoring --------------------------------------------------------------------------------------

def verify_checksum(path: Path) -> str:
    """The file's SHA-256, after checking it against FILE.sha256; BackupError if it differs or is missing."""
    listed = checksum_path(path)
    if not listed.is_file():
        raise BackupError(f"{listed} is missing, so {path} cannot be checked; restore it anyway with --no-checksum")
    fields = listed.read_text(encoding="utf-8", errors="replace").split()
    expected = fields[0].lower() if fields else ""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise BackupError(f"{path} does not match its checksum in {listed}: the file is damaged or was changed "
                          f"(expected {expected[:16]}…, found {digest.hexdigest()[:16]}…)", invalid=True)
    return expected


def open_backup(path: Path):
    """The backup as a binary stream of N-Quads, gzip or not (told by the first bytes)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _check_target(store_path: Path) -> None:
    if store_path.exists() and not store_path.is_dir():
        raise BackupError(f"{store_path} is a file; restore into a new folder")
    if store_path.is_dir() and any(store_path.iterdir()):
        raise BackupError(f"{store_path} is not empty; a backup is restored into a new store only "
                          f"(choose a new folder, or move the old store away first)")


def restore(path: Path, store_path: Path, check: bool = True) -> Summary:
    """Load the backup at `path` into a new store at `store_path`, then prove it holds the same quads."""
    if not path.is_file():
        raise BackupError(f"there is no backup file {path}")
    _check_target(store_path)
    digest = verify_checksum(path) if check else ""
    created = not store_path.exists()
    try:
        store = open_store(store_path)
    except StoreError as err:
        raise BackupError(str(err)) from None
    try:
        try:
            with open_backup(path) as source:
                store.bulk_load(source, format=NQ)
            store.flush()
        except (SyntaxError, OSError, EOFError, gzip.BadGzipFile) as err:
            raise BackupError(f"{path} cannot be read as N-Quads: {err}; nothing was restored", invalid=True) from None
        quads = _same_quads(store, path)
        _split_bookkeeping(store, store_path)
        graphs = sum(1 for g in store.named_graphs() if isinstance(g, ox.NamedNode))
        return Summary(store_path, quads, graphs, digest)
    except BackupError:
        del store
        if created:
            _remove_tree(store_path)
        else:  # it was an empty folder: leave it empty
            for child in store_path.iterdir():
                _remove_tree(child)
        raise


def _split_bookkeeping(store: ox.Store, store_path: Path) -> None:
    """The bookkeeping graph of the backup (the graph stating the store's revision) back into
    the bookkeeping store beside the data (store/embedded.py)."""
    graphs = {q.graph_name for q in store.quads_for_pattern(None, REVISION, None, None)
              if isinstance(q.graph_name, ox.NamedNode)}
    if not graphs:
        return
    books = open_store(books_path(store_path))
    for graph in graphs:
        books.extend(store.quads_for_pattern(None, None, None, graph))
    books.flush()
    for graph in graphs:
        store.remove_graph(graph)
    store.flush()


def _same_quads(store: ox.Store, path: Path) -> int:
    """Every quad of the file is in the store and the store holds no other: the count of quads."""
    count = 0
    with open_backup(path) as source:
        for quad in ox.parse(source, format=NQ):
            count += 1
            if not _has_blank_node(quad) and quad not in store:
                raise BackupError(f"after the restore the store lacks {quad}; nothing was restored", invalid=True)
    if len(store) != count:
        raise BackupError(f"the backup has {count} quads but the restored store {len(store)}; "
                          f"nothing was restored", invalid=True)
    return count


def _has_blank_node(quad: ox.Quad) -> bool:
    # Blank node labels are not kept by a store, so such quads are counted, not looked up.
    return any(isinstance(t, ox.BlankNode) for t in (quad.subject, quad.object, quad.graph_name))


def _remove_tree(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
