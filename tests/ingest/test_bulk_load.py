"""`gros load --bulk` (bulk.py) and its progress line (progress.py): files of generated GROS-like
data (bench/generate.py) loaded into a real on-disk store, refused whole on a parse error or an
invalid resource, with progress drawn on a terminal (a real pty) and never in a pipe."""
from __future__ import annotations

import importlib.util
import io
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from gros.ingest import bulk
from gros.store.embedded import books_path
from gros.shacl.batch import backward_predicates
from gros.ingest.bulk import ShapesPolicy, bulk_load_research_data
from gros.ingest.loading import LoadRefused, prepare_content
from gros.progress import Progress
from gros.settings import Settings
from gros.shacl.validation import load_shapes

ROOT = Path(__file__).resolve().parents[2]
GROS_CLI = Path(sys.executable).with_name("gros")
GRAPH = "https://example.org/graph/bench"
META = "https://w3id.org/gros/graph/meta"

# The generator also places municipalities in Luxembourg, which minimal.ttl does not describe.
LUXEMBOURG = (ROOT / "tests" / "fixtures" / "support" / "luxembourg.ttl").read_text("utf-8")


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The real ontology and shapes, minimal.ttl and Luxembourg as data (quick to validate)."""
    folder = tmp_path_factory.mktemp("bulk-root")
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "data").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl", folder / "data")
    (folder / "data" / "luxembourg.ttl").write_text(LUXEMBOURG, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def prepared(root, tmp_path_factory) -> Path:
    """A store with the content already validated and loaded, copied by each test (quicker than
    validating the content again for every new store)."""
    store = tmp_path_factory.mktemp("bulk-prepared") / "store"
    prepare_content(Settings(root=root, store_path=store))
    return store


@pytest.fixture
def settings(root, prepared, tmp_path) -> Settings:
    shutil.copytree(prepared, tmp_path / "store")
    return Settings(root=root, store_path=tmp_path / "store")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A function giving the generated file of N triples (made once per N)."""
    folder = tmp_path_factory.mktemp("bulk-data")
    generator = _generator()
    return lambda triples: generator.ensure(folder, triples)


def graph_triples(store: Path, graph: str = GRAPH) -> int:
    opened = ox.Store.read_only(str(store))
    try:
        return sum(1 for _ in opened.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
    finally:
        del opened


def leftovers(store: Path) -> list[str]:
    """Staging copies beside the store: there must be none after a load, whatever its outcome."""
    return sorted(p.name for p in store.parent.iterdir() if p.name.startswith(store.name + "."))


# --- the progress line ------------------------------------------------------------------------------

def test_progress_draws_on_a_terminal_and_stays_quiet_elsewhere():
    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as terminal:
            shown = Progress("parsing", stream=terminal, interval=0)
            assert shown.enabled
            shown.update(1500, 0.5)
            shown.close()
        drawn = os.read(master, 4096).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert drawn.startswith("\r") and "parsing: 1,500 triples" in drawn and "triples/s" in drawn and "50%" in drawn
    piped = io.StringIO()
    quiet = Progress("parsing", stream=piped, interval=0)
    quiet.update(1500, 0.5)
    quiet.close()
    assert not quiet.enabled and piped.getvalue() == ""
    forced = io.StringIO()
    loud = Progress("parsing", stream=forced, enabled=True, interval=0)  # --progress
    loud.update(10, 0.1)
    loud.close()
    assert "\r" in forced.getvalue() and forced.getvalue().endswith("\n")


def test_progress_says_how_long_is_left():
    now = [0.0]
    shown = Progress("validating", unit="resources", total=1000, stream=io.StringIO(), enabled=True,
                     clock=lambda: now[0])
    now[0] = 10.0
    shown.update(250)
    assert shown.line() == "validating: 250 of 1,000 resources · 25 resources/s · 25% · 0:30 left"


def _load_on(stderr, root: Path, store: Path, path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GROS_CLI), "load", "--root", str(root), "--store", str(store), "--graph", GRAPH,
                           "--bulk", "--shapes", "none", *extra, str(path)],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=180)


def test_the_command_shows_progress_on_a_terminal_only(root, settings, generated):
    path = generated(2000)
    store = settings.store_path
    master, slave = pty.openpty()
    try:
        done = _load_on(slave, root, store, path)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    on_terminal = b"".join(chunks).decode()
    assert done.returncode == 0, on_terminal
    assert "\rparsing: " in on_terminal and "triples/s" in on_terminal
    piped = _load_on(subprocess.PIPE, root, store, path)
    assert piped.returncode == 0 and b"\r" not in piped.stderr and b" triples/s), terms and links" in piped.stderr
    assert b"NOT checked" in piped.stderr and b"--shapes none" in piped.stderr
    forced = _load_on(subprocess.PIPE, root, store, path, "--progress")
    assert forced.returncode == 0 and b"\rparsing: " in forced.stderr


# --- the bulk path --------------------------------------------------------------------------------

