"""The store: files load into their own graphs, reload only when changed, writes are atomic."""
import shutil
from pathlib import Path

import pyoxigraph as ox

from gros.settings import Settings
from gros.content.files import find_files, read_files
from gros.store.embedded import GraphStore, memory_store

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_labels_of_stored_blank_nodes_can_be_written_in_rdf_xml(settings):
    """RDF/XML writes a blank node as rdf:nodeID, an XML name, which cannot start with a digit;
    the labels the store makes for the blank nodes of a write (the Graph Store, updates) must fit,
    or a GET, CONSTRUCT or dump in RDF/XML of them cannot be read back."""
    from gros.content.skolem import BlankNodes, Skolemizer

    blank = BlankNodes(settings.base_iri)
    subject, comment = ox.NamedNode("https://example.org/test/s"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
    for _ in range(64):  # one write each: each has a label prefix of its own
        node = blank.term(Skolemizer(settings).term(ox.BlankNode()))
        assert isinstance(node, ox.BlankNode), node
        triples = [ox.Triple(subject, comment, node), ox.Triple(node, comment, ox.Literal("x"))]
        data = ox.serialize(triples, format=ox.RdfFormat.RDF_XML)
        assert {q.triple for q in ox.parse(data, format=ox.RdfFormat.RDF_XML)} == set(triples), data


def test_memory_store_keeps_graph_names(settings):
    store = memory_store(read_files(find_files(settings)))
    names = {g.value for g in store.named_graphs()}
    assert "https://w3id.org/gros/graph/gros" in names and "https://w3id.org/gros/graph/bodies" in names


def test_a_write_larger_than_one_data_block_is_applied_whole(tmp_path):
    from gros.store.embedded import DATA_BLOCK

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


def _manifest_bytes(store_path: Path) -> int:
    return sum(p.stat().st_size for p in store_path.glob("MANIFEST-*"))


def _write_and_snapshot(store: GraphStore, writes: int, folder: Path) -> None:
    """What the service does per write: one transaction, then a checkpoint for the readers."""
    graph = ox.NamedNode("https://example.org/reopen")
    for i in range(writes):
        store.apply([], [ox.Quad(ox.NamedNode(f"https://example.org/reopen/{i}"),
                                 ox.NamedNode("https://example.org/n"), ox.Literal(str(i)), graph)])
        shutil.rmtree(store.snapshot(folder))


def test_the_live_store_is_reopened_every_n_writes_which_keeps_rocksdb_manifest_small(tmp_path):
    # Without reopens RocksDB's MANIFEST grows with every write and checkpoint (store.py).
    kept = GraphStore(Settings(root=ROOT, store_path=tmp_path / "kept", store_reopen_every=10**9))
    _write_and_snapshot(kept, 60, tmp_path / "snapshots")
    renewed = GraphStore(Settings(root=ROOT, store_path=tmp_path / "renewed", store_reopen_every=10))
    _write_and_snapshot(renewed, 60, tmp_path / "snapshots")
    assert renewed.reopens == 5 and kept.reopens == 0  # before writes 11, 21, ... 51
    assert _manifest_bytes(tmp_path / "renewed") < _manifest_bytes(tmp_path / "kept") / 2
    assert renewed.revision == kept.revision == 60
    assert len(renewed.graph_quads(ox.NamedNode("https://example.org/reopen"))) == 60


def test_a_reader_holding_the_store_defers_the_reopen_to_a_later_write(tmp_path):
    store = GraphStore(Settings(root=ROOT, store_path=tmp_path / "store", store_reopen_every=2))
    graph = ox.NamedNode("https://example.org/reader")
    quad = lambda i: ox.Quad(ox.NamedNode(f"https://example.org/r/{i}"), ox.NamedNode("https://example.org/n"),
                             ox.Literal(str(i)), graph)
    store.apply([], [quad(0)])
    store.apply([], [quad(1)])
    assert store.reopens == 0
    with store.reading() as held:
        # An iterator still open on the old handle would hold RocksDB's lock: the reopen waits.
        open_iterator = held.quads_for_pattern(None, None, None, graph)
        store.apply([], [quad(2)])  # due, but a reader holds the handle: written, not reopened
        assert store.reopens == 0
        assert len(list(open_iterator)) == 2  # the reader's view did not change under it
    del open_iterator, held
    store.apply([], [quad(3)])  # no reader now: reopened first, then written
    assert store.reopens == 1
    assert store.revision == 4 and len(store.graph_quads(graph)) == 4


def test_an_in_memory_or_borrowed_store_is_never_reopened():
    memory = GraphStore(Settings(root=ROOT, store_reopen_every=1))
    for i in range(3):
        memory.apply([], [ox.Quad(ox.NamedNode(f"https://example.org/m/{i}"), ox.NamedNode("https://example.org/n"),
                                  ox.Literal("x"), ox.NamedNode("https://example.org/m"))])
    assert memory.reopens == 0 and memory.revision == 3
