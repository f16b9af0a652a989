"""The history of one service's store: the change log kept level with the store.

The running service calls this at two places only: after the content files are loaded at
start-up (`catch_up`), and around the commit of each write (`before_commit`, then `committed`
or `failed`), all inside the single writer's lock. What a write changed is worked out per
resource on the store as committed (changes.py), so the log records descriptions, never the
SPARQL that produced them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyoxigraph as ox

from gros.history import catalogue
from gros.history.changes import Describer
from gros.history.log import CONTENT_ACTOR, ChangeLog, Event
from gros.settings import Settings
from gros.store.embedded import GraphStore

log = logging.getLogger("gros.history")

#: The actor of differences found at start-up that no content file and no pending write explains
#: (a store filled by `gros load`, or restored without its log).
STORE_ACTOR = "store"


@dataclass
class Pending:
    write: int
    subjects: set = field(default_factory=set)


class History:
    def __init__(self, settings: Settings, store: GraphStore):
        self.settings = settings
        self.store = store
        self.log = ChangeLog.for_store(settings.store_path)
        catalogue.prepare(self.log)
        self.behind = False  # a write's events could not be recorded: catch up at the next write

    def describer(self, store: ox.Store) -> Describer:
        return Describer(store, self.settings.base_iri + ".well-known/genid/", [self.store.meta.value])

    def catch_up(self, actor: str = CONTENT_ACTOR) -> list[Event]:
        """Record whatever the store holds that the log does not (content files loaded, a write
        whose events a crash kept from the log, a store filled or restored while no server ran)."""
        revision = self.store.revision
        pending = any(w.state == "pending" for w in self.log.writes(limit=20))
        if self.log.revision == revision and not pending:
            return []
        with self.store.reading() as store:
            everything = self.describer(store).everything()
        events = self.log.reconcile(everything, revision, actor)
        self.behind = False
        if events:
            log.info("history: %d resources recorded as changed by %s (log level with revision %d)",
                     len(events), actor, revision)
        return events

    def before_commit(self, actor: str, removed, added, drop_graphs) -> Pending:
        """Called in the writer's lock before the store commits: a pending write, and the subjects
        of graphs about to be dropped whole (their quads are in no list of the change)."""
        subjects = set()
        with self.store.reading() as store:
            for graph in drop_graphs:
                subjects |= {q.subject for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}
        pending = Pending(self.log.begin(actor, self.store.revision + 1), subjects)
        return pending

    def failed(self, pending: Pending) -> None:
        self.log.abandon(pending.write)

    def committed(self, pending: Pending, removed, added, revision: int) -> list[Event]:
        """The store committed the write: record the new description of every resource it touched."""
        if self.behind:
            return self.catch_up(STORE_ACTOR)
        try:
            with self.store.reading() as store:
                describer = self.describer(store)
                touched = describer.affected([*removed, *added]) | {
                    s for s in pending.subjects if isinstance(s, ox.NamedNode)}
                for subject in list(pending.subjects):
                    if describer.is_skolem(subject):
                        touched |= describer.roots(subject)
                descriptions = {r.value: describer.describe(r) for r in touched}
            return self.log.finish(pending.write, descriptions, revision)
        except Exception:
            # The data is committed; the log catches up at the next write or start (its pending
            # row keeps the actor and time).
            self.behind = True
            log.exception("history: the events of write %d could not be recorded yet", pending.write)
            return []
