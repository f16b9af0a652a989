"""The change log as a Linked Data Event Stream (LDES 1.0, DCAT-AP Feeds profile): the quads of
the entry point and of each page. The HTTP side (formats, caching) is http/feed.py.

Shape of the stream (docs/publishing.md):
- `{base}ldes#feed` is the `ldes:EventStream` (also `tree:Collection`), ordered by `as:published`
  (`ldes:timestampPath`), versions of `as:object` (`ldes:versionOfPath`); its one `tree:view` is
  the entry point `{base}ldes`, which holds the retention policy and a relation to every page
  with the page's time window (`tree:GreaterThanOrEqualToRelation` on its first member's time,
  and `tree:LessThanRelation` on the next page's first time, or `tree:LessThanOrEqualToRelation`
  on its own last time when one change's members straddle two pages).
- Page n (`{base}ldes/n`, n = 1, 2, ...) holds the members `seq` (n-1)*PAGE_SIZE+1 ... n*PAGE_SIZE
  of the log, so a page that is full never changes again; each page but the newest links to the
  next with a `tree:GreaterThanOrEqualToRelation`.
- A member `{base}ldes/event/{seq}` is an Activity Streams activity (`as:Create`, `as:Update`,
  `as:Delete`) with `as:object` (the resource), `as:published` (xsd:dateTime in UTC) and
  `as:actor` (an agent named after the token's name, or `content` for the content files). The
  resource's new description is the payload, in the named graph of the member's IRI (as the LDES
  spec suggests: "If you reuse the member IRI as a named graph, clients MAY assume the payload of
  the upsert is in that named graph").
"""
from __future__ import annotations

import math
from urllib.parse import quote

import pyoxigraph as ox

from gros.history.changes import parse
from gros.history.log import ChangeLog, Event

#: Members per page. 250 activities with their payloads are a page of about 100-300 KB of Turtle.
PAGE_SIZE = 250

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
RDFS_COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
DCT = "http://purl.org/dc/terms/"
XSD_DATETIME = ox.NamedNode("http://www.w3.org/2001/XMLSchema#dateTime")
XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
KINDS = {"create": "Create", "update": "Update", "delete": "Delete"}
DEFAULT = ox.DefaultGraph()


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _time(text: str) -> ox.Literal:
    return ox.Literal(text, datatype=XSD_DATETIME)


