"""The 10-million-triple benchmark (`make bench-scale`): gros on the embedded store at
1M and 10M generated triples, against Oxigraph's own `oxigraph load` / `oxigraph serve` on the
same data in the same run.

    bench/.venv-peers/bin/python bench/scale.py              # 1M and 10M (about an hour)
    bench/.venv-peers/bin/python bench/scale.py --scale 1M   # smoke run (`make bench-scale SCALE=1M`)

Per size: generate the data (bench/generate.py); load it with `oxigraph load` and with
`gros load --shapes none` (the bulk path; rate in triples/s, ratio); validate a fixed sample of
its resources with `gros load --shapes sample:N` (SHACL throughput, which sets what
`--shapes all` costs); start `gros serve --store` and `oxigraph serve` on the loaded stores
(start-up until the endpoint answers); time every named query of queries/ on both (parameters
from the query headers' defaults; gros through /queries/{name}, Oxigraph the same text with the
values written in, as gros does), the pages (resource, class, search, map, timeline: first request and
warm), and the SHACL gate (SPARQL updates touching 10 bodies each); and the memory (RSS) of each
server's process tree after loading, after the queries and after the pages.

Results: bench/scale-results.json (raw) and the section `<!-- scale:start -->` ... `<!-- scale:end -->`
of bench/RESULTS.md. Stores go to bench/data/scale-*/ (git-ignored) and are removed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import yaml

import generate
from run import ROOT, Server, free_port, launch, log, machine, tree_memory, wait_ready

# gros's own way of writing a parameter into a query's text (a plain-text module: no pyoxigraph
# needed in this venv), so that Oxigraph answers exactly what gros evaluates.
sys.path.insert(0, str(ROOT / "server"))
from gros.sparql.text import write_in  # noqa: E402

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
GRAPH = "https://example.org/graph/bench-scale"
SIZES = {"100K": 100_000, "1M": 1_000_000, "10M": 10_000_000}  # 100K: a check of the script itself
TOKEN = "bench-scale-token"
START, END = "<!-- scale:start -->", "<!-- scale:end -->"
PREFIXES = {"xsd": "http://www.w3.org/2001/XMLSchema#"}
#: A query is "selective" (the issue's p99 < 100 ms target) when one of its parameters pins it
#: to one resource (an IRI) and its answer stays small: its work then depends on that resource,
#: not on the size of the data. One whose answer grows with the data (regions-within of a
#: country: every generated municipality) is not, whatever its parameters.
SELECTIVE_TYPES = {"iri"}
SELECTIVE_ROWS = 1000
#: Client-side limit per request: gros stops a query at 30 s (its default time limit, 503);
#: oxigraph serve has none, so its slowest queries are cut here, a little later, as "timeout".
QUERY_TIMEOUT = 35.0


# --- running a command and watching its memory ------------------------------------------------------

def timed(command: list[str], env=None, cwd=None) -> dict:
    """Run a command to its end; wall seconds, peak RSS of its process tree, its output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    peak = 0
    out, err = b"", b""
    while True:
        try:
            out, err = process.communicate(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            peak = max(peak, tree_memory(process.pid)[0])
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({process.returncode}):\n{err.decode()[-3000:]}")
    return {"seconds": seconds, "peak_rss": peak, "stdout": out.decode(), "stderr": err.decode()}


def tree_rss(server: Server) -> int:
    return tree_memory(server.pid)[0]


def disk_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --- loading ------------------------------------------------------------------------------------------

def oxigraph_bin() -> str:
    return str(Path(sys.executable).parent / "oxigraph")


def load_oxigraph(location: Path, data: Path) -> dict:
    """The shipped content (one graph per file, untimed) and the generated file (timed)."""
    for path in sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "data").glob("*.ttl")):
        timed([oxigraph_bin(), "load", "--location", str(location), "--file", str(path),
               "--graph", "https://w3id.org/gros/graph/" + path.stem])
    return timed([oxigraph_bin(), "load", "--location", str(location), "--file", str(data), "--graph", GRAPH])


