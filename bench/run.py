"""Benchmark `gros serve` against `oxigraph serve` and `rdflib-endpoint`.

Run with the peers' virtual environment (see bench/README.md, or `make bench`):

    bench/.venv-peers/bin/python bench/run.py            # shipped data + 1M triples
    bench/.venv-peers/bin/python bench/run.py --quick    # shipped data, short cells

For each dataset the three servers are started one after the other on 127.0.0.1 with the same
triples, then every cell (query x clients) is measured on each server in turn, the order of the
servers rotating per round, so that whatever else the machine does is shared between them.
Load comes from `wrk` (HTTP/1.1 keep-alive, one thread, N connections) or, without wrk, from an
asyncio client on httpx. Memory is the resident set of each server's whole process tree (query
workers included), sampled all along. Results go to bench/results.json and bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

import generate
import report

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
GRAPH_BASE = "https://w3id.org/gros/graph/"

PREFIXES = """PREFIX gros: <https://w3id.org/gros/def#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""

#: The four benchmark queries. {subject} and {region} are chosen per dataset (see choose_parameters).
QUERIES = {
    "point": ("point lookup: every triple of one body",
              "SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}"),
    "join": ("join: the bodies covering one region, with their members' English labels",
             PREFIXES + """SELECT ?body ?bodyLabel ?member ?memberLabel WHERE {{
  ?body gros:coversArea <{region}> .
  ?membership org:organization ?body ; org:member ?member .
  ?body rdfs:label ?bodyLabel .
  ?member rdfs:label ?memberLabel .
  FILTER(LANG(?bodyLabel) = "en" && LANG(?memberLabel) = "en")
}}"""),
    "aggregate": ("aggregate: members per body over all memberships (GROUP BY), top 100",
                  PREFIXES + """SELECT ?body (COUNT(DISTINCT ?member) AS ?members) WHERE {{
  ?membership org:organization ?body ; org:member ?member .
}} GROUP BY ?body ORDER BY DESC(?members) ?body LIMIT 100"""),
    "construct": ("CONSTRUCT of 1,000 label triples (N-Triples)",
                  PREFIXES + "CONSTRUCT {{ ?s rdfs:label ?label }} WHERE {{ ?s rdfs:label ?label }} LIMIT 1000"),
}
ACCEPT = {"point": "application/sparql-results+json", "join": "application/sparql-results+json",
          "aggregate": "application/sparql-results+json", "construct": "application/n-triples"}

SERVERS = ("gros", "oxigraph", "rdflib-endpoint")


# --- small helpers ------------------------------------------------------------------------------

def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, accept: str, timeout: float = 120.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def result_size(body: bytes, accept: str) -> int:
    """Rows of a JSON result, or lines of an N-Triples document."""
    if accept.endswith("json"):
        return len(json.loads(body)["results"]["bindings"])
    return sum(1 for line in body.splitlines() if line.strip() and not line.startswith(b"#"))


# --- process trees: memory and CPU --------------------------------------------------------------

def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes, summed over the tree. PSS shares pages between the processes fairly."""
    rss = pss = 0
    for proc in tree(pid):
        try:
            rss += proc.memory_info().rss
            with open(f"/proc/{proc.pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return rss, pss


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the tree's live processes."""
    total = 0.0
    for proc in tree(pid):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class MemorySampler(threading.Thread):
    """Peak RSS / PSS of a process tree, per phase ('load', 'serve')."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.phase = "load"
        self.peak: dict[str, dict[str, int]] = {}
        self.last = (0, 0)
        self.running = True

    def run(self) -> None:
        while self.running:
            rss, pss = tree_memory(self.pid)
            if rss:
                self.last = (rss, pss)
                peak = self.peak.setdefault(self.phase, {"rss": 0, "pss": 0})
                peak["rss"] = max(peak["rss"], rss)
                peak["pss"] = max(peak["pss"], pss)
            time.sleep(self.interval)

    def stop(self) -> None:
        self.running = False


class TreeCpu(threading.Thread):
    """CPU seconds used by process trees during a cell, sampled every 0.1 s per process, so that a
    process that ends during the cell still counts (gros replaces a query worker whose client
    leaves mid-response, which every closed-loop client does when it stops)."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.first: dict[str, dict[int, float]] = {name: {} for name in pids}
        self.last: dict[str, dict[int, float]] = {name: {} for name in pids}
        self.running = True
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        for name, pid in self.pids.items():
            for proc in tree(pid):
                try:
                    used = sum(proc.cpu_times()[:2])
                except psutil.NoSuchProcess:
                    continue
                self.first[name].setdefault(proc.pid, used if initial else 0.0)
                self.last[name][proc.pid] = used

    def run(self) -> None:
        while self.running:
            time.sleep(0.1)
            self.sample()

    def stop(self) -> dict[str, float]:
        self.running = False
        self.join()
        return {name: sum(self.last[name][pid] - self.first[name][pid] for pid in self.last[name])
                for name in self.pids}


