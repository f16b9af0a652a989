"""The store: files load into their own graphs, reload only when changed, writes are atomic."""
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from gros.settings import Settings
from gros.sources import find_files, read_files
from gros.store import GraphStore, memory_store

ROOT = Path(__file__).resolve().parents[1]


def _root(tmp_path: Path) -> Path:
    for folder in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl", tmp_path / "data" / "minimal.ttl")
    return tmp_path


def test_each_file_is_one_named_graph_and_reload_skips_unchanged_files(tmp_path):
    root = _root(tmp_path / "content")
    settings = Settings(root=root, store_path=tmp_path / "store")
    store = GraphStore(settings)
    files = read_files(find_files(settings))
    first = store.sync(files)
    assert sorted(first.loaded) == sorted(f.graph for f in files) and not first.unchanged
    revision = store.revision
    again = store.sync(read_files(find_files(settings)))
    assert again.loaded == [] and sorted(again.unchanged) == sorted(f.graph for f in files)
    assert store.revision == revision  # nothing written

    data = root / "data" / "minimal.ttl"
    data.write_text(data.read_text(encoding="utf-8") + "\n# a comment changes the bytes\n", encoding="utf-8")
    third = store.sync(read_files(find_files(settings)))
    assert third.loaded == ["https://w3id.org/gros/graph/minimal"]


def test_a_removed_file_drops_its_graph(tmp_path):
    root = _root(tmp_path / "content")
    extra = root / "data" / "extra.ttl"
    extra.write_text("<https://w3id.org/gros/id/thing/x> <http://www.w3.org/2000/01/rdf-schema#label> \"x\"@en .\n",
                     encoding="utf-8")
    settings = Settings(root=root, store_path=tmp_path / "store")
    store = GraphStore(settings)
    store.sync(read_files(find_files(settings)))
    assert "https://w3id.org/gros/graph/extra" in store.named_graphs()
    extra.unlink()
    report = store.sync(read_files(find_files(settings)))
    assert report.removed == ["https://w3id.org/gros/graph/extra"]
    assert not list(store.store.quads_for_pattern(None, None, None, ox.NamedNode("https://w3id.org/gros/graph/extra")))


def test_blank_nodes_are_skolemised_and_can_be_removed(tmp_path):
    settings = Settings(root=_root(tmp_path / "content"), store_path=tmp_path / "store")
    store = GraphStore(settings)
    g = ox.NamedNode("https://w3id.org/gros/graph/edits")
    amount = ox.BlankNode()
    revision = store.apply([], [ox.Quad(ox.NamedNode("https://w3id.org/gros/id/news/x"),
                                        ox.NamedNode("https://w3id.org/gros/def#amount"), amount, g),
                                ox.Quad(amount, ox.NamedNode("https://schema.org/value"), ox.Literal("5"), g)])
    quads = list(store.store.quads_for_pattern(None, None, None, g))
    assert len(quads) == 2 and not any(isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode)
                                       for q in quads)
    assert any(q.subject.value.startswith("https://w3id.org/gros/.well-known/genid/") for q in quads)
    assert store.apply(quads, []) == revision + 1
    assert not list(store.store.quads_for_pattern(None, None, None, g))


def test_memory_store_keeps_graph_names(settings):
    store = memory_store(read_files(find_files(settings)))
    names = {g.value for g in store.named_graphs()}
    assert "https://w3id.org/gros/graph/gros" in names and "https://w3id.org/gros/graph/bodies" in names


def test_a_write_larger_than_one_data_block_is_applied_whole(tmp_path):
    from gros.store import DATA_BLOCK

    settings = Settings(root=_root(tmp_path / "content"), store_path=tmp_path / "store")
    store = GraphStore(settings)
    graph = ox.NamedNode("https://example.org/graph/big")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    quads = [ox.Quad(ox.NamedNode(f"https://example.org/r/{n}"), label, ox.Literal(f"r{n}"), graph)
             for n in range(DATA_BLOCK * 2 + 17)]
    revision = store.apply([], quads)
    assert len(list(store.store.quads_for_pattern(None, None, None, graph))) == len(quads)
    assert store.revision == revision
    store.apply(quads[: DATA_BLOCK + 1], [])
    assert len(list(store.store.quads_for_pattern(None, None, None, graph))) == DATA_BLOCK + 16
    assert store.revision == revision + 1
