"""The catalogue's own change feed: a DCAT-AP Feed (SEMIC's LDES profile for catalogues).

DCAT-AP Feeds asks for a stream whose every member is about a DCAT-AP entity, and whose member
shape (`ActivityShape` of the profile) is closed: an activity has its type, `as:object` and
`as:published`, nothing else. The full feed (stream.py) holds every resource of the graph and
says who made each change, so it cannot be that stream. This one is a view of the same change
log: the events of the resources typed as one of the profile's standalone entity classes
(ENTITY_CLASSES), with the same numbers, times and payloads, without `as:actor` (the same number
in the full feed, `/ldes/event/{n}`, says who).

Seen from the catalogue, a resource that gains one of those types is created and one that loses
them is deleted, whatever else happens to its description: a harvester that replays this stream
has exactly the current descriptions of the catalogue's entities.

Which events belong here is worked out once per process and then only for the events added
since (the log is append-only, so the numbering of this stream never changes either), through an
index of the log that the writer sets up (`prepare`): the descriptions of other resources are
never read.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, replace

import pyoxigraph as ox

from gros.history.log import ChangeLog, Event
from gros.history.stream import PAGE_SIZE, TREE, Stream, _n, DEFAULT

#: The profile's standalone entities (DCAT-AP Feeds, "Entity types"): what its shape accepts as
#: the `as:object` of a Create or Update.
ENTITY_CLASSES = [
    "http://www.w3.org/ns/dcat#Catalog",
    "http://www.w3.org/ns/dcat#Dataset",
    "http://www.w3.org/ns/dcat#Distribution",
    "http://www.w3.org/ns/dcat#DataService",
    "http://xmlns.com/foaf/0.1/Agent",
    "http://www.w3.org/2006/vcard/ns#Kind",
    "http://purl.org/dc/terms/LicenseDocument",
]
#: The profile's member shape, named by the stream (`tree:shape`), as the profile asks.
ACTIVITY_SHAPE = "https://semiceu.github.io/LDES-DCAT-AP-feeds/shape.ttl#ActivityShape"


def prepare(log: ChangeLog) -> None:
    """Called by the writer: the log's index of the catalogue's events."""
    log.index_typed(ENTITY_CLASSES)


@dataclass(frozen=True)
class Entry:
    seq: int  # the event of the change log
    kind: str  # create, update, delete: as the catalogue sees it


class Index:
    """The events of one change log that are about catalogue entities, in order."""

    def __init__(self, log: ChangeLog):
        self.log = log
        self.entries: list[Entry] = []
        self.scanned = 0  # the last seq looked at
        self.entity: set[str] = set()  # resources that are catalogue entities now
        self.lock = threading.Lock()

    def refresh(self) -> list[Entry]:
        with self.lock:
            for seq, resource, typed in self.log.typed(self.scanned, ENTITY_CLASSES, also=self.entity):
                was = resource in self.entity
                if typed:
                    self.entries.append(Entry(seq, "update" if was else "create"))
                    self.entity.add(resource)
                elif was:
                    self.entries.append(Entry(seq, "delete"))
                    self.entity.discard(resource)
                self.scanned = seq
            return self.entries


_indexes: "weakref.WeakKeyDictionary[ChangeLog, Index]" = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def index_of(log: ChangeLog) -> Index:
    with _indexes_lock:
        found = _indexes.get(log)
        if found is None:
            found = _indexes[log] = Index(log)
        return found


class CatalogueStream(Stream):
    """`{base}ldes/catalog#feed`, entry point `{base}ldes/catalog`, pages `{base}ldes/catalog/{n}`,
    members `{base}ldes/catalog/event/{seq}` (seq: the event's number in the change log)."""

    TITLES = {"nl": "Wijzigingen in de catalogus van de GROS-kennisgraaf",
              "en": "Changes to the catalogue of the GROS knowledge graph"}
    PART_OF = "catalog"
    ATTRIBUTED = False  # the profile's activity shape is closed to anything but as:object and as:published

    def __init__(self, base_iri: str, log: ChangeLog, page_size: int = PAGE_SIZE):
        super().__init__(base_iri, log, page_size)
        self.root = _n(base_iri + "ldes/catalog")
        self.feed = _n(base_iri + "ldes/catalog#feed")
        self.retention = _n(base_iri + "ldes/catalog#retention")
        self.index = index_of(log)
        self._entries: list[Entry] | None = None

    def page(self, number: int) -> ox.NamedNode:
        return _n(f"{self.base}ldes/catalog/{number}")

    def member(self, seq: int) -> ox.NamedNode:
        return _n(f"{self.base}ldes/catalog/event/{seq}")

    # --- what the stream holds --------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        # Read once per document: every part of one answer sees the same members.
        if self._entries is None:
            self._entries = list(self.index.refresh())
        return self._entries

    def size(self) -> int:
        return len(self.entries())

    def slice(self, first: int, last: int) -> list[Event]:
        chosen = self.entries()[first - 1:last]
        return self._as_seen(chosen)

    def times(self, numbers: list[int]) -> dict[int, str]:
        entries = self.entries()
        seqs = {n: entries[n - 1].seq for n in numbers if 0 < n <= len(entries)}
        found = self.log.times(list(seqs.values()))
        return {n: found[seq] for n, seq in seqs.items() if seq in found}

    def event(self, seq: int) -> Event | None:
        """Member `seq` of this stream (None: the event is not about a catalogue entity)."""
        chosen = [e for e in self.entries() if e.seq == seq]
        return self._as_seen(chosen)[0] if chosen else None

    def _as_seen(self, entries: list[Entry]) -> list[Event]:
        kinds = {e.seq: e.kind for e in entries}
        return [replace(event, kind=kinds[event.seq],
                        description="" if kinds[event.seq] == "delete" else event.description)
                for event in self.log.events_at(list(kinds))]

    def _stream_quads(self) -> list[ox.Quad]:
        return super()._stream_quads() + [ox.Quad(self.feed, _n(TREE + "shape"), _n(ACTIVITY_SHAPE), DEFAULT)]

    def _page_context(self) -> list[ox.Quad]:
        # The profile asks every page to say what the stream is: its types, shape, paths and view.
        return self._stream_quads()
