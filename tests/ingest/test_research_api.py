"""Research integration: the Python API (gros.load, gros.query), `gros load --graph` into a local
store with its checks, querying across both (`gros query --store`, gros.query(store=)), and
serving such a store (`gros serve --store`), over real HTTP."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, URIRef

import gros
from gros.content import named_queries as queries
from gros.content.quads import content_files
from gros.ingest.loading import LoadRefused, load_research_data
from gros.settings import Settings

from server_fixture import start_server
from invoke import run_gros

ROOT = Path(__file__).resolve().parents[2]
GRAPH = "https://example.org/graph/survey"
LIMBURG = "https://w3id.org/gros/id/region/limburg-nl"

SURVEY = """
@prefix ex: <https://example.org/survey#> .
ex:answer-1 ex:region <https://w3id.org/gros/id/region/limburg-nl> ; ex:score 7 .
ex:answer-2 ex:region <https://w3id.org/gros/id/region/zeeland> ; ex:score 4 .
"""

JOIN = """# ---
# title:
#   nl: Scores per regio
#   en: Scores per region
# description:
#   nl: Test.
#   en: Test.
# ---
PREFIX ex: <https://example.org/survey#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?region ?name ?score WHERE {
  GRAPH <https://example.org/graph/survey> { ?answer ex:region ?region ; ex:score ?score }
  ?region rdfs:label ?name . FILTER(LANG(?name) = "en")
} ORDER BY DESC(?score)
"""


# --- the Python API over the content files --------------------------------------------------------

def test_load_gives_one_named_graph_per_file_and_a_union_default_graph():
    settings = Settings(root=ROOT)
    dataset = gros.load(settings)
    assert isinstance(dataset, Dataset)
    files = content_files(settings)
    names = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert names == {f.graph for f in files}
    regions = dataset.graph(URIRef("https://w3id.org/gros/graph/regions"))
    assert (URIRef(LIMBURG), None, None) in regions
    rows = list(dataset.query("SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/gros/def#EGTC> }"))
    assert int(rows[0][0]) >= 2  # the default graph is the union, as on the endpoint


def test_query_returns_rows_with_bound_parameters():
    settings = Settings(root=ROOT)
    rows = gros.query("bodies-covering-region", settings=settings, region=LIMBURG)
    assert rows and all(row["region"] == LIMBURG for row in rows)
    assert "https://w3id.org/gros/id/body/euregio-maas-rijn" in {row["body"] for row in rows}
    with pytest.raises(queries.ParameterError):
        gros.query("bodies-covering-region", settings=settings, region="not an iri")
    with pytest.raises(queries.ParameterError):
        gros.query("bodies-covering-region", settings=settings, regio=LIMBURG)
    with pytest.raises(queries.QueryNotFound):
        gros.query("no-such-query", settings=settings)


# --- gros load ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_content(tmp_path_factory) -> Path:
    """The real ontology, shapes and queries with minimal.ttl as data (fast to validate)."""
    root = tmp_path_factory.mktemp("research-root")
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / name, root / name)
    (root / "data").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl", root / "data")
    return root


@pytest.fixture(scope="module")
def loaded(small_content, tmp_path_factory):
    """A store with the survey loaded as https://example.org/graph/survey."""
    folder = tmp_path_factory.mktemp("research")
    survey = folder / "survey.ttl"
    survey.write_text(SURVEY, encoding="utf-8")
    store = folder / "store"
    done = cli("load", "--root", str(small_content), "--store", str(store), "--graph", GRAPH, str(survey))
    assert done.returncode == 0, done.stderr.decode()
    assert b"4 triples" in done.stderr
    (folder / "join.rq").write_text(JOIN, encoding="utf-8")
    return folder


def cli(*args):
    return run_gros(*args)


def test_one_query_joins_the_loaded_graph_with_ours(loaded, small_content):
    done = cli("query", "--root", str(small_content), "--store", str(loaded / "store"), str(loaded / "join.rq"),
               "--format", "csv")
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "region,name,score"
    assert lines[1] == f"{LIMBURG},Limburg (Netherlands),7"


def test_the_python_api_reads_the_loaded_store(loaded, small_content):
    settings = Settings(root=small_content)
    rows = gros.query(str(loaded / "join.rq"), settings=settings, store=loaded / "store")
    assert [(r["name"], r["score"]) for r in rows] == [("Limburg (Netherlands)", "7"), ("Zeeland", "4")]
    dataset = gros.load(settings, store=loaded / "store")
    assert len(dataset.graph(URIRef(GRAPH))) == 4
    assert len(dataset.graph(URIRef("https://w3id.org/gros/graph/minimal"))) > 100
    assert not len(dataset.graph(URIRef("https://w3id.org/gros/graph/meta")))  # bookkeeping stays out


def refused(settings: Settings, store: Path, text: str, graph: str = GRAPH, suffix: str = ".ttl") -> LoadRefused:
    path = store.parent / f"refused{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoadRefused) as caught:
        load_research_data(settings.with_(store_path=store), graph, [path])
    return caught.value