def system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# --- the servers ----------------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    url: str  # the SPARQL query endpoint
    process: subprocess.Popen | None = None
    sampler: MemorySampler | None = None
    log_path: Path | None = None
    load_seconds: float = 0.0
    how: str = ""  # how the data got in

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        children = tree(self.process.pid)[1:]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for child in children:  # workers that outlived their parent, by their own pid only
            try:
                child.wait(timeout=5)
            except psutil.TimeoutExpired:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        if self.sampler:
            self.sampler.stop()


def wait_ready(server: Server, timeout: float) -> bool:
    """True once the endpoint answers a query; False if the process ended first."""
    probe = server.url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            status, _ = http_get(probe, "application/sparql-results+json", timeout=5)
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} did not answer within {timeout:.0f} s (log: {server.log_path})")


def launch(name: str, url: str, command: list[str], workdir: Path, env=None) -> Server:
    log_path = workdir / f"{name}.log"
    out = log_path.open("wb")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir,
                               start_new_session=True)
    server = Server(name, url, process=process, log_path=log_path)
    server.sampler = MemorySampler(process.pid)
    server.sampler.start()
    return server


def copy_content(target: Path, ontology: bool, data: bool) -> Path:
    for folder in ("ontology", "data", "shapes", "queries"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    for folder, wanted in (("ontology", ontology), ("data", data), ("shapes", True), ("queries", True)):
        if wanted and (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, target / folder, dirs_exist_ok=True)
    return target


def gros_can_restore(gros: str) -> bool:
    return subprocess.run([gros, "restore", "--help"], capture_output=True).returncode == 0


def load_gros_store(gros_venv: Path, store: Path, files: list[Path], workdir: Path) -> str:
    """Fill a new gros store with `files`, one runtime graph per file, without SHACL.

    With `gros restore` (the documented way to load a backup into a new store): the files are
    written as one N-Quads file, one graph per file, which `gros restore --no-checksum` bulk-loads
    and then checks quad by quad. Without it (older gros), pyoxigraph's bulk loader fills the
    store directly. gros keeps graphs that no content file owns across restarts, so the server
    serves them like any other graph.
    """
    python, gros = str(gros_venv / "bin" / "python"), str(gros_venv / "bin" / "gros")
    graphs = [GRAPH_BASE + "bench-" + path.stem for path in files]
    if gros_can_restore(gros):
        backup = workdir / "gros-backup.nq"
        script = (
            "import sys, pyoxigraph as ox\n"
            "out, pairs = sys.argv[1], sys.argv[2:]\n"
            "with open(out, 'wb') as sink:\n"
            "    for path, graph in zip(pairs[::2], pairs[1::2]):\n"
            "        fmt = ox.RdfFormat.from_extension(path.rsplit('.', 1)[1])\n"
            "        g = ox.NamedNode(graph)\n"
            "        quads = (ox.Quad(q.subject, q.predicate, q.object, g) for q in ox.parse(path=path, format=fmt))\n"
            "        ox.serialize(quads, sink, format=ox.RdfFormat.N_QUADS)\n"
        )
        pairs = [str(v) for path, graph in zip(files, graphs) for v in (path, graph)]
        subprocess.run([python, "-c", script, str(backup), *pairs], check=True)
        subprocess.run([gros, "restore", "--store", str(store), "--no-checksum", str(backup)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        backup.unlink()
        return "`gros restore --no-checksum` of the files as one N-Quads backup (one runtime graph per file, no SHACL)"
    script = (
        "import sys, pyoxigraph as ox\n"
        "store = ox.Store(sys.argv[1])\n"
        "for path, graph in zip(sys.argv[2::2], sys.argv[3::2]):\n"
        "    fmt = ox.RdfFormat.from_extension(path.rsplit('.', 1)[1])\n"
        "    store.bulk_load(path=path, format=fmt, to_graph=ox.NamedNode(graph))\n"
        "store.flush()\n"
    )
    pairs = [str(v) for path, graph in zip(files, graphs) for v in (path, graph)]
    subprocess.run([python, "-c", script, str(store), *pairs], check=True)
    return "store bulk-loaded with pyoxigraph into runtime graphs (this gros has no `restore`; no SHACL)"


def start_gros(args, dataset: dict, workdir: Path) -> Server:
    gros = str(Path(args.gros_venv) / "bin" / "gros")
    port = free_port()
    url = f"http://127.0.0.1:{port}/sparql"
    env = {**os.environ}
    env.pop("GROS_UPDATE_TOKEN", None)
    env.pop("GROS_ROOT", None)
    env.pop("GROS_STORE", None)
    started = time.time()
    if dataset["name"] == "shipped" and not args.gros_preload_shipped:
        root = copy_content(workdir / "gros-root", ontology=True, data=True)
        command = [gros, "serve", "--root", str(root), "--store", str(workdir / "gros-store"),
                   "--host", "127.0.0.1", "--port", str(port)]
        log("gros: starting on the shipped content (it validates everything first)")
        server = launch("gros", url, command, workdir, env)
        if wait_ready(server, args.start_timeout):
            server.load_seconds = time.time() - started
            server.how = "content root = ontology/ + data/ + shapes/ of the checkout, validated at start-up"
            return server
        server.stop()
        tail = server.log_path.read_text(errors="replace").strip().splitlines()[-1:]
        log(f"gros refused the shipped content ({'; '.join(tail)}); falling back to a preloaded store")
        dataset["gros_refused"] = " ".join(tail)
        shutil.rmtree(workdir / "gros-store", ignore_errors=True)
        started = time.time()
    # Preloaded: a content root with empty ontology/ and data/ (it validates trivially), and the
    # dataset bulk-loaded into runtime graphs of the store before start.
    root = copy_content(workdir / "gros-root-empty", ontology=False, data=False)
    store = workdir / "gros-store"
    how = load_gros_store(Path(args.gros_venv), store, dataset["files"], workdir)
    command = [gros, "serve", "--root", str(root), "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    server = launch("gros", url, command, workdir, env)
    if not wait_ready(server, args.start_timeout):
        raise RuntimeError(f"gros serve did not start; see {server.log_path}")
    server.load_seconds = time.time() - started
    server.how = how + "; content root with empty ontology/ and data/"
    return server


def start_oxigraph(args, dataset: dict, workdir: Path) -> Server:
    binary = str(Path(sys.executable).parent / "oxigraph")
    location = workdir / "oxigraph-store"
    started = time.time()
    for path in dataset["files"]:  # one named graph per file, as gros does
        graph = GRAPH_BASE + "bench-" + path.stem
        subprocess.run([binary, "load", "--location", str(location), "--file", str(path), "--graph", graph],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    server = launch("oxigraph", f"http://127.0.0.1:{port}/query",
                    [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                     "--union-default-graph"], workdir)
    if not wait_ready(server, args.start_timeout):
        raise RuntimeError(f"oxigraph serve did not start; see {server.log_path}")
    server.load_seconds = time.time() - started
    server.how = "`oxigraph load` (one named graph per file), `oxigraph serve --union-default-graph`"
    return server


def start_rdflib(args, dataset: dict, workdir: Path) -> Server:
    binary = str(Path(sys.executable).parent / "rdflib-endpoint")
    port = free_port()
    started = time.time()
    server = launch("rdflib-endpoint", f"http://127.0.0.1:{port}/",
                    [binary, "serve", "--host", "127.0.0.1", "--port", str(port), *map(str, dataset["files"])],
                    workdir)
    if not wait_ready(server, args.start_timeout):
        raise RuntimeError(f"rdflib-endpoint did not start; see {server.log_path}")
    server.load_seconds = time.time() - started
    server.how = "`rdflib-endpoint serve FILES` (rdflib in-memory Dataset, union default graph)"
    return server


STARTERS = {"gros": start_gros, "oxigraph": start_oxigraph, "rdflib-endpoint": start_rdflib}


# --- load generation ------------------------------------------------------------------------------

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"connect\\":%d,\\"read\\":%d," ..
    "\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p90\\":%d,\\"p99\\":%d,\\"max\\":%d}\\n",
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def run_wrk(url: str, accept: str, clients: int, seconds: float, timeout: float, script: Path) -> dict:
    command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", f"--timeout={int(timeout)}s",
               "-s", str(script), "-H", f"Accept: {accept}", url]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + timeout + 30).stdout
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line[len("WRKJSON "):])
            duration = raw["duration_us"] / 1e6
            errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
            ok = raw["requests"] - raw["status"]
            return {"requests": raw["requests"], "ok": ok, "errors": errors, "seconds": duration,
                    "rps": ok / duration if duration else 0.0,
                    "p50_ms": raw["p50"] / 1000, "p90_ms": raw["p90"] / 1000, "p99_ms": raw["p99"] / 1000,
                    "max_ms": raw["max"] / 1000, "bytes": raw["bytes"]}
    raise RuntimeError(f"wrk gave no result:\n{output}")


def run_python_client(url: str, accept: str, clients: int, seconds: float, timeout: float) -> dict:
    """The same measurement with an asyncio client (httpx, HTTP/1.1 keep-alive), when wrk is absent."""
    import asyncio

    import httpx

    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0, "bytes": 0}

    async def one_client(deadline: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(http1=True, http2=False, limits=limits, timeout=timeout) as client:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(url, headers={"Accept": accept})
                    body = response.content
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                if time.perf_counter() > deadline:
                    break  # finished after the end: not counted, as wrk does
                latencies.append(time.perf_counter() - started)
                counts["bytes"] += len(body)
                counts["ok" if response.status_code == 200 else "errors"] += 1

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one_client(started + seconds) for _ in range(clients)))
        return time.perf_counter() - started

    duration = asyncio.run(main())
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {"requests": counts["ok"] + counts["errors"], "ok": counts["ok"], "errors": counts["errors"],
            "seconds": duration, "rps": counts["ok"] / duration, "p50_ms": pct(0.5), "p90_ms": pct(0.9),
            "p99_ms": pct(0.99), "max_ms": latencies[-1] * 1000 if latencies else 0.0, "bytes": counts["bytes"]}