def prepare_gros(gros_venv: Path, store: Path) -> float:
    """Validate the shipped content and load it into a new store, as the first `gros load` or
    `gros serve` does (once per store, so it is timed apart from the bulk load)."""
    script = ("import sys; from pathlib import Path; from gros.ingest.loading import prepare_content; "
              "from gros.settings import Settings; prepare_content(Settings(root=Path(sys.argv[1]), "
              "store_path=Path(sys.argv[2])))")
    return timed([str(gros_venv / "bin" / "python"), "-c", script, str(ROOT), str(store)])["seconds"]


def load_gros(gros_venv: Path, store: Path, data: Path, shapes: str) -> dict:
    run = timed([str(gros_venv / "bin" / "gros"), "load", "--root", str(ROOT), "--store", str(store),
                 "--graph", GRAPH, "--bulk", "--shapes", shapes, "--no-progress", str(data)])
    text = run["stderr"]
    phases = re.search(r"([\d,]+) triples from .* in ([\d.]+) s: parsing ([\d.]+) s .*terms and links ([\d.]+) s, "
                       r"shapes ([\d.]+) s, commit ([\d.]+) s", text)
    if not phases:
        raise RuntimeError(f"unexpected output of gros load:\n{text[-2000:]}")
    run.update(triples=int(phases.group(1).replace(",", "")), total=float(phases.group(2)),
               parse=float(phases.group(3)), checks=float(phases.group(4)), shapes_seconds=float(phases.group(5)),
               commit=float(phases.group(6)))
    sample = re.search(r"sample of ([\d,]+) of the ([\d,]+) resources", text)
    if sample:
        run.update(validated=int(sample.group(1).replace(",", "")), resources=int(sample.group(2).replace(",", "")))
    run["checked"] = [line.strip()[2:] for line in text.splitlines() if line.startswith("  - ")]
    return run


# --- serving ------------------------------------------------------------------------------------------

def start_gros(gros_venv: Path, store: Path, workdir: Path) -> Server:
    port = free_port()
    env = {**os.environ, "GROS_UPDATE_TOKEN": TOKEN}
    env.pop("GROS_ROOT", None)
    env.pop("GROS_STORE", None)
    server = launch("gros", f"http://127.0.0.1:{port}/sparql",
                    [str(gros_venv / "bin" / "gros"), "serve", "--root", str(ROOT), "--store", str(store),
                     "--host", "127.0.0.1", "--port", str(port)], workdir, env)
    return server


def start_oxigraph(location: Path, workdir: Path) -> Server:
    port = free_port()
    return launch("oxigraph", f"http://127.0.0.1:{port}/query",
                  [oxigraph_bin(), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                   "--union-default-graph"], workdir)


def ready(server: Server, timeout: float = 1800) -> float:
    started = time.perf_counter()
    if not wait_ready(server, timeout):
        raise RuntimeError(f"{server.name} did not start; see {server.log_path}")
    return time.perf_counter() - started


# --- the named queries --------------------------------------------------------------------------------

