"""The revision every serving process reads, shared through the file system.

The writer (service.Service) makes a read-only checkpoint of each revision it commits (cheap:
hard links, see store.GraphStore.snapshot) and then *publishes* it: it replaces the small file
`current` in the snapshot folder with one naming the revision and the checkpoint, atomically
(os.replace). A serving process looks at that file's identity (one stat, about a microsecond)
on every request, so once the writer has published, which it does before the write's 2xx is
sent, every process answers from the new revision: read-your-writes across processes.

A checkpoint is removed only when no process reads it: a reader holds a shared flock on the
checkpoint's lock file while it has the checkpoint open, and the writer removes a retired
checkpoint only when it gets the lock exclusively. A process that dies (kill -9 at the time
limit) loses its locks with it, so nothing it read is kept for ever.
"""
from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pyoxigraph as ox

log = logging.getLogger("gros.snapshots")

POINTER = "current"


def lock_path(snapshot: Path) -> Path:
    return snapshot.with_name(snapshot.name + ".lock")


def publish(folder: Path, revision: int, snapshot: Path | None) -> None:
    """Make `snapshot` (of `revision`) what every reader reads from now on."""
    folder.mkdir(parents=True, exist_ok=True)
    if snapshot is not None:
        lock_path(snapshot).touch()
    temporary = folder / f".{POINTER}.{os.getpid()}"
    temporary.write_text(json.dumps({"revision": revision, "path": str(snapshot) if snapshot else None}))
    os.replace(temporary, folder / POINTER)


def sweep(folder: Path, keep: Path | None) -> int:
    """Remove the checkpoints other than `keep` that no process reads; how many were removed."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if not path.is_dir() or path == keep or not path.name.startswith("rev-"):
            continue
        lock = lock_path(path)
        try:
            # Only published checkpoints have a lock file: one being written (RocksDB makes it
            # as `<name>.tmp` and renames it) or not yet published is never touched.
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a process still reads it
            os.close(fd)
            continue
        try:
            shutil.rmtree(path, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


class Snapshot:
    """One checkpoint opened read-only in this process, with the shared lock that keeps it."""

    def __init__(self, revision: int, path: Path | None, store):
        self.revision = revision
        self.path = path
        self.store = store
        self.users = 0
        self.retired = False
        self._lock_fd: int | None = None

    @classmethod
    def open(cls, revision: int, path: Path) -> "Snapshot":
        fd = os.open(lock_path(path), os.O_RDONLY)  # FileNotFoundError: already removed
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if not path.is_dir():
                raise FileNotFoundError(path)
            snapshot = cls(revision, path, ox.Store.read_only(str(path)))
        except BaseException:
            os.close(fd)
            raise
        snapshot._lock_fd = fd
        return snapshot

    def close(self) -> None:
        self.store = None  # closes the RocksDB handle before the lock goes
        # A handle still referenced from a reference cycle (rdflib's graph wrappers of a page
        # view make some) stays open, its files with it, until the cyclic collector runs: run it
        # now, once per retired revision, so that no process holds the files of old revisions.
        gc.collect()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class Current:
    """The published revision, as this process sees it (reread when the pointer changes).

    `acquire()` hands out the current Snapshot with one more user; `release()` gives it back.
    A retired snapshot is closed when its last user is done."""

    def __init__(self, folder: Path):
        self.pointer = folder / POINTER
        self.identity = None
        self.snapshot: Snapshot | None = None
        self.lock = threading.Lock()
        self.on_change = []  # callables(revision), e.g. dropping a cache

    def _changed(self) -> bool:
        try:
            st = os.stat(self.pointer)
        except FileNotFoundError:
            raise RuntimeError(f"no revision is published at {self.pointer}: is the writer running?") from None
        identity = (st.st_ino, st.st_mtime_ns, st.st_size)
        if identity == self.identity and self.snapshot is not None:
            return False
        return True

    def refresh(self) -> Snapshot:
        if not self._changed():
            return self.snapshot
        with self.lock:
            for _attempt in range(20):
                st = os.stat(self.pointer)
                identity = (st.st_ino, st.st_mtime_ns, st.st_size)
                if identity == self.identity and self.snapshot is not None:
                    return self.snapshot
                data = json.loads(self.pointer.read_text())
                path = Path(data["path"]) if data["path"] else None
                if self.snapshot is not None and self.snapshot.path == path:
                    self.identity = identity
                    return self.snapshot
                try:
                    fresh = Snapshot.open(data["revision"], path) if path else Snapshot(data["revision"], None, None)
                except (FileNotFoundError, OSError):
                    continue  # replaced and removed meanwhile: read the pointer again
                old, self.snapshot, self.identity = self.snapshot, fresh, identity
                if old is not None:
                    old.retired = True
                    if not old.users:
                        old.close()
                for callback in self.on_change:
                    callback(fresh.revision)
                return fresh
            raise RuntimeError(f"the published revision at {self.pointer} could not be opened")

    @property
    def revision(self) -> int:
        return self.refresh().revision

    def acquire(self) -> Snapshot:
        snapshot = self.refresh()
        with self.lock:
            snapshot.users += 1
        return snapshot

    def release(self, snapshot: Snapshot) -> None:
        with self.lock:
            snapshot.users -= 1
            if snapshot.retired and not snapshot.users:
                snapshot.close()