def test_files_that_break_our_rules_are_refused_and_nothing_is_written(loaded, small_content):
    settings = Settings(root=small_content)
    store = loaded / "store"
    prefix = "@prefix gros: <https://w3id.org/gros/def#> . @prefix ex: <https://example.org/survey#> .\n"
    # A typo in our vocabulary.
    err = refused(settings, store, prefix + f"ex:a gros:nutscode <{LIMBURG}> .")
    assert err.exit_code == 1 and any("nutscode" in r.focus for r in err.results)
    # A link to one of our IRIs that we do not describe: it would silently join nothing.
    err = refused(settings, store, prefix + "ex:a ex:region <https://w3id.org/gros/id/region/limburg-nll> .")
    assert err.exit_code == 1 and any("limburg-nll" in r.focus for r in err.results)
    # Our classes bring our shapes: a region needs labels in Dutch and English and a source.
    err = refused(settings, store, prefix + "<https://w3id.org/gros/id/region/testland> a gros:Region .")
    assert err.exit_code == 1 and {r.shape.rsplit("#", 1)[1] for r in err.results} >= {"ResourceShape-label-nl"}
    # A file that does not parse names its line.
    err = refused(settings, store, prefix + "ex:a ex:b ex:c .\nex:c ex:d .", suffix=".ttl")
    assert err.exit_code == 2 and "refused.ttl:3" in str(err)
    # The graphs of the content files are not for loading into.
    err = refused(settings, store, SURVEY, graph="https://w3id.org/gros/graph/minimal")
    assert err.exit_code == 2
    # None of it reached the store.
    dataset = gros.load(settings, store=store)
    assert len(dataset.graph(URIRef(GRAPH))) == 4
    assert not list(dataset.triples((None, URIRef("https://w3id.org/gros/def#nutscode"), None)))


def test_loading_again_replaces_the_graph(small_content, tmp_path):
    settings = Settings(root=small_content, store_path=tmp_path / "store")
    survey = tmp_path / "survey.ttl"
    survey.write_text(SURVEY, encoding="utf-8")
    load_research_data(settings, GRAPH, [survey])
    survey.write_text(SURVEY.replace("ex:score 7", "ex:score 8"), encoding="utf-8")
    outcome = load_research_data(settings, GRAPH, [survey])
    assert outcome.triples == 4
    store = ox.Store(str(tmp_path / "store"))
    scores = {q.object.value for q in store.quads_for_pattern(None, ox.NamedNode("https://example.org/survey#score"),
                                                              None, ox.NamedNode(GRAPH))}
    assert scores == {"8", "4"}


def test_the_command_exit_codes(small_content, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("<https://example.org/a> <https://example.org/b> <https://w3id.org/gros/id/region/nowhere> .\n")
    done = cli("load", "--root", str(small_content), "--store", str(tmp_path / "s"), "--graph", GRAPH, str(bad))
    assert done.returncode == 1 and b"region/nowhere" in done.stderr
    done = cli("load", "--root", str(small_content), "--store", str(tmp_path / "s"), "--graph", "not an iri", str(bad))
    assert done.returncode == 2 and b"absolute IRI" in done.stderr
    done = cli("query", "--root", str(small_content), "--store", str(tmp_path / "nothing-here"), "region-codes")
    assert done.returncode == 2 and b"no store" in done.stderr


# --- gros serve --store ---------------------------------------------------------------------------

def test_a_loaded_store_is_served_with_both_graphs(loaded, small_content, tmp_path):
    """gros serve --store on the store gros load filled: one SPARQL query joins both graphs, and the
    dumps hold the researcher's graph next to ours."""
    store = tmp_path / "served"
    shutil.copytree(loaded / "store", store)  # the module's store stays free for the other tests
    # start_server builds a root of its own; the later --root and --store win (click keeps the last).
    running = start_server(tmp_path / "server", None, "--root", str(small_content), "--store", str(store))
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            body = JOIN.split("# ---\n")[-1]
            response = http.get("/sparql", params={"query": body}, headers={"Accept": "text/csv"})
            assert response.status_code == 200, response.text
            assert f"{LIMBURG},Limburg (Netherlands),7" in response.text
            dump = http.get("/dumps/gros.nq")
            assert dump.status_code == 200
            graphs = {q.graph_name.value for q in ox.parse(dump.content, format=ox.RdfFormat.N_QUADS)
                      if isinstance(q.graph_name, ox.NamedNode)}
            assert {GRAPH, "https://w3id.org/gros/graph/minimal"} <= graphs
            assert "https://w3id.org/gros/graph/meta" not in graphs
    finally:
        running.stop()


def test_citation_file_is_valid_cff_and_states_both_licences():
    cffconvert = Path(sys.executable).with_name("cffconvert")
    done = subprocess.run([str(cffconvert), "--validate", "-i", str(ROOT / "CITATION.cff")], capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert "CC0-1.0" in text and "EUPL-1.2" in text