def settle(servers: list[Server], limit: float = 90.0, quiet: float = 0.0, streak: int = 1) -> float:
    """Wait until no server uses CPU for `streak` windows of 0.3 s (a slow query may still run after
    its client left; gros respawns the workers of abandoned requests), then up to `quiet` seconds
    more for the rest of the machine to be idle too (other people's jobs)."""
    started = time.time()
    calm = 0
    while time.time() - started < limit:
        before = {s.name: tree_cpu(s.pid) for s in servers}
        time.sleep(0.3)
        busy = max(tree_cpu(s.pid) - before[s.name] for s in servers)
        calm = calm + 1 if busy < 0.03 else 0  # under 10% of a core
        if calm >= streak:
            break
    waited = time.time()
    while time.time() - waited < quiet:
        busy0, total0 = system_busy()
        time.sleep(0.5)
        busy1, total1 = system_busy()
        if (busy1 - busy0) / max(1, total1 - total0) * (psutil.cpu_count() or 1) < 0.25:
            break
    return time.time() - started


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- parameters and sanity ----------------------------------------------------------------------

def choose_parameters(server: Server) -> dict:
    """The body and region the queries use: the body with most memberships, and the region whose
    covering bodies have most memberships (same rule on every dataset)."""
    def first(query: str) -> str | None:
        status, body = http_get(server.url + "?" + urllib.parse.urlencode({"query": PREFIXES + query}),
                                "application/sparql-results+json")
        rows = json.loads(body)["results"]["bindings"] if status == 200 else []
        return rows[0]["x"]["value"] if rows else None

    subject = first("SELECT ?x (COUNT(?m) AS ?n) WHERE { ?m org:organization ?x } GROUP BY ?x "
                    "ORDER BY DESC(?n) ?x LIMIT 1") or first("SELECT ?x WHERE { ?x ?p ?o } ORDER BY ?x LIMIT 1")
    region = first("SELECT ?x (COUNT(?m) AS ?n) WHERE { ?b gros:coversArea ?x . ?m org:organization ?b } "
                   "GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT 1") or "https://w3id.org/gros/id/region/none"
    return {"subject": subject, "region": region}


