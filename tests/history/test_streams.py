"""The two streams over a real change log (SQLite in a temporary folder), with small pages: when a
page may be cached for ever, and which changes the catalogue's feed holds and as what."""
from __future__ import annotations

import sqlite3

import pyoxigraph as ox
import pytest

from gros.history import catalogue
from gros.history.catalogue import CatalogueStream
from gros.history.changes import canonical
from gros.history.log import ChangeLog, type_test
from gros.history.stream import TREE, Stream

BASE = "https://w3id.org/gros/"
GRAPH = ox.NamedNode(BASE + "graph/test")
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
DCAT = "http://www.w3.org/ns/dcat#"


def description(iri: str, *types: str, label: str = "x", extra: list[ox.Quad] = ()) -> str:
    node = ox.NamedNode(iri)
    quads = [ox.Quad(node, TYPE, ox.NamedNode(t), GRAPH) for t in types]
    quads.append(ox.Quad(node, LABEL, ox.Literal(label), GRAPH))
    return canonical([*quads, *extra])


def relations(quads: list[ox.Quad], page: ox.NamedNode) -> list[str]:
    store = ox.Store()
    store.extend(quads)
    return [n.object.value for r in store.quads_for_pattern(page, ox.NamedNode(TREE + "relation"), None)
            for n in store.quads_for_pattern(r.object, ox.NamedNode(TREE + "node"), None)]


def test_a_full_page_is_final_only_once_it_links_to_the_next(tmp_path):
    log = ChangeLog(tmp_path / "history")
    stream = Stream(BASE, log, page_size=2)
    for number in range(1, 5):
        log.record("alice", {f"{BASE}id/r{number}": description(f"{BASE}id/r{number}", label=str(number))}, number)
    # Page 2 holds members 3 and 4, and there is no member 5 yet: its link to page 3 is missing.
    assert stream.finished(1) and not stream.finished(2)
    assert relations(stream.page_quads(2), stream.page(2)) == []
    assert stream.page_quads(3) is None
    log.record("bob", {f"{BASE}id/r5": description(f"{BASE}id/r5")}, 5)
    assert stream.finished(2) and not stream.finished(3)
    assert relations(stream.page_quads(2), stream.page(2)) == [stream.page(3).value]
    # A page answered for the count the caller read is that page, whatever came in since.
    assert relations(stream.page_quads(2, count=4), stream.page(2)) == []


@pytest.mark.parametrize("indexed", [True, False], ids=["with the writer's index", "reading every description"])
def test_the_catalogue_feed_holds_the_changes_of_catalogue_entries_as_the_catalogue_sees_them(tmp_path, indexed):
    log = ChangeLog(tmp_path / "history")
    if indexed:
        catalogue.prepare(log)
        plan = sqlite3.connect(log.path).execute(
            f"EXPLAIN QUERY PLAN SELECT seq FROM events WHERE seq > 0 AND {type_test(catalogue.ENTITY_CLASSES)}"
        ).fetchall()
        assert "USING INDEX events_typed_" in str(plan)
    dataset, region, other = BASE + "dataset", BASE + "id/region/x", BASE + "id/other"
    skolem = ox.NamedNode(BASE + ".well-known/genid/d1")
    revision = iter(range(1, 100))

    def change(descriptions):
        return log.record("alice", descriptions, next(revision))

    change({dataset: description(dataset, DCAT + "Dataset"), region: description(region, BASE + "def#Region")})
    change({dataset: description(dataset, DCAT + "Dataset", label="y")})
    change({region: description(region, BASE + "def#Region", label="y")})
    # Text that looks like a type statement, but in a literal or about a blank node under the
    # resource, does not make a catalogue entry.
    fake = f'\n<{other}> <{TYPE.value}> <{DCAT}Dataset> <{GRAPH.value}> .\n'
    change({other: description(other, label=fake, extra=[
        ox.Quad(ox.NamedNode(other), ox.NamedNode(DCAT + "distribution"), skolem, GRAPH),
        ox.Quad(skolem, TYPE, ox.NamedNode(DCAT + "Distribution"), GRAPH)])})
    change({dataset: description(dataset, label="no longer a dataset")})  # loses its type
    change({dataset: description(dataset, DCAT + "Dataset", label="again")})
    change({dataset: ""})  # deleted

    stream = CatalogueStream(BASE, log, page_size=2)
    events = stream.slice(1, stream.size())
    assert [(e.resource, e.kind) for e in events] == [
        (dataset, "create"), (dataset, "update"), (dataset, "delete"), (dataset, "create"), (dataset, "delete")]
    assert [e.seq for e in events] == [1, 3, 6, 7, 8]  # the numbers of the full feed
    assert events[2].description == ""  # still described, but gone from the catalogue
    assert "again" in events[3].description
    assert stream.pages() == 3 and stream.finished(2) and not stream.finished(3)
    assert relations(stream.page_quads(1), stream.page(1)) == [BASE + "ldes/catalog/2"]
    assert stream.event(4) is None and stream.event(6).kind == "delete"
    # Members say what and when, not who.
    quads = stream.page_quads(1)
    assert not [q for q in quads if q.predicate.value.endswith("#actor")]
    assert [q.object.value for q in quads if q.predicate.value == TREE + "shape"] == [
        "https://semiceu.github.io/LDES-DCAT-AP-feeds/shape.ttl#ActivityShape"]
    # A further change is seen by the same stream's index on its next read.
    change({dataset: description(dataset, DCAT + "Dataset", label="back")})
    assert CatalogueStream(BASE, log).size() == 6
