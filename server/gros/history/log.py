"""The change log: every accepted change, who made it and when, and each resource's versions.

An append-only SQLite database at `{store}/history/log.sqlite`, next to the store's own files and
outside its dataset: no SPARQL query sees it. SQLite because the log is an ordered list of rows
read by ranges (feed pages) and by resource (Memento), which is what an index on a table is for,
and because it commits atomically and survives `kill -9` (WAL journal).

Tables:
- `writes`: one row per accepted change: time (`published`, UTC, never earlier than the one
  before), actor (a token's *name*, or `content` for the content files, never a token), the store
  revision it made, and `state` (`pending` until its events are recorded).
- `events`: one row per resource a change touched (`seq` 1, 2, 3 ... without gaps): the resource,
  `create` / `update` / `delete`, and the resource's new description (canonical N-Quads, empty
  for a delete).
- `meta`: the store revision the log has caught up with (`revision`).

Crash consistency. The store commits first and the log after it, both inside the single
writer's lock: (1) `begin()` records a pending write (actor, time, the revision it will make);
(2) the store commits; (3) `finish()` records the events and marks the write done, in one SQLite
transaction. A crash between (2) and (3) leaves a pending write whose revision the store has
reached: at the next start `reconcile()` diffs the store against the log and records the
missing events under that write's actor and time. A pending write the store never reached (the
crash came before the commit) is dropped. Any other gap (a store restored without its log, a
content file changed while the server was stopped) is recorded the same way, under the actor
given to `reconcile()`.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (
    id INTEGER PRIMARY KEY,
    published TEXT NOT NULL,
    actor TEXT NOT NULL,
    revision INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done'))
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    write INTEGER NOT NULL REFERENCES writes(id),
    resource TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create', 'update', 'delete')),
    published TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_resource ON events (resource, seq);
CREATE INDEX IF NOT EXISTS events_by_write ON events (write);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def type_test(classes: list[str]) -> str:
    """An SQL condition on a row of `events`: its description states `resource rdf:type C` for
    one of `classes`. The canonical text has one N-Quads line per statement, each ending in a
    newline, so a statement starts after a newline (a newline inside a literal is written \\n).
    The classes are written into the text, not bound, so that an index can carry the condition."""
    parts = []
    for name in classes:
        needle = f"> <{RDF_TYPE}> <{name}> ".replace("'", "''")
        parts.append(f"instr(char(10) || description, char(10) || '<' || resource || '{needle}') > 0")
    return "(" + " OR ".join(parts) + ")"

#: The actor of the changes made by (re)loading the content files.
CONTENT_ACTOR = "content"
FILE_NAME = "log.sqlite"


def now() -> str:
    """The current time as xsd:dateTime in UTC, to the microsecond."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Event:
    seq: int
    write: int
    resource: str
    kind: str
    published: str
    description: str
    actor: str

    @property
    def time(self) -> datetime:
        return parse_time(self.published)


@dataclass(frozen=True)
class Write:
    id: int
    published: str
    actor: str
    revision: int
    state: str


EVENT_COLUMNS = ("SELECT e.seq, e.write, e.resource, e.kind, e.published, e.description, w.actor "
                 "FROM events e JOIN writes w ON w.id = e.write")


