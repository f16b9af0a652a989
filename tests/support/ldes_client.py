"""A harvester of a Linked Data Event Stream, as a registry would write one, for the tests.

It knows only where to start: the catalogue (`discover`) or the stream's entry point. It follows
`tree:relation`s page by page (LDES §client: discover relations with `<page> tree:relation ?r`),
collects the members with their payloads (the named graph of each member IRI), and replays them
in `as:published` order into a state per resource: Create and Update replace the resource's
description, Delete removes it. `poll()` reads again from the pages it had not finished, the way
a harvester stays in sync.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pyoxigraph as ox

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LDES_SPEC = "https://w3id.org/ldes/specification"
DCAT_AP_FEEDS = "https://semiceu.github.io/LDES-DCAT-AP-feeds/"


def _store(quads) -> ox.Store:
    store = ox.Store()
    store.extend(quads)
    return store


@dataclass
class Member:
    iri: str
    kind: str  # Create, Update, Delete
    object: str
    published: str
    actor: str | None
    payload: frozenset  # of ox.Triple


@dataclass
class Harvester:
    http: httpx.Client
    base_iri: str
    entry: str = ""  # URL of the entry point
    members: dict[str, Member] = field(default_factory=dict)
    done_pages: set[str] = field(default_factory=set)
    pages_read: int = 0
    agent_names: dict[str, str] = field(default_factory=dict)
    known: ox.Store | None = None  # what discover() read of the catalogue and its links

    def url(self, iri: str) -> str:
        """The server's URL for one of its IRIs (the server answers for the base at its origin)."""
        return "/" + iri[len(self.base_iri):] if iri.startswith(self.base_iri) else iri

    def get(self, iri: str, accept: str = "application/trig") -> tuple[httpx.Response, ox.Dataset]:
        response = self.http.get(self.url(iri), headers={"Accept": accept})
        assert response.status_code == 200, (iri, response.status_code, response.text[:500])
        fmt = ox.RdfFormat.from_media_type(response.headers["content-type"].split(";")[0])
        return response, _store(ox.parse(response.content, format=fmt, base_iri=iri))

    def discover(self, profile: str | None = None) -> str:
        """The entry point of a feed, found from the catalogue alone: read the catalogue and the
        documents its DCAT links lead to (dataset, service, distribution, access service, URLs),
        then pick, as the catalogue describes them,
        - without `profile`: the feed of the data, a distribution of the dataset that conforms to
          LDES (its access URL);
        - with `profile` (DCAT_AP_FEEDS): the catalogue's own feed, a data service of the
          catalogue that conforms to that profile (its endpoint URL).
        The entry point is checked by reading it: the tree:view of an ldes:EventStream."""
        follow = [ox.NamedNode(DCAT + name) for name in
                  ("dataset", "service", "distribution", "accessService", "accessURL", "endpointURL")]
        known = self.known = ox.Store()
        queue, seen = [self.base_iri + "catalog"], set()
        while queue and len(seen) < 40:
            iri = queue.pop(0).split("#", 1)[0]
            if iri in seen or not iri.startswith(self.base_iri):
                continue
            seen.add(iri)
            _, data = self.get(iri, "text/turtle")
            known.extend(ox.Quad(q.subject, q.predicate, q.object) for q in data)
            for predicate in follow:
                queue += [q.object.value for q in data.quads_for_pattern(None, predicate, None)
                          if isinstance(q.object, ox.NamedNode)]
        if profile is None:
            query = f"""SELECT ?entry WHERE {{ ?dataset a <{DCAT}Dataset> ; <{DCAT}distribution> ?d .
                ?d <{DCT}conformsTo> <{LDES_SPEC}> ; <{DCAT}accessURL> ?entry }}"""
        else:
            query = f"""SELECT ?entry WHERE {{ ?catalog a <{DCAT}Catalog> ; <{DCAT}service> ?s .
                ?s <{DCT}conformsTo> <{profile}> ; <{DCAT}endpointURL> ?entry }}"""
        entries = {row["entry"].value for row in known.query(query)}
        assert len(entries) == 1, (profile, entries, sorted(seen))
        self.entry = entries.pop()
        _, root = self.get(self.entry)
        views = [q.object.value for q in root.quads_for_pattern(None, ox.NamedNode(TREE + "view"), None)
                 if any(root.quads_for_pattern(q.subject, RDF_TYPE, ox.NamedNode(LDES + "EventStream")))]
        assert views == [self.entry], (self.entry, views)
        return self.entry

    def read(self) -> None:
        """Read the entry point and every page it leads to that is not finished yet."""
        _, root = self.get(self.entry)
        streams = [q.subject for q in root.quads_for_pattern(None, RDF_TYPE, ox.NamedNode(LDES + "EventStream"))]
        assert len(streams) == 1, streams
        views = list(root.quads_for_pattern(streams[0], ox.NamedNode(TREE + "view"), None))
        assert len(views) == 1, views
        queue = [self.entry]
        seen = set()
        while queue:
            page = queue.pop(0)
            if page in seen:
                continue
            seen.add(page)
            response, data = self.get(page)
            self.pages_read += 1
            if page != self.entry:
                self._members(data)
                if "immutable" in response.headers.get("cache-control", ""):
                    self.done_pages.add(page)
            for relation in data.quads_for_pattern(ox.NamedNode(page), ox.NamedNode(TREE + "relation"), None):
                for node in data.quads_for_pattern(relation.object, ox.NamedNode(TREE + "node"), None):
                    if node.object.value not in self.done_pages:
                        queue.append(node.object.value)

    def _members(self, data: ox.Dataset) -> None:
        for quad in data.quads_for_pattern(None, ox.NamedNode(TREE + "member"), None):
            member = quad.object
            kinds = [q.object.value.removeprefix(AS) for q in data.quads_for_pattern(member, RDF_TYPE, None)]
            objects = [q.object.value for q in data.quads_for_pattern(member, ox.NamedNode(AS + "object"), None)]
            times = [q.object.value for q in data.quads_for_pattern(member, ox.NamedNode(AS + "published"), None)]
            actors = [q.object for q in data.quads_for_pattern(member, ox.NamedNode(AS + "actor"), None)]
            assert len(kinds) == len(objects) == len(times) == 1, (member, kinds, objects, times)
            payload = frozenset(ox.Triple(q.subject, q.predicate, q.object)
                                for q in data.quads_for_pattern(None, None, None, member))
            actor = None
            if actors:
                for name in data.quads_for_pattern(actors[0], ox.NamedNode(AS + "name"), None):
                    actor = name.object.value
            self.members[member.value] = Member(member.value, kinds[0], objects[0], times[0], actor, payload)

    def replay(self) -> set:
        """Every member in as:published order into an empty state: the triples that result."""
        state: dict[str, frozenset] = {}
        ordered = sorted(self.members.values(), key=lambda m: (m.published,))
        for member in ordered:
            if member.kind == "Delete":
                state.pop(member.object, None)
            else:
                state[member.object] = member.payload
        return set().union(*state.values()) if state else set()