class Stream:
    """The IRIs of the stream on a base, and the quads of its documents."""

    TITLES = {"nl": "Wijzigingen in de GROS-kennisgraaf", "en": "Changes to the GROS knowledge graph"}
    PART_OF = "dataset"  # the stream is part of {base}dataset
    #: Whether members say who made the change (as:actor).
    ATTRIBUTED = True

    def __init__(self, base_iri: str, log: ChangeLog, page_size: int = PAGE_SIZE):
        self.base = base_iri
        self.log = log
        self.page_size = page_size
        self.root = _n(base_iri + "ldes")
        self.feed = _n(base_iri + "ldes#feed")
        self.retention = _n(base_iri + "ldes#retention")

    # --- IRIs -----------------------------------------------------------------------------------
    def page(self, number: int) -> ox.NamedNode:
        return _n(f"{self.base}ldes/{number}")

    def member(self, seq: int) -> ox.NamedNode:
        return _n(f"{self.base}ldes/event/{seq}")

    def agent(self, name: str) -> ox.NamedNode:
        return _n(f"{self.base}ldes/agent/{quote(name, safe='')}")

    # --- what the stream holds: the log's events by seq (CatalogueStream holds fewer) -----------
    def size(self) -> int:
        """How many members the stream has; members are numbered 1 ... size() for paging."""
        return self.log.count()

    def slice(self, first: int, last: int) -> list[Event]:
        """The members numbered first ... last."""
        return self.log.events(first, last)

    def times(self, numbers: list[int]) -> dict[int, str]:
        """The time of each of the members numbered `numbers`."""
        return self.log.times(numbers)

    # --- pages ----------------------------------------------------------------------------------
    def pages(self) -> int:
        return max(1, math.ceil(self.size() / self.page_size))

    def bounds(self, number: int) -> tuple[int, int]:
        first = (number - 1) * self.page_size + 1
        return first, first + self.page_size - 1

    def finished(self, number: int, count: int | None = None) -> bool:
        """Whether page `number` never changes again: it is full and its link to the next page
        is there (a page of exactly the last members gains that link with the next member)."""
        count = self.size() if count is None else count
        return count > number * self.page_size

    # --- documents ------------------------------------------------------------------------------
    def _stream_quads(self) -> list[ox.Quad]:
        feed = self.feed
        quads = [ox.Quad(feed, RDF_TYPE, _n(LDES + "EventStream"), DEFAULT),
                 ox.Quad(feed, RDF_TYPE, _n(TREE + "Collection"), DEFAULT),
                 ox.Quad(feed, _n(LDES + "timestampPath"), _n(AS + "published"), DEFAULT),
                 ox.Quad(feed, _n(LDES + "versionOfPath"), _n(AS + "object"), DEFAULT),
                 ox.Quad(feed, _n(TREE + "view"), self.root, DEFAULT)]
        for lang, text in self.TITLES.items():
            quads.append(ox.Quad(feed, _n(DCT + "title"), ox.Literal(text, language=lang), DEFAULT))
        quads.append(ox.Quad(feed, _n(DCT + "isPartOf"), _n(self.base + self.PART_OF), DEFAULT))
        return quads

    def _window(self, source: ox.NamedNode, target: ox.NamedNode, kind: str, value: str) -> list[ox.Quad]:
        # A label of its own per relation, the same on every rendering: a finished page is the same bytes.
        relation = ox.BlankNode(f"{kind[0]}{kind[-12:-8]}{target.value.rsplit('/', 1)[-1]}")
        return [ox.Quad(source, _n(TREE + "relation"), relation, DEFAULT),
                ox.Quad(relation, RDF_TYPE, _n(TREE + kind), DEFAULT),
                ox.Quad(relation, _n(TREE + "path"), _n(AS + "published"), DEFAULT),
                ox.Quad(relation, _n(TREE + "value"), _time(value), DEFAULT),
                ox.Quad(relation, _n(TREE + "node"), target, DEFAULT)]

    def entry(self) -> list[ox.Quad]:
        """The entry point: the stream, its view, the retention policy, a relation to every page."""
        count = self.size()
        root = self.root
        quads = self._stream_quads()
        quads.append(ox.Quad(root, RDF_TYPE, _n(TREE + "Node"), DEFAULT))
        quads.append(ox.Quad(root, _n(LDES + "retentionPolicy"), self.retention, DEFAULT))
        pages = max(1, math.ceil(count / self.page_size))
        firsts = [self.bounds(n)[0] for n in range(1, pages + 1)]
        lasts = [min(self.bounds(n)[1], count) for n in range(1, pages + 1)]
        times = self.times(firsts + lasts)
        if times:
            # Every member ever published is kept (docs/publishing.md, retention).
            quads.append(ox.Quad(self.retention, _n(LDES + "startingFrom"), _time(times[1]), DEFAULT))
        for index in range(pages):
            number = index + 1
            first, last = firsts[index], lasts[index]
            if first not in times:
                break  # an empty log: no page yet
            target = self.page(number)
            quads += self._window(root, target, "GreaterThanOrEqualToRelation", times[first])
            if number < pages:
                following = times[firsts[index + 1]]
                if following > times[last]:
                    quads += self._window(root, target, "LessThanRelation", following)
                else:
                    quads += self._window(root, target, "LessThanOrEqualToRelation", times[last])
        return quads

    def page_quads(self, number: int, count: int | None = None) -> list[ox.Quad] | None:
        """The quads of page `number` (of a stream of `count` members: give the count that
        `finished` was asked with), or None when there is no such page (yet)."""
        count = self.size() if count is None else count
        first, last = self.bounds(number)
        if number < 1 or (first > count and not (number == 1 and count == 0)):
            return None
        events = self.slice(first, min(last, count))
        page = self.page(number)
        quads = self._page_context() + [ox.Quad(page, RDF_TYPE, _n(TREE + "Node"), DEFAULT)]
        if count > last:
            quads += self._window(page, self.page(number + 1), "GreaterThanOrEqualToRelation",
                                  self.times([last + 1])[last + 1])
        quads += self.members(events, on=self.feed)
        return quads

    def _page_context(self) -> list[ox.Quad]:
        """What every page says about the stream it is part of."""
        return self._stream_quads()[:2]

    def members(self, events: list[Event], on: ox.NamedNode | None = None) -> list[ox.Quad]:
        quads, agents = [], {}
        for event in events:
            member = self.member(event.seq)
            if on is not None:
                quads.append(ox.Quad(on, _n(TREE + "member"), member, DEFAULT))
            agent = agents.setdefault(event.actor, self.agent(event.actor))
            quads += [ox.Quad(member, RDF_TYPE, _n(AS + KINDS[event.kind]), DEFAULT),
                      ox.Quad(member, _n(AS + "object"), _n(event.resource), DEFAULT),
                      ox.Quad(member, _n(AS + "published"), _time(event.published), DEFAULT)]
            if self.ATTRIBUTED:
                quads.append(ox.Quad(member, _n(AS + "actor"), agent, DEFAULT))
            quads += [ox.Quad(q.subject, q.predicate, q.object, member) for q in parse(event.description)]
        for name, agent in (agents.items() if self.ATTRIBUTED else ()):
            quads += [ox.Quad(agent, RDF_TYPE, _n(AS + "Service" if name == "content" else AS + "Application"),
                              DEFAULT),
                      ox.Quad(agent, _n(AS + "name"), ox.Literal(name), DEFAULT)]
        return quads