def query_url(server: Server, query: str) -> str:
    return server.url + "?" + urllib.parse.urlencode({"query": query})


# --- one dataset --------------------------------------------------------------------------------

def run_dataset(args, dataset: dict, results: dict) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"gros-bench-{dataset['name']}-"))
    servers: list[Server] = []
    entry = results["datasets"].setdefault(dataset["name"], {"label": dataset["label"], "servers": {}, "cells": []})
    try:
        for name in SERVERS:  # one after the other, so that loading does not compete
            log(f"{dataset['name']}: starting {name}")
            server = STARTERS[name](args, dataset, workdir)
            server.sampler.phase = "serve"
            servers.append(server)
            log(f"{dataset['name']}: {name} ready in {server.load_seconds:.1f} s")
        if dataset.get("gros_refused"):
            entry["gros_refused"] = dataset["gros_refused"]
        by_name = {s.name: s for s in servers}
        params = choose_parameters(by_name["oxigraph"])
        entry["parameters"] = params
        queries = {key: text.format(**params) for key, (_, text) in QUERIES.items()}
        entry["queries"] = queries
        triples_status, triples_body = http_get(query_url(by_name["oxigraph"], "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"),
                                                "application/sparql-results+json")
        entry["triples"] = int(json.loads(triples_body)["results"]["bindings"][0]["n"]["value"])
        log(f"{dataset['name']}: {entry['triples']} triples; parameters {params}")

        # Sanity and warm-up: every server answers every query, with the same number of rows.
        entry["answers"] = {}
        for key, query in queries.items():
            for server in servers:
                started = time.perf_counter()
                status, body = http_get(query_url(server, query), ACCEPT[key], timeout=args.request_timeout)
                elapsed = time.perf_counter() - started
                size = result_size(body, ACCEPT[key]) if status == 200 else None
                entry["answers"].setdefault(key, {})[server.name] = {"status": status, "rows": size,
                                                                      "bytes": len(body), "first_ms": elapsed * 1000}
            settle(servers)
        wrk_script = workdir / "report.lua"
        wrk_script.write_text(WRK_SCRIPT)
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        results["client"] = "wrk 1 thread, HTTP/1.1 keep-alive" if use_wrk else "httpx asyncio, HTTP/1.1 keep-alive"

        cells = [(key, clients) for key in queries for clients in args.clients]
        for round_number in range(args.rounds):
            order = servers[round_number % len(servers):] + servers[:round_number % len(servers)]
            for key, clients in cells:
                for server in order:
                    settle(servers, quiet=args.quiet_wait)
                    busy0, total0 = system_busy()
                    client0 = children_cpu()
                    watch = TreeCpu({s.name: s.pid for s in servers})
                    watch.start()
                    url = query_url(server, queries[key])
                    if use_wrk:
                        cell = run_wrk(url, ACCEPT[key], clients, args.duration, args.request_timeout, wrk_script)
                    else:
                        cell = run_python_client(url, ACCEPT[key], clients, args.duration, args.request_timeout)
                    used = watch.stop()
                    busy1, total1 = system_busy()
                    cpus = psutil.cpu_count() or 1
                    seconds = max(cell["seconds"], 1e-9)
                    machine = (busy1 - busy0) / max(1, total1 - total0) * cpus  # cores busy, all processes
                    own = used[server.name] / seconds
                    others = sum(used[s.name] for s in servers if s is not server) / seconds
                    client = (children_cpu() - client0) / seconds
                    cell.update({"server": server.name, "query": key, "clients": clients, "round": round_number,
                                 "server_cores": own, "client_cores": client, "machine_cores": machine,
                                 "other_servers_cores": others,
                                 "background_cores": max(0.0, machine - own - client - others)})
                    entry["cells"].append(cell)
                    log(f"{dataset['name']} r{round_number} {key:9} c{clients} {server.name:16} "
                        f"{cell['rps']:9.1f} req/s  p50 {cell['p50_ms']:8.2f} ms  p99 {cell['p99_ms']:8.2f} ms  "
                        f"err {cell['errors']}  cores: server {own:.2f} client {client:.2f} "
                        f"background {cell['background_cores']:.2f}")
        settle(servers)
        for server in servers:
            rss, pss = server.sampler.last
            entry["servers"][server.name] = {
                "how": server.how, "load_seconds": server.load_seconds,
                "peak_load": server.sampler.peak.get("load", {"rss": 0, "pss": 0}),
                "peak_serve": server.sampler.peak.get("serve", {"rss": 0, "pss": 0}),
                "end": {"rss": rss, "pss": pss},
                "processes": len(tree(server.pid)),
            }
        if args.profile and dataset["name"] in args.profile_datasets:
            import profile_gros
            entry["profile"] = profile_gros.profile(args, by_name["gros"], query_url(by_name["gros"], queries["point"]),
                                                    ACCEPT["point"], workdir, DATA / "profiles")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- the whole run --------------------------------------------------------------------------------

