"""Soak run of `gros serve` (issue #6): hours of traffic squeezed into minutes, to see whether
the service keeps answering, makes no errors and keeps its memory.

    make soak                      # 10 minutes (and a shorter second run, see below)
    make soak SOAK_SECONDS=180     # any duration

Run 1, mixed load: `--readers` clients send a mix of named queries (/queries/{name}), SPARQL
point lookups, label searches, aggregates and CONSTRUCTs, linked-data pages (/id/..., when the
server has them) and Graph Store reads; `--writers` clients add small resources with SPARQL
Update and Graph Store PUT and delete older ones again, so the store churns but does not grow
without end. Every request is timed; every `--sample` seconds the resident memory (RSS) of the
server's process tree (the server and its query workers) is read from /proc.

Run 2, time limit hit again and again: a server with `--query-timeout 2`, one client that only
sends a query no worker can finish (each one is stopped at the limit and its worker replaced),
and the other readers as in run 1. It shows what the others still get while that goes on.

The results are appended to bench/RESULTS.md under "Soak" (an older soak section is replaced)
and written in full to bench/soak-results.json. Only loopback addresses are used; every loop
stops by itself.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
RAW = ROOT / "bench" / "soak-results.json"
START, END = "<!-- soak:start -->", "<!-- soak:end -->"
TOKEN = "soak-token-0123456789abcdef"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
PREFIXES = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "


# --- the server ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    folder: Path
    cpu_seen: dict = field(default_factory=dict)  # pid -> CPU seconds last seen (workers come and go)

    def tree(self) -> list[int]:
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if parent == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def rss_mb(self) -> float:
        total = 0
        for pid in self.tree():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def cpu_seconds(self) -> float:
        """CPU time of the server and every worker it ever had (a killed worker keeps its share)."""
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in self.tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.cpu_seen[pid] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                pass
        return sum(self.cpu_seen.values())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(gros: Path, folder: Path, *flags: str) -> Server:
    root = folder / "root"
    if not root.exists():
        for name in ("ontology", "data", "shapes", "queries"):
            shutil.copytree(ROOT / name, root / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
    env["GROS_UPDATE_TOKEN"] = TOKEN
    log = (folder / "server.log").open("ab")
    process = subprocess.Popen([str(gros), "serve", "--root", str(root), "--store", str(folder / "store"),
                                "--port", str(port), *flags], stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", process, folder)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gros serve exited with {process.returncode}; see {folder / 'server.log'}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit("gros serve did not start within 180 s")


# --- the workload --------------------------------------------------------------------------------------

@dataclass
class Sample:
    at: float  # seconds since the start of the run
    kind: str
    status: int  # 0: no response (connection error or client timeout)
    seconds: float


@dataclass
class Recorder:
    began: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = call()
            status = response.status_code
            if status == 200 and response.headers.get("content-type", "").startswith("application/sparql-results+json"):
                response.json()  # a body that does not parse is an error too
        except (httpx.HTTPError, ValueError):
            response, status = None, 0
        with self.lock:
            self.samples.append(Sample(started - self.began, kind, status, time.monotonic() - started))
        return response


class Workload:
    """What the clients ask: chosen from the server's own content once, at the start."""

    def __init__(self, http: httpx.Client):
        rows = http.get("/sparql", params={"query": "SELECT DISTINCT ?s WHERE { ?s a ?t FILTER(STRSTARTS(STR(?s), "
                                                    "'https://w3id.org/gros/id/')) } LIMIT 300"},
                        headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
        self.subjects = [row["s"]["value"] for row in rows] or ["https://w3id.org/gros/id/region/limburg-nl"]
        listed = http.get("/queries", headers={"Accept": "application/json"})
        self.named = [q for q in listed.json()["queries"] if not any(p["required"] and p["default"] is None
                                                                      for p in q["parameters"])] \
            if listed.status_code == 200 else []
        page = http.get(self.subjects[0].replace("https://w3id.org/gros", ""), headers={"Accept": "text/html"})
        self.pages = page.status_code == 200
        graphs = http.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 20"},
                          headers={"Accept": "application/sparql-results+json"}).json()["results"]["bindings"]
        self.graphs = [row["g"]["value"] for row in graphs if not row["g"]["value"].endswith("/meta")]

    def request(self, http: httpx.Client, rng: random.Random):
        """(kind, a function that sends one request)."""
        choice = rng.random()
        subject = rng.choice(self.subjects)
        if choice < 0.25 and self.named:
            name = rng.choice(self.named)["name"]
            return "named query", lambda: http.get(f"/queries/{name}", headers={"Accept": "application/sparql-results+json"})
        if choice < 0.45:
            return "point lookup", lambda: http.get("/sparql", params={"query": f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}"},
                                                    headers={"Accept": "application/sparql-results+json"})
        if choice < 0.55:
            word = rng.choice(["euregio", "grens", "benelux", "limburg", "rijn", "maas", "vlaanderen", "niedersachsen"])
            query = (PREFIXES + f'SELECT ?s ?l WHERE {{ ?s rdfs:label ?l FILTER(CONTAINS(LCASE(STR(?l)), "{word}")) }} '
                                f'LIMIT 50')
            return "label search", lambda: http.get("/sparql", params={"query": query},
                                                    headers={"Accept": "application/sparql-results+json"})
        if choice < 0.65:
            query = "SELECT ?t (COUNT(?s) AS ?n) WHERE { ?s a ?t } GROUP BY ?t ORDER BY DESC(?n) LIMIT 20"
            return "aggregate", lambda: http.get("/sparql", params={"query": query},
                                                 headers={"Accept": "application/sparql-results+json"})
        if choice < 0.75:
            query = f"CONSTRUCT {{ <{subject}> ?p ?o . ?o ?q ?r }} WHERE {{ <{subject}> ?p ?o OPTIONAL {{ ?o ?q ?r }} }}"
            return "construct", lambda: http.get("/sparql", params={"query": query}, headers={"Accept": "text/turtle"})
        if choice < 0.9 and self.pages:
            path = subject.replace("https://w3id.org/gros", "")
            return "page", lambda: http.get(path, headers={"Accept": "text/html"})
        graph = rng.choice(self.graphs) if self.graphs else None
        if graph:
            return "graph store read", lambda: http.get("/rdf-graphs", params={"graph": graph},
                                                        headers={"Accept": "application/n-triples"})
        return "health", lambda: http.get("/health")