class ChangeLog:
    """The log of one store. Written by the single writer only; read from any thread."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / FILE_NAME
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(SCHEMA)

    @classmethod
    def for_store(cls, store_path: Path) -> "ChangeLog":
        return cls(store_path / "history")

    @staticmethod
    def exists_for(store_path: Path) -> bool:
        return (store_path / "history" / FILE_NAME).is_file()

    # --- connections ---------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process, not always a power cut; the
        # store itself (RocksDB without a sync per write) is no more durable than that, and what
        # the store has and the log lacks is recorded at the next start (reconcile).
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """One connection per thread (SQLite connections are not shared between threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._open()
        yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # --- writing -------------------------------------------------------------------------------
    def _next_time(self, db) -> str:
        """Now, but always later than the last write (a clock set back must not reorder the feed)."""
        last = db.execute("SELECT MAX(published) FROM writes").fetchone()[0]
        current = now()
        if last and current <= last:
            current = (parse_time(last) + timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return current

    def begin(self, actor: str, revision: int) -> int:
        """Record a pending write (before the store commits it); returns its id."""
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO writes (published, actor, revision, state) VALUES (?, ?, ?, 'pending')",
                                (self._next_time(db), actor, revision))
            return cursor.lastrowid

    def abandon(self, write: int) -> None:
        """The store did not commit the write: forget it."""
        with self._transaction() as db:
            db.execute("DELETE FROM writes WHERE id = ? AND state = 'pending'", (write,))

    def finish(self, write: int, descriptions: dict[str, str], revision: int) -> list[Event]:
        """Record, for the pending `write`, the new description of each resource it may have
        changed; only those that differ from the log's latest become events."""
        with self._transaction() as db:
            published, actor = db.execute("SELECT published, actor FROM writes WHERE id = ?", (write,)).fetchone()
            events = []
            for resource in sorted(descriptions):
                new = descriptions[resource]
                old = self._latest(db, resource)
                if (old or "") == new:
                    continue
                kind = "delete" if not new else ("create" if not old else "update")
                cursor = db.execute("INSERT INTO events (write, resource, kind, published, description) "
                                    "VALUES (?, ?, ?, ?, ?)", (write, resource, kind, published, new))
                events.append(Event(cursor.lastrowid, write, resource, kind, published, new, actor))
            db.execute("UPDATE writes SET state = 'done', revision = ? WHERE id = ?", (revision, write))
            if not events:
                db.execute("DELETE FROM writes WHERE id = ?", (write,))
            self._set_revision(db, revision)
            return events

    def record(self, actor: str, descriptions: dict[str, str], revision: int) -> list[Event]:
        """begin() and finish() at once, for changes the store has already committed."""
        return self.finish(self.begin(actor, revision), descriptions, revision)

    def reconcile(self, everything: dict[str, str], revision: int, actor: str = CONTENT_ACTOR) -> list[Event]:
        """Bring the log level with the store, given every resource's description in it now.

        A pending write the store reached lends its actor and time to the difference; a pending
        write it never reached is dropped."""
        with self._lock, self._connection() as db:
            pending = db.execute("SELECT id, revision FROM writes WHERE state = 'pending' ORDER BY id").fetchall()
        write = None
        for ident, target in pending:
            if target <= revision and write is None:
                write = ident
            else:
                self.abandon(ident)
        known = set(self.latest_descriptions())
        gone = {resource: "" for resource in known if resource not in everything}
        if write is None:
            write = self.begin(actor, revision)
        return self.finish(write, {**gone, **everything}, revision)

    @staticmethod
    def _set_revision(db, revision: int) -> None:
        db.execute("INSERT INTO meta (key, value) VALUES ('revision', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(revision),))

    # --- reading -------------------------------------------------------------------------------
    @staticmethod
    def _latest(db, resource: str) -> str | None:
        row = db.execute("SELECT description FROM events WHERE resource = ? ORDER BY seq DESC LIMIT 1",
                         (resource,)).fetchone()
        return row[0] if row else None

    @property
    def revision(self) -> int | None:
        """The store revision the log has caught up with (None: never)."""
        with self._connection() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else None

    def latest_descriptions(self) -> dict[str, str]:
        """Each resource's latest description ('' once deleted)."""
        with self._connection() as db:
            rows = db.execute("SELECT resource, description FROM events WHERE seq IN "
                              "(SELECT MAX(seq) FROM events GROUP BY resource)").fetchall()
        return dict(rows)

    def count(self) -> int:
        with self._connection() as db:
            return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def events(self, first: int = 1, last: int | None = None) -> list[Event]:
        """The events with seq in [first, last] (to the end without `last`), in order."""
        with self._connection() as db:
            rows = db.execute(EVENT_COLUMNS + " WHERE e.seq >= ? AND e.seq <= ? ORDER BY e.seq",
                              (first, last if last is not None else 2 ** 62)).fetchall()
        return [Event(*row) for row in rows]

    def event(self, seq: int) -> Event | None:
        found = self.events(seq, seq)
        return found[0] if found else None

    def events_at(self, seqs: list[int]) -> list[Event]:
        """The events with the given seq numbers, in order."""
        if not seqs:
            return []
        with self._connection() as db:
            marks = ",".join("?" * len(seqs))
            rows = db.execute(EVENT_COLUMNS + f" WHERE e.seq IN ({marks}) ORDER BY e.seq", seqs).fetchall()
        return [Event(*row) for row in rows]

    def index_typed(self, classes: list[str]) -> None:
        """Have SQLite keep an index of the events whose new description types their resource as
        one of `classes` (built once over the log, then kept up with every insert), so that
        typed() reads only those. Called by the writer at start-up; without it typed() reads
        every description."""
        test = type_test(classes)
        name = "events_typed_" + hashlib.sha256(test.encode()).hexdigest()[:12]
        with self._lock, self._connection() as db:
            db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON events (seq) WHERE {test}")

    def typed(self, after: int, classes: list[str], also: Iterable[str] = ()) -> list[tuple[int, str, bool]]:
        """(seq, resource, typed) of each event after seq `after` that matters to a view of the
        resources of `classes`, in order: the events whose new description types the resource as
        one of them (typed True), and every event of a resource that is, or was until then, of
        one of them: those of `also` and those typed here (typed False: it is no longer)."""
        test = type_test(classes)
        with self._connection() as db:
            newest = db.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
            rows = db.execute(f"SELECT seq, resource, 1 FROM events WHERE seq > ? AND seq <= ? AND {test}",
                              (after, newest)).fetchall()
            resources = sorted(set(also) | {resource for _, resource, _ in rows})
            for start in range(0, len(resources), 500):  # SQLite's limit on parameters
                chunk = resources[start:start + 500]
                rows += db.execute(f"SELECT seq, resource, {test} FROM events WHERE seq > ? AND seq <= ? AND "
                                   f"resource IN ({','.join('?' * len(chunk))})", (after, newest, *chunk)).fetchall()
        found = {seq: (seq, resource, bool(flag)) for seq, resource, flag in rows}
        return [found[seq] for seq in sorted(found)]

    def times(self, seqs: list[int]) -> dict[int, str]:
        """The time of each of the given events (for the bounds of feed pages)."""
        if not seqs:
            return {}
        with self._connection() as db:
            marks = ",".join("?" * len(seqs))
            return dict(db.execute(f"SELECT seq, published FROM events WHERE seq IN ({marks})", seqs).fetchall())

    def versions(self, resource: str) -> list[Event]:
        """Every event of one resource, oldest first."""
        with self._connection() as db:
            rows = db.execute(EVENT_COLUMNS + " WHERE e.resource = ? ORDER BY e.seq", (resource,)).fetchall()
        return [Event(*row) for row in rows]

    def writes(self, limit: int = 100) -> list[Write]:
        with self._connection() as db:
            rows = db.execute("SELECT id, published, actor, revision, state FROM writes ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [Write(*row) for row in rows]

    def resources_of(self, write: int) -> list[str]:
        with self._connection() as db:
            return [r[0] for r in db.execute("SELECT resource FROM events WHERE write = ? ORDER BY seq", (write,))]

    def size(self) -> int:
        """Bytes on disk (database and its journal)."""
        return sum(p.stat().st_size for p in self.folder.glob(FILE_NAME + "*") if p.is_file())

    # --- copies --------------------------------------------------------------------------------
    def copy_to(self, target: Path) -> None:
        """A consistent copy of the log in one file (SQLite's online backup), also while it is written."""
        target.parent.mkdir(parents=True, exist_ok=True)
        out = sqlite3.connect(target)
        try:
            with self._connection() as db:
                db.backup(out)
        finally:
            out.close()