def machine() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("oxigraph", "rdflib-endpoint", "rdflib", "psutil", "httpx"):
        try:
            from importlib.metadata import version
            versions[package] = version(package)
        except Exception:
            pass
    return {"cores": psutil.cpu_count(), "cpu": model, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "kernel": platform.release(), "peers": versions}


def gros_versions(gros_venv: str) -> dict:
    script = ("import json\nfrom importlib.metadata import version as v\nout={}\n"
              "for p in ('gros-kg','pyoxigraph','fastapi','starlette','uvicorn','uvloop','httptools','rdflib','pyshacl'):\n"
              "    try: out[p]=v(p)\n    except Exception: out[p]=None\nprint(json.dumps(out))")
    output = subprocess.run([str(Path(gros_venv) / "bin" / "python"), "-c", script], capture_output=True, text=True)
    return json.loads(output.stdout or "{}")


def datasets(args) -> list[dict]:
    chosen = []
    for name in args.datasets:
        if name == "shipped":
            files = sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "data").glob("*.ttl"))
            chosen.append({"name": "shipped", "label": "shipped data (ontology/ + data/ of the checkout)",
                           "files": files})
        elif name == "synthetic":
            log(f"generating {args.triples} triples (cached in bench/data/)")
            path = generate.ensure(DATA, args.triples)
            chosen.append({"name": "synthetic", "label": f"generated graph, {args.triples:,} triples "
                                                          f"(bench/generate.py)", "files": [path]})
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark gros serve against oxigraph serve and rdflib-endpoint.")
    parser.add_argument("--quick", action="store_true", help="smoke run: shipped data only, short cells, one round")
    parser.add_argument("--datasets", default=None, help="comma-separated: shipped,synthetic (default both)")
    parser.add_argument("--triples", type=int, default=1_000_000, help="size of the generated graph")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measured cell (default 4; quick 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds over all cells (default 2; quick 1; 0: only start, check and profile)")
    parser.add_argument("--clients", default="1,4", help="concurrent clients per cell (default 1,4)")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds before a request counts as failed")
    parser.add_argument("--start-timeout", type=float, default=900.0, help="seconds a server may take to load")
    parser.add_argument("--gros-venv", default=str(ROOT / ".venv"), help="virtual environment with gros installed")
    parser.add_argument("--gros-preload-shipped", action="store_true",
                        help="preload the shipped data too, instead of serving it as validated content")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="at most this many seconds before each cell for other processes to go idle (default 1.5; quick 0.5)")
    parser.add_argument("--python-client", action="store_true", help="use the httpx client even if wrk is installed")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="profile gros serve on the point lookup (default: on, off with --quick)")
    parser.add_argument("--profile-datasets", default="shipped", help="datasets to profile on (default shipped)")
    parser.add_argument("--profile-seconds", type=float, default=12.0)
    parser.add_argument("--json", type=Path, default=BENCH / "results.json")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    args.datasets = (args.datasets or ("shipped" if args.quick else "shipped,synthetic")).split(",")
    args.duration = args.duration or (2.0 if args.quick else 4.0)
    args.quiet_wait = args.quiet_wait if args.quiet_wait is not None else (0.5 if args.quick else 1.5)
    args.rounds = args.rounds if args.rounds is not None else (1 if args.quick else 2)
    args.clients = [int(c) for c in args.clients.split(",")]
    args.profile = (not args.quick) if args.profile is None else args.profile
    args.profile_datasets = args.profile_datasets.split(",")

    args.gros_venv = str(Path(args.gros_venv).resolve())
    if not (Path(args.gros_venv) / "bin" / "gros").exists():
        sys.exit(f"no gros in {args.gros_venv}; run `make install` first")
    started = time.time()
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
               "gros": gros_versions(args.gros_venv), "quick": args.quick,
               "settings": {"duration": args.duration, "rounds": args.rounds, "clients": args.clients,
                            "triples": args.triples, "quiet_wait": args.quiet_wait},
               "queries": {key: title for key, (title, _) in QUERIES.items()}, "datasets": {}}
    for dataset in datasets(args):
        run_dataset(args, dataset, results)
    results["wall_seconds"] = time.time() - started
    args.json.write_text(json.dumps(results, indent=1))
    report.write(results, args.out)
    log(f"done in {results['wall_seconds'] / 60:.1f} min: {args.out}")


if __name__ == "__main__":
    main()
