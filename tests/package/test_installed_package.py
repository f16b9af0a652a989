"""The package a researcher installs: `make dist`'s wheel, installed with pip into a fresh virtual
environment in an empty folder - no checkout, no Node.js, GROS_ROOT unset - runs every command on
the content it carries: gros --version, validate, query, export, serve (pages, map, query editor),
and the library (gros.load, gros.query, gros.dataframe), and the worked example of docs/.

The wheel is built once per session and installed once (package_fixture.py).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import httpx
import pandas as pd
import pyoxigraph as ox
import pytest

import gros
from gros.content import named_queries
from gros.publish import export
from gros.settings import CONTENT_FOLDERS, Settings

from server_fixture import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ("map.js", "map.css", "query.js", "nuts-2021.json", "countries.json", "NOTICE.txt")
EXAMPLE = ROOT / "docs" / "examples" / "nuts-statistics"


def _content_files() -> set[str]:
    """The checkout's content files, relative to the checkout (what the package must carry)."""
    return {str(p.relative_to(ROOT)) for name in CONTENT_FOLDERS for p in (ROOT / name).rglob("*")
            if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts}


def test_the_wheel_carries_the_content_and_the_browser_assets(built_package):
    wheel = next(built_package.glob("gros_kg-*.whl"))
    assert wheel.name == f"gros_kg-{gros.__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    bundled = {n.removeprefix("gros/bundled/") for n in names if n.startswith("gros/bundled/")}
    assert bundled == _content_files()
    for name in ASSETS:
        assert f"gros/web/static/build/{name}" in names, name
    assert not any(n.startswith(("tests/", "frontend/", "server/")) for n in names)


def test_the_sdist_can_build_the_wheel_again_without_npm(built_package):
    sdist = next(built_package.glob("gros_kg-*.tar.gz"))
    prefix = f"gros_kg-{gros.__version__}/"
    names = {m.removeprefix(prefix) for m in tarfile.open(sdist).getnames()}
    assert _content_files() <= names
    assert {f"server/gros/web/static/build/{a}" for a in ASSETS} <= names
    assert {"setup.py", "MANIFEST.in", "pyproject.toml", "CITATION.cff", "frontend/package.json"} <= names
    assert not any("node_modules" in n for n in names)


def test_version_says_the_packaged_content_is_in_use(installed):
    done = installed.run(installed.gros, "--version")
    assert done.returncode == 0, done.stderr
    assert f"gros-kg {gros.__version__}" in done.stdout
    assert "content: the content packaged with gros-kg" in done.stdout
    assert str(installed.venv) in done.stdout and "/gros/bundled" in done.stdout
    for tool in ("node", "npm", "npx"):
        assert shutil.which(tool, path=installed.env["PATH"]) is None, tool


def test_validate_on_the_packaged_content(installed):
    done = installed.run(installed.gros, "validate")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "conforms (0 violations" in done.stdout


