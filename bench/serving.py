"""The serving core against the engine under it: `gros serve` vs `oxigraph serve-read-only`.

Run with the peers' virtual environment (`make bench` does):

    bench/.venv-peers/bin/python bench/serving.py --gros-venv .venv
    bench/.venv-peers/bin/python bench/serving.py --gros-venv .venv --baseline-venv OLD/.venv

Three cells, each measured with `wrk -t1 -cN -d4s` at 1 and 4 connections, servers interleaved and
their order rotated per round, three rounds, medians:

- **lookup, varied**: `SELECT ?p ?o WHERE { <r> ?p ?o }`, the next resource of the data each request
  (every IRI under {base}id/ that is the subject of a triple);
- **lookup, repeated**: the same request every time (one resource);
- **aggregate**: `SELECT ?t (COUNT(?s) AS ?n) WHERE { ?s a ?t } GROUP BY ?t ORDER BY DESC(?n)`.

Both servers hold the same triples: the shipped ontology/ and data/, one named graph per file
(gros loads them from its content root; oxigraph gets them with `oxigraph load --graph`), and
both answer over the union of the graphs (`--union-default-graph`). Memory is the resident set
of each server's whole process tree, after start and after the run. `--baseline-venv` adds an
older gros (another checkout's venv) as a third server, to compare a change with what it replaces.
The section "Serving core" of bench/RESULTS.md is replaced with the results.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import psutil

import report as report_file  # replace_section: our section of RESULTS.md
import run  # the helpers of the main benchmark: launching servers, memory of a process tree, wrk

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
HEADING = "## Serving core: gros serve vs oxigraph serve-read-only (bench/serving.py)"
ID_BASE = "https://w3id.org/gros/id/"
JSON = "application/sparql-results+json"

LOOKUP = "SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"
AGGREGATE = "SELECT ?t (COUNT(?s) AS ?n) WHERE { ?s a ?t } GROUP BY ?t ORDER BY DESC(?n)"
CELLS = ("varied", "repeated", "aggregate")
#: Ratio targets at 4 connections (gros req/s over oxigraph's), and the lookup p99 bound.
TARGETS = {"varied": 0.5, "repeated": 1.0, "aggregate": 0.8}
P99_LIMIT_MS = 5.0
RSS_GROWTH_LIMIT = 1.5

#: wrk script: each request takes the next path of `paths` (filled in per cell); the summary is
#: printed as one JSON line, as in run.py.
WRK_CYCLE = """
paths = {PATHS}
counter = 0
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
""" + run.WRK_SCRIPT


def content_files() -> list[Path]:
    return sorted([*ROOT.glob("ontology/**/*.ttl"), *ROOT.glob("data/**/*.ttl")])


def start_gros(name: str, venv: Path, workdir: Path, timeout: float) -> run.Server:
    """`gros serve` with its defaults on a copy of the shipped content (validated at start)."""
    root = run.copy_content(workdir / f"{name}-root", ontology=True, data=True)
    port = run.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
    command = [str(venv / "bin" / "gros"), "serve", "--root", str(root), "--store", str(workdir / f"{name}-store"),
               "--host", "127.0.0.1", "--port", str(port)]
    started = time.time()
    server = run.launch(name, f"http://127.0.0.1:{port}/sparql", command, workdir, env)
    if not run.wait_ready(server, timeout):
        raise RuntimeError(f"{name} did not start; see {server.log_path}")
    server.load_seconds = time.time() - started
    return server


def start_oxigraph(workdir: Path, timeout: float) -> run.Server:
    binary = str(Path(sys.executable).parent / "oxigraph")
    location = workdir / "oxigraph-store"
    started = time.time()
    for path in content_files():
        graph = f"https://w3id.org/gros/graph/{path.parent.name}/{path.stem}"
        subprocess.run([binary, "load", "--location", str(location), "--file", str(path), "--graph", graph],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = run.free_port()
    server = run.launch("oxigraph", f"http://127.0.0.1:{port}/query",
                        [binary, "serve-read-only", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                         "--union-default-graph"], workdir)
    if not run.wait_ready(server, timeout):
        raise RuntimeError(f"oxigraph serve-read-only did not start; see {server.log_path}")
    server.load_seconds = time.time() - started
    return server


def rows(server: run.Server, query: str) -> list[dict]:
    status, body = run.http_get(run.query_url(server, query), JSON)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {status} to {query!r}: {body[:300]!r}")
    return json.loads(body)["results"]["bindings"]


def resources(peer: run.Server) -> list[str]:
    found = rows(peer, f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{ID_BASE}")) }} ORDER BY ?s')
    return [row["s"]["value"] for row in found]


def paths_for(server: run.Server, queries: list[str]) -> list[str]:
    prefix = urllib.parse.urlsplit(server.url).path
    return [prefix + "?" + urllib.parse.urlencode({"query": q}) for q in queries]


def wrk(server: run.Server, queries: list[str], connections: int, seconds: float, workdir: Path) -> dict:
    script = workdir / f"cycle-{server.name}-{len(queries)}.lua"
    listed = ", ".join(json.dumps(p) for p in paths_for(server, queries))  # JSON strings are Lua strings here
    script.write_text(WRK_CYCLE.replace("PATHS", listed, 1))
    origin = server.url[: server.url.index("/", len("http://"))]
    return run.run_wrk(origin + "/", JSON, connections, seconds, 30, script)


def check_same_answers(servers: list[run.Server], queries: list[str]) -> None:
    """Every server gives the same number of rows to each query (a sample of the lookups)."""
    for query in queries:
        counts = {s.name: len(rows(s, query)) for s in servers}
        if len(set(counts.values())) != 1:
            raise RuntimeError(f"the servers disagree on {query!r}: {counts}")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gros-venv", type=Path, required=True, help="the venv whose `gros` is measured")
    parser.add_argument("--baseline-venv", type=Path, help="an older gros to measure too (label: gros-before)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one wrk run")
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/serving.py needs wrk (apt-get install wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="gros-bench-serving-"))
    servers: list[run.Server] = []
    load_before = os.getloadavg()
    try:
        run.log("starting oxigraph serve-read-only")
        servers.append(start_oxigraph(workdir, args.start_timeout))
        run.log("starting gros serve")
        servers.append(start_gros("gros", args.gros_venv.resolve(), workdir, args.start_timeout))
        if args.baseline_venv:
            run.log("starting the baseline gros serve")
            servers.append(start_gros("gros-before", args.baseline_venv.resolve(), workdir, args.start_timeout))
        rss_start = {s.name: run.tree_memory(s.pid)[0] for s in servers}
        peer = servers[0]
        iris = resources(peer)
        queries = {"varied": [LOOKUP.format(iri=iri) for iri in iris],
                   "repeated": [LOOKUP.format(iri=iris[len(iris) // 2])],
                   "aggregate": [AGGREGATE]}
        check_same_answers(servers, [*queries["varied"][:: max(1, len(iris) // 25)], AGGREGATE])
        run.log(f"{len(iris)} resources; the servers agree on a sample of lookups and on the aggregate")

        measured: dict[tuple[str, str, int], list[dict]] = {}
        for number in range(args.rounds):
            order = servers[number % len(servers):] + servers[: number % len(servers)]
            for cell in CELLS:
                for connections in (1, 4):
                    for server in order:
                        run.settle(servers, limit=20)
                        result = wrk(server, queries[cell], connections, args.seconds, workdir)
                        measured.setdefault((server.name, cell, connections), []).append(result)
                        run.log(f"round {number + 1} {cell} c{connections} {server.name}: {result['rps']:,.0f} req/s, "
                                f"p99 {result['p99_ms']:.2f} ms, {result['errors']} errors")
        rss_end = {s.name: run.tree_memory(s.pid)[0] for s in servers}
        load_after = os.getloadavg()
        summary = {key: {"rps": median([r["rps"] for r in runs]), "p50_ms": median([r["p50_ms"] for r in runs]),
                         "p99_ms": median([r["p99_ms"] for r in runs]), "errors": sum(r["errors"] for r in runs)}
                   for key, runs in measured.items()}
        report = render(args, servers, summary, rss_start, rss_end, len(iris), load_before, load_after)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(report)
    (BENCH / "serving-results.json").write_text(json.dumps(
        {"cells": {"|".join(map(str, k)): v for k, v in summary.items()}, "rss_start": rss_start,
         "rss_end": rss_end, "resources": len(iris)}, indent=2) + "\n")
    if not args.no_write:
        report_file.replace_section(RESULTS, HEADING, report)
        print(f"written to {RESULTS.relative_to(ROOT)}")


def render(args, servers, summary, rss_start, rss_end, resources_count, load_before, load_after) -> str:
    names = [s.name for s in servers]
    mb = 1024 * 1024

    def ratio(cell: str, connections: int, name: str = "gros") -> float:
        peer = summary[("oxigraph", cell, connections)]["rps"]
        return summary[(name, cell, connections)]["rps"] / peer if peer else 0.0

    lines = [HEADING, "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {psutil.cpu_count()} cores "
             f"({platform.processor() or platform.machine()}, Python {platform.python_version()}); load average "
             f"{load_before[0]:.2f} before and {load_after[0]:.2f} after the run. `wrk -t1 -cN -d{args.seconds:g}s`, "
             f"{args.rounds} rounds with the servers interleaved, medians. Data: the shipped ontology/ and data/ "
             f"({resources_count} resources under `{ID_BASE}`). `gros serve` runs with its defaults; the peer is "
             f"`oxigraph serve-read-only --union-default-graph` on the same files, one named graph per file.",
             "", "| target (4 connections) | met | measured |", "|---|---|---|"]
    for cell, target in TARGETS.items():
        value = ratio(cell, 4)
        lines.append(f"| {cell} ≥ {target:g}× oxigraph | {'yes' if value >= target else 'no'} | {value:.2f}× |")
    p99 = max(summary[("gros", cell, 4)]["p99_ms"] for cell in ("varied", "repeated"))
    lines.append(f"| lookup p99 < {P99_LIMIT_MS:g} ms | {'yes' if p99 < P99_LIMIT_MS else 'no'} | {p99:.2f} ms |")
    if "gros-before" in rss_start:
        growth = rss_start["gros"] / rss_start["gros-before"]
        lines.append(f"| RSS after start ≤ {RSS_GROWTH_LIMIT:g}× the baseline gros | "
                     f"{'yes' if growth <= RSS_GROWTH_LIMIT else 'no'} | {growth:.2f}× |")
    lines += ["", "| cell | connections | " + " | ".join(f"{n} req/s | p50 ms | p99 ms" for n in names)
              + " | gros / oxigraph |",
              "|---|---:|" + "---:|---:|---:|" * len(names) + "---:|"]
    for cell in CELLS:
        for connections in (1, 4):
            parts = []
            for name in names:
                s = summary[(name, cell, connections)]
                parts.append(f"{s['rps']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f}")
            lines.append(f"| {cell} | {connections} | " + " | ".join(parts) + f" | {ratio(cell, connections):.2f}× |")
    errors = {name: sum(v["errors"] for (n, _, _), v in summary.items() if n == name) for name in names}
    lines += ["", "Resident memory of each server's process tree, and errors over all runs:", "",
              "| server | RSS after start | RSS after the run | errors |", "|---|---:|---:|---:|"]
    for name in names:
        lines.append(f"| {name} | {rss_start[name] / mb:,.0f} MB | {rss_end[name] / mb:,.0f} MB | {errors[name]} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