def test_a_parse_error_names_file_line_and_column_and_nothing_is_written(settings, generated, tmp_path,
                                                                         monkeypatch):
    # The file is cut in two pieces that load in parallel, as a large one would be: the error is
    # in the second piece and is still reported with its line in the whole file.
    monkeypatch.setattr(bulk, "PARALLEL_FROM", 0)
    monkeypatch.setattr(bulk.os, "cpu_count", lambda: 2)
    good = generated(2000)
    bulk_load_research_data(settings, GRAPH, [good], ShapesPolicy("none"), progress=False)
    before = graph_triples(settings.store_path)
    broken = tmp_path / "broken.nt"
    lines = good.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1499] = lines[1499].replace("<https://w3id.org/gros/id/", "<https://w3id.org/gros/id/ bad", 1)
    broken.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LoadRefused) as caught:
        bulk_load_research_data(settings, GRAPH, [broken], ShapesPolicy("none"), progress=False)
    assert caught.value.exit_code == 2
    assert f"{broken}:1500:" in str(caught.value) and "nothing was loaded" in str(caught.value)
    assert graph_triples(settings.store_path) == before  # the earlier content is still whole
    assert leftovers(settings.store_path) == []
    # Turtle goes through the streaming parser: its errors are placed as well.
    turtle = tmp_path / "broken.ttl"
    turtle.write_text("<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n"
                      "<https://example.org/a> <https://example.org/b> .\n", encoding="utf-8")
    with pytest.raises(LoadRefused) as caught:
        bulk_load_research_data(settings, GRAPH, [turtle], ShapesPolicy("none"), progress=False)
    assert f"{turtle}:2:" in str(caught.value)
    assert graph_triples(settings.store_path) == before


def test_an_invalid_resource_among_many_is_refused_and_nothing_is_written(settings, generated, tmp_path):
    path = generated(1500)
    text = path.read_text(encoding="utf-8")
    # A membership that starts before its body was founded, hidden in the middle of the file.
    first_membership = next(line for line in text.splitlines() if "/id/membership/" in line
                            and "memberFrom" in line)
    bad = first_membership.split(" <", 2)
    subject = bad[0]
    wrong = f'{subject} <https://w3id.org/gros/def#memberFrom> "1901-01-01"^^<http://www.w3.org/2001/XMLSchema#date> .\n'
    lines = [line for line in text.splitlines(keepends=True) if not (line.startswith(subject + " ")
                                                                     and "memberFrom" in line)]
    lines.insert(len(lines) // 2, wrong)
    invalid = tmp_path / "invalid.nt"
    invalid.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LoadRefused) as caught:
        bulk_load_research_data(settings, GRAPH, [invalid], ShapesPolicy("all"), workers=1, progress=False)
    assert caught.value.exit_code == 1
    violations = [r for r in caught.value.results if r.severity == "Violation"]
    assert [(r.focus, r.rule.rsplit("#", 1)[1]) for r in violations] == [
        (subject[1:-1], "MembershipShape-notBeforeFounding")]
    assert not ox.Store.read_only(str(settings.store_path)).contains_named_graph(ox.NamedNode(GRAPH))
    assert leftovers(settings.store_path) == []
    # A typo in our vocabulary and a link to an IRI nobody describes are caught without SHACL.
    typo = tmp_path / "typo.nt"
    typo.write_text(text + f"{subject} <https://w3id.org/gros/def#memberfrom> \"2001\" .\n"
                    f"{subject} <https://example.org/near> <https://w3id.org/gros/id/region/nowhere> .\n",
                    encoding="utf-8")
    with pytest.raises(LoadRefused) as caught:
        bulk_load_research_data(settings, GRAPH, [typo], ShapesPolicy("none"), progress=False)
    assert {r.constraint for r in caught.value.results} == {"UndefinedTerm", "UndescribedResource"}
    assert leftovers(settings.store_path) == []


def test_a_valid_generated_file_loads_and_says_what_was_checked(settings, generated, tmp_path):
    path = generated(20_000)
    outcome = bulk_load_research_data(settings, GRAPH, [path], ShapesPolicy.parse("sample:60"), workers=1,
                                      progress=False)
    assert outcome.triples == graph_triples(settings.store_path) > 19_900
    assert any("sample of 60" in text for text in outcome.checked)
    assert any("other" in text and "--shapes sample:60" in text for text in outcome.not_checked)
    # The record is bookkeeping: in the store's own bookkeeping store, not in the dataset.
    store = ox.Store.read_only(str(settings.store_path))
    assert not list(store.quads_for_pattern(None, None, None, ox.NamedNode(META)))
    books = ox.Store.read_only(str(books_path(settings.store_path)))
    recorded = {q.predicate.value.rsplit("#", 1)[1]: q.object.value
                for q in books.quads_for_pattern(ox.NamedNode(GRAPH), None, None, ox.NamedNode(META))}
    del books
    assert recorded["bulkShapesChecked"] == "sample:60" and "NOT checked" in recorded["bulkChecks"]
    assert int(recorded["bulkTripleCount"]) == outcome.triples
    del store
    assert leftovers(settings.store_path) == []
    # Blank nodes (here from Turtle) enter the store as skolem IRIs, as everywhere in our store.
    turtle = tmp_path / "survey.ttl"
    turtle.write_text("<https://example.org/a> <https://example.org/answer> [ <https://example.org/score> 7 ] .\n",
                      encoding="utf-8")
    bulk_load_research_data(settings, GRAPH, [turtle], ShapesPolicy("all"), progress=False)
    store = ox.Store.read_only(str(settings.store_path))
    objects = [q.object for q in store.quads_for_pattern(None, None, None, ox.NamedNode(GRAPH))]
    assert len(objects) == 2 and not any(isinstance(o, ox.BlankNode) for o in objects)
    assert any(isinstance(o, ox.NamedNode) and "/.well-known/genid/" in o.value for o in objects)


def test_the_shapes_name_the_links_they_follow_backwards(root):
    shapes, _ = load_shapes(Settings(root=root))
    backward = backward_predicates(shapes)
    assert {"http://www.w3.org/ns/org#organization", "https://w3id.org/gros/def#hasEvent",
            "http://www.opengis.net/ont/geosparql#hasGeometry"} <= backward


def test_shapes_policies_parse():
    assert str(ShapesPolicy.parse("sample:500")) == "sample:500"
    assert ShapesPolicy.parse("NONE").mode == "none"
    for wrong in ("sample:0", "some", "sample:"):
        with pytest.raises(ValueError):
            ShapesPolicy.parse(wrong)
