"""Server-side render time of the linked-data pages on the shipped data (p50 < 30 ms).

    .venv/bin/python bench/pages.py [--rounds 20] [--no-write]

Starts the real app in this process (the shipped ontology/ and data/, a throw-away store) and
sends each request through the ASGI stack with Starlette's TestClient: no network and no
separate client process, so the time is the server's (routing, middleware, store look-ups,
rendering). Measured: the home page, every cooperation body, agreement and region page in
HTML (the languages in turn) and a sample of them as Turtle, /def, a class page, search,
the map page and its data, the timeline. The first request after start (which makes the
page snapshot and the per-revision caches) is reported apart, as "cold".

Results are printed and written to bench/RESULTS.md under the heading below (replacing that
section when it is there already).
"""
from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

import warnings  # noqa: E402

warnings.filterwarnings("ignore", message=".*httpx.*")  # Starlette's note on its TestClient's HTTP library

from fastapi.testclient import TestClient  # noqa: E402

from gros import __version__  # noqa: E402
from gros.http.app import create_app  # noqa: E402
from gros.settings import Settings  # noqa: E402

import report as report_file  # noqa: E402  (bench/report.py: replace_section)

HEADING = "## Page render times (bench/pages.py)"
RESULTS = ROOT / "bench" / "RESULTS.md"
HTML = {"Accept": "text/html"}
LANGS = ["nl", "en", "de", "fr"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def resources(client: TestClient, cls: str) -> list[str]:
    query = f"""PREFIX gros: <https://w3id.org/gros/def#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT DISTINCT ?s WHERE {{ ?s a/rdfs:subClassOf* gros:{cls} }} ORDER BY ?s"""
    rows = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}).json()
    return ["/" + r["s"]["value"].split("/gros/", 1)[1] for r in rows["results"]["bindings"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="requests per URL (default 20)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(root=ROOT, store_path=Path(folder) / "store", workers=1)
        began = time.perf_counter()
        with TestClient(create_app(settings)) as client:
            started = time.perf_counter() - began
            t = time.perf_counter()
            assert client.get("/", headers=HTML).status_code == 200
            cold = (time.perf_counter() - t) * 1000

            bodies, agreements, regions = (resources(client, c) for c in ("CooperationBody", "LegalInstrument", "Region"))
            groups: dict[str, list[str]] = {
                "home": ["/"],
                "body page": bodies,
                "agreement page": agreements,
                "region page": regions,
                "resource as Turtle": [p + ".ttl" for p in (bodies + agreements)[:20]],
                "/def (ontology)": ["/def"],
                "class page": ["/classes/gros:CooperationBody", "/classes/gros:Region"],
                "search": ["/search?q=dusseldorf", "/search?q=euregio", "/search?q=benelux%20verdrag"],
                "map page": ["/map"],
                "map data": ["/map/data.json"],
                "timeline": ["/timeline"],
            }
            times: dict[str, list[float]] = {name: [] for name in groups}
            for round_ in range(args.rounds):
                lang = LANGS[round_ % len(LANGS)]
                for name, urls in groups.items():
                    for url in urls:
                        joiner = "&" if "?" in url else "?"
                        t = time.perf_counter()
                        response = client.get(f"{url}{joiner}lang={lang}", headers=HTML)
                        times[name].append((time.perf_counter() - t) * 1000)
                        assert response.status_code == 200, (url, response.status_code)
            void = client.get("/dataset.nt").text
            triples = int(re.search(r'<[^>]*/dataset> <http://rdfs.org/ns/void#triples> "(\d+)"', void).group(1))
    every = [v for values in times.values() for v in values]
    rows = [(name, len(groups[name]), len(values), statistics.median(values), percentile(values, 95), max(values))
            for name, values in times.items()]
    overall = statistics.median(every)
    lines = [
        HEADING, "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/pages.py` ({args.rounds} rounds, the "
        f"languages nl/en/de/fr in turn): gros-kg {__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, the shipped ontology/ and data/ ({triples:,} triples). Each request goes "
        f"through the whole app in-process (Starlette TestClient, no network), so the time is the server's.",
        "",
        f"**Target: page render p50 < 30 ms. Measured p50 over all {len(every):,} requests: "
        f"{overall:.1f} ms: {'met' if overall < 30 else 'not met'}.**",
        "",
        "| page | URLs | requests | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {name} | {urls} | {n} | {p50:.1f} | {p95:.1f} | {top:.1f} |" for name, urls, n, p50, p95, top in rows],
        "",
        f"Cold: the first page after start (snapshot of the revision, class counts) took {cold:.0f} ms; "
        f"start-up (validation, load, workers) took {started:.1f} s. Later revisions pay the cold cost once, "
        f"on their first page request.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        report_file.replace_section(RESULTS, HEADING, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