def reader(server: Server, workload: Workload, recorder: Recorder, until: float, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while time.monotonic() < until:
            kind, call = workload.request(http, rng)
            recorder.timed(kind, call)


def writer(server: Server, recorder: Recorder, until: float, number: int) -> None:
    """Adds a resource, and deletes the one it added ten writes ago: the store churns, not grows."""
    graph = f"https://w3id.org/gros/graph/soak-writer-{number}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    comment = "<http://www.w3.org/2000/01/rdf-schema#comment>"
    i = 0
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while time.monotonic() < until:
            subject = f"<https://example.org/soak/{number}/{i}>"
            text = f'INSERT DATA {{ GRAPH <{graph}> {{ {subject} {comment} "soak {number} {i}" }} }}'
            if i >= 10:
                old = f"<https://example.org/soak/{number}/{i - 10}>"
                text += f' ; DELETE DATA {{ GRAPH <{graph}> {{ {old} {comment} "soak {number} {i - 10}" }} }}'
            recorder.timed("update", lambda: http.post("/sparql", content=text.encode(), headers={
                **headers, "Content-Type": "application/sparql-update"}))
            if i % 5 == 0:
                body = f'{subject} {comment} "put {number} {i}" .\n'.encode()
                recorder.timed("graph store put", lambda: http.put(
                    "/rdf-graphs", params={"graph": f"{graph}-put"}, content=body,
                    headers={**headers, "Content-Type": "application/n-triples"}))
            i += 1
            time.sleep(0.05)


def runaway(server: Server, recorder: Recorder, until: float) -> None:
    with httpx.Client(base_url=server.url, timeout=120) as http:
        while time.monotonic() < until:
            recorder.timed("runaway", lambda: http.get("/sparql", params={"query": RUNAWAY}))


def sampler(server: Server, recorder: Recorder, until: float, every: float, memory: list, cpu: list) -> None:
    last_cpu, last_at = server.cpu_seconds(), time.monotonic()
    while time.monotonic() < until:
        time.sleep(min(every, max(0.0, until - time.monotonic())))
        now = time.monotonic()
        used = server.cpu_seconds()
        memory.append((round(now - recorder.began, 1), round(server.rss_mb(), 1)))
        cpu.append((round(now - recorder.began, 1), round((used - last_cpu) / max(now - last_at, 1e-6), 2)))
        last_cpu, last_at = used, now


def run(server: Server, seconds: float, readers: int, writers: int, sample_every: float, runaways: int = 0) -> dict:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        workload = Workload(http)
    recorder = Recorder()
    until = recorder.began + seconds
    memory, cpu = [], []
    threads = [threading.Thread(target=reader, args=(server, workload, recorder, until, seed)) for seed in range(readers)]
    threads += [threading.Thread(target=writer, args=(server, recorder, until, n)) for n in range(writers)]
    threads += [threading.Thread(target=runaway, args=(server, recorder, until)) for _ in range(runaways)]
    threads.append(threading.Thread(target=sampler, args=(server, recorder, until, sample_every, memory, cpu)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    health = httpx.get(server.url + "/health", timeout=30).json()
    # after the load: does the server go quiet (no runaway query left burning a CPU)?
    before, time_before = server.cpu_seconds(), time.monotonic()
    time.sleep(3)
    idle_cpu = (server.cpu_seconds() - before) / (time.monotonic() - time_before)
    return {"seconds": seconds, "readers": readers, "writers": writers, "runaways": runaways,
            "samples": [s.__dict__ for s in recorder.samples], "memory": memory, "cpu": cpu,
            "pages": workload.pages, "named_queries": len(workload.named), "health_after": health,
            "idle_cpu_after": round(idle_cpu, 3)}


# --- the report -------------------------------------------------------------------------------------------

def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def is_error(sample: dict) -> bool:
    return sample["status"] == 0 or sample["status"] >= 400


def summary(result: dict, exclude: tuple[str, ...] = ()) -> dict:
    samples = [s for s in result["samples"] if s["kind"] not in exclude]
    ok = [s for s in samples if not is_error(s)]
    return {"requests": len(samples), "per_second": len(ok) / result["seconds"], "errors": len(samples) - len(ok),
            "p50_ms": 1000 * statistics.median([s["seconds"] for s in ok]) if ok else float("nan"),
            "p99_ms": 1000 * p99([s["seconds"] for s in ok])}


def memory_growth(result: dict) -> tuple[float, float, float]:
    """(RSS at the end of warm-up, RSS at the end, growth in %). Warm-up: the first tenth, at most 60 s."""
    memory = result["memory"]
    if len(memory) < 2:
        return float("nan"), float("nan"), float("nan")
    warm = min(60.0, result["seconds"] / 10)
    after = [rss for at, rss in memory if at >= warm] or [memory[-1][1]]
    start, end = after[0], memory[-1][1]
    return start, end, 100 * (end - start) / start


def timeline(result: dict, buckets: int = 10) -> list[str]:
    width = result["seconds"] / buckets
    lines = ["| from s | requests/s | errors | p99 ms | RSS MB | server CPU (cores) |", "|---:|---:|---:|---:|---:|---:|"]
    for b in range(buckets):
        lo, hi = b * width, (b + 1) * width
        part = [s for s in result["samples"] if lo <= s["at"] < hi and s["kind"] != "runaway"]
        ok = [s for s in part if not is_error(s)]
        rss = [m for at, m in result["memory"] if lo <= at < hi + 1e-6]
        cpu = [c for at, c in result["cpu"] if lo <= at < hi + 1e-6]
        lines.append(f"| {lo:.0f} | {len(ok) / width:.1f} | {len(part) - len(ok)} | "
                     f"{1000 * p99([s['seconds'] for s in ok]):.1f} | {rss[-1] if rss else float('nan'):.0f} | "
                     f"{statistics.mean(cpu) if cpu else float('nan'):.2f} |")
    return lines


def kinds(result: dict) -> list[str]:
    lines = ["| request | count | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for kind in sorted({s["kind"] for s in result["samples"]}):
        part = [s for s in result["samples"] if s["kind"] == kind]
        ok = [s["seconds"] for s in part if not is_error(s)]
        statuses = sorted({s["status"] for s in part if is_error(s)})
        lines.append(f"| {kind} | {len(part)} | {len(part) - len(ok)}{f' ({statuses})' if statuses else ''} | "
                     f"{1000 * statistics.median(ok) if ok else float('nan'):.1f} | {1000 * p99(ok):.1f} |")
    return lines


def report(mixed: dict, limited: dict, args) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    one, two = summary(mixed), summary(limited, exclude=("runaway",))
    start_rss, end_rss, growth = memory_growth(mixed)
    runaways = [s for s in limited["samples"] if s["kind"] == "runaway"]
    stopped = sum(1 for s in runaways if s["status"] == 503)
    mixed_seconds = mixed["seconds"]
    short = mixed_seconds < 600
    lines = [
        "## Soak (issue #6)", "",
        f"Measured {when} by `bench/soak.py` (`make soak{f' SOAK_SECONDS={mixed_seconds:.0f}' if short else ''}`); "
        f"raw samples in `bench/soak-results.json`. {os.cpu_count()} cores; the load clients run on the same "
        f"machine as the server. Shipped data (ontology/ + data/), `gros serve` with its defaults "
        f"(2 query workers, 30 s time limit) and an update token.",
    ]
    if short:
        lines += ["", f"**This run lasted {mixed['seconds']:.0f} s, not the default 600 s** (the time this session had)."]
    lines += [
        "", f"### Run 1: mixed load, {mixed['seconds']:.0f} s, {args.readers} reading and {args.writers} writing clients", "",
        f"- {one['requests']:,} requests, **{one['per_second']:.1f} answered a second**, **{one['errors']} errors**, "
        f"p50 {one['p50_ms']:.1f} ms, **p99 {one['p99_ms']:.1f} ms**",
        f"- memory of the server's process tree: {start_rss:.0f} MB after warm-up, {end_rss:.0f} MB at the end: "
        f"**{growth:+.1f} %** (target: under 10 %)",
        f"- pages {'included' if mixed['pages'] else 'not served by this server: not included'}; "
        f"{mixed['named_queries']} named queries in the mix; after the run the server used "
        f"{mixed['idle_cpu_after']:.2f} cores when idle",
        "", *kinds(mixed), "", *timeline(mixed), "",
        f"### Run 2: the time limit hit again and again, {limited['seconds']:.0f} s", "",
        f"`gros serve --query-timeout {args.timeout_limit:g}`; one client sends only a query that no worker can "
        f"finish (a six-way cross product), {args.readers - 1} clients read as in run 1, {args.writers} write.", "",
        f"- the runaway client sent {len(runaways)} queries; {stopped} were stopped at the limit (503) and their "
        f"workers replaced (worker restarts reported by /health: {limited['health_after'].get('worker_restarts')})",
        f"- everyone else: {two['requests']:,} requests, {two['per_second']:.1f} answered a second, "
        f"{two['errors']} errors, p50 {two['p50_ms']:.1f} ms, p99 {two['p99_ms']:.1f} ms",
        f"- after the run the server used {limited['idle_cpu_after']:.2f} cores when idle: no stopped query "
        f"keeps a CPU",
        "", *kinds(limited), "", *timeline(limited), "",
    ]
    return "\n".join(lines)


def write_results(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{START}\n{section}\n{END}\n"
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)),
                        help="length of run 1 (default: SOAK_SECONDS, else 600)")
    parser.add_argument("--timeout-seconds", type=float, default=None,
                        help="length of run 2 (default: a third of run 1, at least 60 s)")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between memory samples")
    parser.add_argument("--timeout-limit", type=float, default=2.0, help="--query-timeout of run 2")
    parser.add_argument("--gros", type=Path, default=Path(sys.executable).with_name("gros"))
    args = parser.parse_args()
    second = args.timeout_seconds or max(60.0, args.seconds / 3)

    with tempfile.TemporaryDirectory(prefix="gros-soak-") as folder:
        folder = Path(folder)
        print(f"run 1: mixed load for {args.seconds:.0f} s", flush=True)
        server = start_server(args.gros, folder / "one")
        try:
            mixed = run(server, args.seconds, args.readers, args.writers, args.sample)
        finally:
            server.stop()
        print(f"run 2: the time limit hit repeatedly, {second:.0f} s", flush=True)
        server = start_server(args.gros, folder / "two", "--query-timeout", f"{args.timeout_limit:g}")
        try:
            limited = run(server, second, args.readers - 1, args.writers, args.sample, runaways=1)
        finally:
            server.stop()
    RAW.write_text(json.dumps({"mixed": mixed, "time_limit": limited}))
    section = report(mixed, limited, args)
    write_results(section)
    print(section)


if __name__ == "__main__":
    main()