def named_queries() -> list[dict]:
    """Each query of queries/: its text, and its parameters with their default values as terms."""
    found = []
    for path in sorted((ROOT / "queries").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = "\n".join(line[2:] if line.startswith("# ") else line[1:]
                           for line in text.split("# ---\n")[1].splitlines())
        spec = yaml.safe_load(header) or {}
        parameters = {}
        for name, about in (spec.get("parameters") or {}).items():
            value = about.get("default", about.get("example"))
            if value is not None:
                parameters[name] = (about.get("type", "string"), str(value))
        found.append({"name": path.stem, "text": text, "parameters": parameters})
    return found


def sparql_term(kind: str, value: str) -> str:
    if kind == "iri":
        return f"<{value}>"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if kind == "date":
        return f'"{escaped}"^^<{PREFIXES["xsd"]}date>'
    if kind == "integer":
        return f'"{escaped}"^^<{PREFIXES["xsd"]}integer>'
    return f'"{escaped}"'


def with_terms(text: str, parameters: dict) -> str:
    """The query with its parameters written into the text, which is what gros's substitutions
    (and its remote stores) do. A VALUES block would not be the same: it joins after subqueries,
    so a subquery anchored on the parameter (LIMIT 1) would pick any resource instead."""
    return write_in(text, {name: sparql_term(kind, value) for name, (kind, value) in parameters.items()})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def attempt(request, client) -> tuple:
    """(status, size); a request that times out on the client side counts as status "timeout"."""
    try:
        return request(client)
    except httpx.TimeoutException:
        return "timeout", None


def measure(client: httpx.Client, request, count: int, seconds: float) -> dict:
    """`count` requests one after the other (at most `seconds`), after one warm-up request. A
    warm-up that takes longer than `seconds` is the only sample."""
    started = time.perf_counter()
    first = attempt(request, client)
    first_ms = (time.perf_counter() - started) * 1000
    times: list[float] = []
    statuses = {first[0]}
    deadline = time.perf_counter() + seconds
    if first_ms / 1000 > seconds or first[0] == "timeout":
        times.append(first_ms)
    while len(times) < count and time.perf_counter() < deadline and first[0] != "timeout":
        began = time.perf_counter()
        status, _ = attempt(request, client)
        times.append((time.perf_counter() - began) * 1000)
        statuses.add(status)
    return {"first_ms": first_ms, "n": len(times), "p50_ms": percentile(times, 0.5),
            "p99_ms": percentile(times, 0.99), "max_ms": max(times, default=0.0), "statuses": sorted(map(str, statuses)),
            "rows": first[1]}


def rows_of(response: httpx.Response):
    if response.status_code != 200:
        return None
    if "json" in response.headers.get("content-type", ""):
        return len(response.json()["results"]["bindings"])
    return sum(1 for line in response.text.splitlines() if line.strip())


def run_queries(gros: Server, oxigraph: Server, count: int, seconds: float, selective_only: bool = False) -> list[dict]:
    gros_base = gros.url.rsplit("/sparql", 1)[0]
    out = []
    with httpx.Client(timeout=QUERY_TIMEOUT) as client:
        for query in named_queries():
            if selective_only and not any(kind in SELECTIVE_TYPES for kind, _ in query["parameters"].values()):
                continue
            params = {name: value for name, (_, value) in query["parameters"].items()}
            construct = bool(re.search(r"^\s*CONSTRUCT\b", query["text"], re.IGNORECASE | re.MULTILINE))
            accept = "application/n-triples" if construct else "application/sparql-results+json"
            text = with_terms(query["text"], query["parameters"])

            def on_gros(http, name=query["name"], params=params, accept=accept):
                response = http.get(f"{gros_base}/queries/{name}", params=params, headers={"Accept": accept})
                return response.status_code, rows_of(response)

            def on_oxigraph(http, text=text, accept=accept):
                response = http.post(oxigraph.url, data={"query": text}, headers={"Accept": accept})
                return response.status_code, rows_of(response)

            entry = {"name": query["name"], "parameters": params,
                     "selective": any(kind in SELECTIVE_TYPES for kind, _ in query["parameters"].values()),
                     "gros": measure(client, on_gros, count, seconds),
                     "oxigraph": measure(client, on_oxigraph, count, seconds)}
            entry["same_rows"] = entry["gros"]["rows"] == entry["oxigraph"]["rows"]
            if entry["selective"] and (entry["gros"]["rows"] or 0) > SELECTIVE_ROWS:
                entry["selective"] = False
                entry["not_selective_why"] = f"{entry['gros']['rows']:,} rows"
            out.append(entry)
            log(f"  {query['name']:36} gros p50 {entry['gros']['p50_ms']:8.1f} p99 {entry['gros']['p99_ms']:8.1f} ms"
                f" | oxigraph p50 {entry['oxigraph']['p50_ms']:8.1f} p99 {entry['oxigraph']['p99_ms']:8.1f} ms"
                f" | rows {entry['gros']['rows']}/{entry['oxigraph']['rows']}")
    return out


# --- pages and the gate ---------------------------------------------------------------------------------

def first_value(server: Server, query: str) -> str | None:
    response = httpx.post(server.url, data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                          timeout=120)
    rows = response.json()["results"]["bindings"]
    return rows[0]["x"]["value"] if rows else None


def run_pages(gros: Server, oxigraph: Server, count: int, seconds: float) -> list[dict]:
    base = gros.url.rsplit("/sparql", 1)[0]
    body = first_value(oxigraph, f"SELECT ?x WHERE {{ GRAPH <{GRAPH}> {{ ?x a <https://w3id.org/gros/def#EGTC> }} }} "
                                 f"ORDER BY ?x LIMIT 1")
    pages = [("resource page (a generated EGTC)", "/" + body.split("/gros/", 1)[1]),
             ("class page", "/classes/gros:CooperationBody"),
             ("search", "/search?q=euregio"),
             ("map page", "/map"),
             ("map data", "/map/data.json"),
             ("timeline", "/timeline")]
    out = []
    with httpx.Client(timeout=600, headers={"Accept": "text/html"}) as client:
        for kind, path in pages:
            before = tree_rss(gros)

            def get(http, path=path):
                response = http.get(base + path)
                return response.status_code, len(response.content)

            entry = {"kind": kind, "path": path, **measure(client, get, count, seconds)}
            entry["rss_before"], entry["rss_after"] = before, tree_rss(gros)
            entry["bytes"] = entry.pop("rows")
            out.append(entry)
            log(f"  {kind:34} first {entry['first_ms']:9.1f} ms  p50 {entry['p50_ms']:8.1f}  p99 {entry['p99_ms']:8.1f} ms"
                f"  RSS {before / 2**20:.0f} -> {entry['rss_after'] / 2**20:.0f} MiB")
    return out


def run_gate(gros: Server, oxigraph: Server, writes: int, cls: str) -> dict:
    """SPARQL updates through the SHACL gate, each touching 10 generated resources of `cls` (a
    label added). The gate validates them and every resource whose shapes read the added
    triples (shape_reach): for a label, only the resources themselves; before shape_reach it
    was also everything linking to them (a body's memberships and members)."""
    bodies = [row["x"]["value"] for row in httpx.post(
        oxigraph.url, data={"query": f"SELECT ?x WHERE {{ GRAPH <{GRAPH}> {{ ?x a <https://w3id.org/gros/def#{cls}> }} }} "
                                     f"ORDER BY ?x LIMIT {10 * writes}"},
        headers={"Accept": "application/sparql-results+json"}, timeout=120).json()["results"]["bindings"]]
    times, statuses = [], []
    with httpx.Client(timeout=600) as client:
        for round_ in range(writes):
            chosen = bodies[round_ * 10:(round_ + 1) * 10]
            triples = "\n".join(f'<{b}> <http://www.w3.org/2004/02/skos/core#altLabel> "bench {round_}"@en .'
                                for b in chosen)
            update = f"INSERT DATA {{ GRAPH <https://example.org/graph/bench-edits-{cls.lower()}> {{\n{triples}\n}} }}"
            began = time.perf_counter()
            response = client.post(gros.url, data={"update": update}, headers={"Authorization": f"Bearer {TOKEN}"})
            times.append((time.perf_counter() - began) * 1000)
            statuses.append(response.status_code)
    log(f"  gate ({cls}): {', '.join(f'{t:.0f}' for t in times)} ms; statuses {statuses}")
    return {"ms": times, "p50_ms": percentile(times, 0.5), "max_ms": max(times), "statuses": statuses,
            "resources_per_write": 10}


# --- one size ------------------------------------------------------------------------------------------

def run_size(args, label: str, triples: int) -> dict:
    workdir = DATA / f"scale-{label}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    gros_venv = Path(args.gros_venv)
    entry: dict = {"label": label, "requested_triples": triples}
    servers: list[Server] = []
    try:
        began = time.perf_counter()
        data = generate.ensure(DATA, triples)
        entry["data"] = {"file": data.name, "bytes": data.stat().st_size, "generate_seconds": time.perf_counter() - began}
        log(f"{label}: data {data.name} ({data.stat().st_size / 2**20:.0f} MiB)")

        template = workdir / "gros-prepared"
        entry["gros_prepare_seconds"] = prepare_gros(gros_venv, template)
        loads = {"oxigraph": [], "gros": []}
        for round_ in range(args.load_rounds):  # interleaved, so that machine noise is shared
            location = workdir / f"oxigraph-{round_}"
            run = load_oxigraph(location, data)
            loads["oxigraph"].append({"seconds": run["seconds"], "peak_rss": run["peak_rss"]})
            log(f"{label}: oxigraph load {run['seconds']:.1f} s")
            store = workdir / f"gros-{round_}"
            shutil.copytree(template, store)
            run = load_gros(gros_venv, store, data, "none")
            loads["gros"].append({k: run[k] for k in ("seconds", "peak_rss", "triples", "total", "parse", "checks",
                                                      "commit", "checked")})
            log(f"{label}: gros load --shapes none {run['seconds']:.1f} s (parse {run['parse']:.1f} s)")
            if round_:
                shutil.rmtree(location)
                shutil.rmtree(store)
        entry["loads"] = loads
        loaded = entry["triples"] = loads["gros"][0]["triples"]
        best_ox = min(r["seconds"] for r in loads["oxigraph"])
        best_gros = min(r["seconds"] for r in loads["gros"])
        entry["load_rate"] = {"oxigraph": loaded / best_ox, "gros": loaded / best_gros,
                              "gros_parse_only": loaded / min(r["parse"] for r in loads["gros"])}
        entry["load_rate"]["ratio"] = entry["load_rate"]["gros"] / entry["load_rate"]["oxigraph"]

        if label in args.sample_at:  # a second whole load: only where asked (default 1M)
            sample_store = workdir / "gros-sample"
            shutil.copytree(template, sample_store)
            run = load_gros(gros_venv, sample_store, data, f"sample:{args.sample}")
            entry["shapes_sample"] = {k: run.get(k) for k in ("seconds", "peak_rss", "shapes_seconds", "validated",
                                                              "resources", "checked")}
            entry["shapes_sample"]["resources_per_second"] = run["validated"] / max(run["shapes_seconds"], 1e-9)
            entry["shapes_sample"]["all_estimate_seconds"] = (run["resources"]
                                                              / entry["shapes_sample"]["resources_per_second"])
            log(f"{label}: shapes on {run['validated']} of {run['resources']} resources in {run['shapes_seconds']:.1f} s")
            shutil.rmtree(sample_store)
        entry["disk"] = {"gros": disk_size(workdir / "gros-0"), "oxigraph": disk_size(workdir / "oxigraph-0")}

        gros = start_gros(gros_venv, workdir / "gros-0", workdir)
        servers.append(gros)
        gros_start = ready(gros)
        oxigraph = start_oxigraph(workdir / "oxigraph-0", workdir)
        servers.append(oxigraph)
        oxigraph_start = ready(oxigraph)
        entry["startup_seconds"] = {"gros": gros_start, "oxigraph": oxigraph_start}
        log(f"{label}: started gros in {gros_start:.1f} s, oxigraph in {oxigraph_start:.1f} s")
        entry["memory"] = {"after_start": {"gros": tree_rss(gros), "oxigraph": tree_rss(oxigraph)}}
        light = label in args.light  # only the selective queries: the others time out at this size
        entry["light"] = light
        entry["queries"] = run_queries(gros, oxigraph, args.requests, args.seconds, selective_only=light)
        entry["memory"]["after_queries"] = {"gros": tree_rss(gros), "oxigraph": tree_rss(oxigraph)}
        entry["pages"] = run_pages(gros, oxigraph, args.page_requests, args.seconds)
        entry["memory"]["after_pages"] = {"gros": tree_rss(gros), "oxigraph": tree_rss(oxigraph)}
        entry["gate"] = run_gate(gros, oxigraph, args.writes, "CrossBorderBody")
        entry["gate_leaf"] = run_gate(gros, oxigraph, args.writes, "Membership")
        entry["memory"]["after_writes"] = {"gros": tree_rss(gros), "oxigraph": tree_rss(oxigraph)}
        # The sampler runs from launch to now in one phase: the peak over start-up and everything above.
        entry["memory"]["peak_while_serving"] = {s.name: s.sampler.peak.get("load", {}).get("rss", 0) for s in servers}
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return entry


# --- the report ----------------------------------------------------------------------------------------

def mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(results: dict) -> str:
    sizes = results["sizes"]
    labels = list(sizes)
    conditions = results["conditions"]
    lines = [START, "## 10 million triples: `make bench-scale` (bench/scale.py)", "",
             f"Measured {results['date']} on {results['machine']['cores']} cores ({results['machine']['cpu']}, "
             f"{results['machine']['memory_gb']} GB), shared with other jobs: load average "
             f"{conditions['load_before']} before, {conditions['load_after']} after; {results['wall_minutes']:.0f} "
             f"minutes in all. Timings on this machine are noisy: compare the ratios against Oxigraph, measured "
             f"in the same run, more than absolute times. Data: bench/generate.py (regions, municipalities with "
             f"points, authorities and other organisations, cross-border bodies with life events, memberships, "
             f"agreements, sources; labels in nl, en, de and fr), valid against our shapes. gros: "
             f"`gros load --bulk` into a store holding the shipped content, `gros serve --store` (2 query workers); "
             f"Oxigraph {results['machine']['peers'].get('oxigraph', '?')}: `oxigraph load` into a store with the "
             f"same content files, `oxigraph serve --union-default-graph`.", ""]
    head = "| | " + " | ".join(labels) + " |"
    rule = "|---|" + "---:|" * len(labels)

    def row(name, fn):
        return f"| {name} | " + " | ".join(fn(sizes[label]) for label in labels) + " |"

    lines += ["### Loading", "", head, rule,
              row("triples loaded", lambda e: f"{e['triples']:,}"),
              row("file (N-Triples)", lambda e: f"{e['data']['bytes'] / 2**20:,.0f} MiB"),
              row("`oxigraph load`", lambda e: f"{min(r['seconds'] for r in e['loads']['oxigraph']):.1f} s, "
                                               f"{e['load_rate']['oxigraph']:,.0f} triples/s"),
              row("`gros load --shapes none` (whole command)",
                  lambda e: f"{min(r['seconds'] for r in e['loads']['gros']):.1f} s, {e['load_rate']['gros']:,.0f} triples/s"),
              row("of which parsing into the staging copy", lambda e: f"{min(r['parse'] for r in e['loads']['gros']):.1f} s"),
              row("of which terms and links checks (SPARQL)", lambda e: f"{min(r['checks'] for r in e['loads']['gros']):.1f} s"),
              row("**ratio gros / oxigraph (target ≥ 0.5)**",
                  lambda e: f"{e['load_rate']['ratio']:.2f} {verdict(e['load_rate']['ratio'] >= 0.5)}"),
              row("peak RSS while loading: oxigraph / gros",
                  lambda e: f"{mib(max(r['peak_rss'] for r in e['loads']['oxigraph']))} / "
                            f"{mib(max(r['peak_rss'] for r in e['loads']['gros']))} MiB"),
              row("store on disk: oxigraph / gros", lambda e: f"{mib(e['disk']['oxigraph'])} / {mib(e['disk']['gros'])} MiB"),
              row("shipped content validated and loaded first (once per store)", lambda e: f"{e['gros_prepare_seconds']:.1f} s"),
              row("SHACL, `--shapes sample:N`", lambda e: f"{e['shapes_sample']['validated']:,} of "
                                                         f"{e['shapes_sample']['resources']:,} resources in "
                                                         f"{e['shapes_sample']['shapes_seconds']:.1f} s "
                                                         f"({e['shapes_sample']['resources_per_second']:.1f}/s)"
                  if e.get("shapes_sample") else "not run"),
              row("SHACL `--shapes all`, estimated from that rate",
                  lambda e: f"{e['shapes_sample']['all_estimate_seconds'] / 60:,.0f} min"
                  if e.get("shapes_sample") else "-"),
              "", "### Serving", "", head, rule,
              row("start-up until /sparql answers: gros / oxigraph",
                  lambda e: f"{e['startup_seconds']['gros']:.1f} / {e['startup_seconds']['oxigraph']:.1f} s"),
              row("RSS after start: gros / oxigraph", lambda e: f"{mib(e['memory']['after_start']['gros'])} / "
                                                                f"{mib(e['memory']['after_start']['oxigraph'])} MiB"),
              row("RSS after the queries", lambda e: f"{mib(e['memory']['after_queries']['gros'])} / "
                                                     f"{mib(e['memory']['after_queries']['oxigraph'])} MiB"),
              row("RSS after the pages", lambda e: f"{mib(e['memory']['after_pages']['gros'])} / "
                                                   f"{mib(e['memory']['after_pages']['oxigraph'])} MiB"),
              row("RSS after the writes", lambda e: f"{mib(e['memory']['after_writes']['gros'])} / "
                                                    f"{mib(e['memory']['after_writes']['oxigraph'])} MiB"),
              row("**SHACL gate, update touching 10 bodies (target < 1 s)**",
                  lambda e: f"p50 {e['gate']['p50_ms']:.0f} ms, max {e['gate']['max_ms']:.0f} ms "
                            f"{verdict(e['gate']['max_ms'] < 1000 and all(s < 300 for s in e['gate']['statuses']))}"),
              row("**SHACL gate, update touching 10 memberships (target < 1 s)**",
                  lambda e: f"p50 {e['gate_leaf']['p50_ms']:.0f} ms, max {e['gate_leaf']['max_ms']:.0f} ms "
                            f"{verdict(e['gate_leaf']['max_ms'] < 1000 and all(s < 300 for s in e['gate_leaf']['statuses']))}"),
              ""]
    lines += ["### Named queries (p50 / p99 ms, sequential requests after one warm-up; gros via /queries/{name})", "",
              "| query | selective | " + " | ".join(f"{l} gros | {l} oxigraph | {l} p99 ratio" for l in labels) + " | rows equal |",
              "|---|---|" + "---:|---:|---:|" * len(labels) + "---|"]
    names = sorted({q["name"] for label in labels for q in sizes[label]["queries"]})
    for name in names:
        cells = []
        same = []
        selective = False
        for label in labels:
            q = next((q for q in sizes[label]["queries"] if q["name"] == name), None)
            if q is None:
                cells.append("not run | not run | -")
                same.append("-")
                continue
            selective = q["selective"]
            g, o = q["gros"], q["oxigraph"]
            ratio = g["p99_ms"] / o["p99_ms"] if o["p99_ms"] else 0
            def flag(m):
                return "" if m["statuses"] == ["200"] else f" ({', '.join(m['statuses'])})"
            cells.append(f"{g['p50_ms']:.1f} / {g['p99_ms']:.1f}{flag(g)} | {o['p50_ms']:.1f} / {o['p99_ms']:.1f}{flag(o)}"
                         f" | {ratio:.1f}")
            same.append("yes" if q["same_rows"] else f"no ({g['rows']} vs {o['rows']})")
        why = next((q.get("not_selective_why") for label in labels for q in sizes[label]["queries"]
                    if q["name"] == name and q.get("not_selective_why")), None)
        lines.append(f"| {name} | {'yes' if selective else 'no'}{f' ({why})' if why else ''} | " + " | ".join(cells) + f" | {', '.join(same)} |")
    last = sizes[labels[-1]]
    selective = [q for q in last["queries"] if q["selective"]]
    slow = [q["name"] for q in selective if q["gros"]["p99_ms"] >= 100]
    lines += ["", f"Selective named queries, p99 < 100 ms at {labels[-1]} (target): "
                  f"{verdict(not slow)} ({len(selective) - len(slow)} of {len(selective)}"
                  + (f"; over: {', '.join(slow)}" if slow else "") + ").", ""]
    lines += ["### Pages (ms; first request after start computes the per-revision caches; RSS of the gros tree before → after the first request)", "",
              "| page | " + " | ".join(f"{l} first | {l} p50 / p99 | {l} RSS MiB" for l in labels) + " |",
              "|---|" + "---:|---:|---:|" * len(labels)]
    for index, page in enumerate(sizes[labels[0]]["pages"]):
        cells = []
        for label in labels:
            p = sizes[label]["pages"][index]
            cells.append(f"{p['first_ms']:,.0f} | {p['p50_ms']:,.1f} / {p['p99_ms']:,.1f} | "
                         f"{mib(p['rss_before'])} → {mib(p['rss_after'])}")
        lines.append(f"| {page['kind']} | " + " | ".join(cells) + " |")
    lines += ["", "<!-- the prose below the tables is written by people: see bench/README.md -->", END]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        old = rest.split(END, 1)[0]
        notes = old.split("<!-- the prose below the tables is written by people: see bench/README.md -->", 1)
        kept = notes[1] if len(notes) == 2 else ""
        if kept.strip():
            section = section.replace(END, kept.strip("\n") + "\n" + END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default=os.environ.get("SCALE") or "1M,10M", help="sizes: 1M, 10M or 1M,10M")
    parser.add_argument("--gros-venv", default=str(ROOT / ".venv"))
    parser.add_argument("--requests", type=int, default=100, help="timed requests per named query and server")
    parser.add_argument("--page-requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most this long per query or page and server")
    parser.add_argument("--sample", type=int, default=1000, help="resources validated by --shapes sample:N")
    parser.add_argument("--sample-at", default="1M", help="sizes at which to run the sample load (default 1M)")
    parser.add_argument("--writes", type=int, default=3, help="updates through the SHACL gate, per kind")
    parser.add_argument("--load-rounds", type=int, default=None, help="loads per loader (default 2 at 1M only, else 1)")
    parser.add_argument("--keep", action="store_true", help="keep the stores in bench/data/scale-*/")
    parser.add_argument("--light", default="10M", help="sizes at which only the selective named queries run "
                                                        "(the others take seconds at 1M and hit the 30 s limit at "
                                                        "10M; default 10M; '' for none)")
    parser.add_argument("--json", type=Path, default=BENCH / "scale-results.json")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    args.gros_venv = str(Path(args.gros_venv).resolve())  # the servers run in their own folders
    labels = [label.strip().upper() for label in args.scale.split(",")]
    args.sample_at = [label.strip().upper() for label in args.sample_at.split(",")]
    args.light = [label.strip().upper() for label in args.light.split(",") if label.strip()]
    for label in labels:
        if label not in SIZES:
            sys.exit(f"--scale {label}: expected one of {', '.join(SIZES)}")
    started = time.time()
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
               "conditions": {"load_before": " ".join(f"{v:.1f}" for v in os.getloadavg())},
               "settings": {k: v for k, v in vars(args).items() if k not in ("json", "out")}, "sizes": {}}
    for label in labels:  # the results so far are written after each size, so a long run is never lost
        rounds = args.load_rounds or (2 if label == "1M" else 1)
        results["sizes"][label] = run_size(argparse.Namespace(**{**vars(args), "load_rounds": rounds}), label,
                                           SIZES[label])
        results["conditions"]["load_after"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
        results["wall_minutes"] = (time.time() - started) / 60
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
        write_section(args.out, report(results))
    log(f"done in {results['wall_minutes']:.1f} min: {args.out}, {args.json}")


if __name__ == "__main__":
    main()