def test_query_lists_and_runs_the_packaged_queries(installed):
    done = installed.run(installed.gros, "query", "--list")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert listed == list(named_queries.all_queries(ROOT / "queries"))
    done = installed.run(installed.gros, "query", "region-codes", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert "https://w3id.org/gros/id/region/limburg-nl" in done.stdout and "NL42" in done.stdout


def test_export_writes_the_whole_graph(installed):
    target = installed.work / "gros.nq"
    done = installed.run(installed.gros, "export", "--format", "nquads", "-o", target)
    assert done.returncode == 0, done.stderr
    exported = set(ox.parse(target.read_bytes(), format=ox.RdfFormat.N_QUADS))
    expected = set(export.content_quads(export.content_files(Settings(root=ROOT))))
    assert len(exported) == len(expected) > 5000
    assert {q for q in exported if not _blank(q)} == {q for q in expected if not _blank(q)}


def _blank(quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def test_the_library_loads_queries_and_makes_tables(installed):
    script = (
        "import gros, pandas as pd\n"
        "d = gros.load()\n"
        "print(len(d))\n"
        "print(len(gros.query('bodies-covering-region', region='https://w3id.org/gros/id/region/limburg-nl')))\n"
        "t = gros.dataframe('members-on-date', date='2010-01-01')\n"
        "print(pd.api.types.is_datetime64_dtype(t['date']), t['current'].dtype)\n"
        "print(gros.dataframe('region-codes')['nutsLevel'].dtype)\n")
    done = installed.run(installed.python, "-c", script)
    assert done.returncode == 0, done.stderr
    triples, covering, dates, levels = done.stdout.splitlines()
    assert int(triples) == len(gros.load(Settings(root=ROOT)))
    assert int(covering) == len(gros.query("bodies-covering-region", settings=Settings(root=ROOT),
                                           region="https://w3id.org/gros/id/region/limburg-nl")) > 0
    assert dates == "True boolean"
    assert levels == "Int64"


def test_serve_gives_pages_the_map_and_the_query_editor(installed):
    port = free_port()
    log = installed.work / "serve.log"
    with log.open("w") as handle:
        process = subprocess.Popen([str(installed.gros), "serve", "--port", str(port), "--workers", "1"],
                                   cwd=installed.work, env=installed.env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            _wait_ready(http, process, log)
            home = http.get("/", headers={"Accept": "text/html"})
            assert home.status_code == 200 and "text/html" in home.headers["content-type"]
            page = http.get("/id/region/limburg-nl", headers={"Accept": "text/html"})
            assert page.status_code == 200 and "Limburg" in page.text
            assert "build/map.js" in page.text  # the region's map
            map_page = http.get("/map", headers={"Accept": "text/html"})
            assert map_page.status_code == 200 and "build/map.js" in map_page.text
            shapes = http.get("/map/data.json").json()
            assert any(f.get("geometry") and f["geometry"]["type"] in ("Polygon", "MultiPolygon")
                       for f in shapes["features"])  # NUTS boundaries from the packaged assets
            editor = http.get("/sparql", headers={"Accept": "text/html"})
            assert editor.status_code == 200 and "build/query.js" in editor.text
            for asset in ("map.js", "map.css", "query.js", "countries.json"):
                got = http.get(f"/static/build/{asset}")
                assert got.status_code == 200 and len(got.content) > 1000, asset
            answer = http.get("/sparql", params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"},
                              headers={"Accept": "application/sparql-results+json"})
            assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > 5000
    finally:
        stop_process(process)
    output = log.read_text()
    assert "Content: the content packaged with gros-kg" in output
    store = installed.home / ".local" / "share" / "gros-kg" / "store"
    assert f"Store: {store}" in output and store.is_dir()  # not inside site-packages
    assert not list((installed.venv / "lib").glob("python*/site-packages/gros/bundled/var"))


def _wait_ready(http: httpx.Client, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gros serve ended with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if http.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"gros serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def test_gros_root_and_root_still_choose_the_content(installed, small_root):
    done = installed.run(installed.gros, "--version", GROS_ROOT=str(small_root))
    assert f"content: the content folder {small_root}" in done.stdout
    small = installed.run(installed.gros, "validate", GROS_ROOT=str(small_root))
    assert small.returncode == 0, small.stderr
    quads = export.content_quads(export.content_files(Settings(root=small_root)))
    assert _triples(small.stdout) == len(quads)  # the small root's, not the packaged data's
    done = installed.run(installed.gros, "query", "--list", "--root", str(ROOT))
    assert done.returncode == 0 and "region-codes" in done.stdout


def _triples(report: str) -> int:
    return int(re.search(r"(\d+) triples", report).group(1))


def test_in_a_checkout_the_installed_command_uses_the_checkout(installed):
    done = installed.run(installed.gros, "--version", cwd=ROOT / "docs")
    assert f"content: the checkout at {ROOT}" in done.stdout


def test_the_worked_example_joins_a_researchers_table_with_the_packaged_graph(installed):
    for name in ("join_with_graph.py", "regional-indicators-illustrative.csv"):
        shutil.copy(EXAMPLE / name, installed.work / name)  # the researcher's own folder
    done = installed.run(installed.python, "join_with_graph.py", "regional-indicators-illustrative.csv",
                         "--csv", "joined.csv")
    assert done.returncode == 0, done.stderr
    _check_joined(done.stdout, installed.work / "joined.csv")


def test_the_worked_example_runs_in_the_checkout(tmp_path):
    import sys

    done = subprocess.run([sys.executable, str(EXAMPLE / "join_with_graph.py"),
                           str(EXAMPLE / "regional-indicators-illustrative.csv"), "--csv", str(tmp_path / "joined.csv")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _check_joined(done.stdout, tmp_path / "joined.csv")


def _check_joined(stdout: str, path: Path) -> None:
    table = pd.read_csv(EXAMPLE / "regional-indicators-illustrative.csv")
    assert table["status"].str.startswith("ILLUSTRATIVE").all()  # never presented as statistics
    joined = pd.read_csv(path).set_index("nuts_code")
    assert list(joined.index) == list(table["nuts_code"])
    codes = gros.dataframe("region-codes", settings=Settings(root=ROOT)).dropna(subset=["nutsCode"])
    iri = dict(zip(codes["nutsCode"], codes["region"]))
    counts = gros.dataframe("regions-in-cross-border-bodies", settings=Settings(root=ROOT))
    bodies = dict(zip(counts["region"], counts["bodyCount"]))
    for code, row in joined.iterrows():
        if code in iri:
            assert row["region"] == iri[code], code
            assert row["bodyCount"] == bodies.get(iri[code], 0), code
        else:
            assert pd.isna(row["region"]), code
    assert joined.loc["NL42", "bodyCount"] == bodies[iri["NL42"]] >= 5  # Limburg (NL): Eurode, EMR, Rhine-Waal, ...
    assert joined.loc["NL42", "cross_border_workers_per_1000"] == 21.7
    assert "13 of 14 rows matched a GROS region" in stdout and "not in the graph: NL31" in stdout
