"""Soak run of `gros serve`: hours of traffic squeezed into minutes, to see whether
the service keeps answering, makes no errors and keeps its memory.

    make soak                      # 10 minutes (and two shorter runs, see below)
    make soak SOAK_SECONDS=180     # any duration

Run 1, mixed load: `--readers` clients send a mix of named queries (/queries/{name}), SPARQL
point lookups, label searches, aggregates and CONSTRUCTs, linked-data pages (/id/..., when the
server has them) and Graph Store reads; `--writers` clients write with SPARQL Update and the
Graph Store protocol. By default (`--mix churn`) they delete again what they added, so the store
keeps its size and memory that grows is kept by the service, not by the data. Every request is
timed; every `--sample` seconds the resident memory (RSS) of the `gros serve` process tree (the
arbiter; the writer and the serving processes) is read from /proc, with its anonymous (heap) part, and the size of the store and of the
snapshot folder on disk.

Run 2, time limit hit again and again: a server with `--query-timeout 2`, one client that only
sends a query no worker can finish (each one is stopped at the limit and its worker replaced),
and the other readers as in run 1. It shows what the others still get while that goes on.

Run 3, a growing store: as run 1, but the writers only add (`--mix grow`), for the memory that
comes with more data (per 1,000 writes, against run 1's).

The results replace the "Soak" section of bench/RESULTS.md and are written in full to
bench/soak-results.json. For a diagnosis: `--first-only --mix grow|churn|read --output FILE`
compares write patterns without touching RESULTS.md, and `--trace-memory FILE` runs the server
under bench/memtrace.py (tracemalloc). Only loopback addresses are used; every loop stops by
itself.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
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

    def memory(self) -> dict:
        """RSS in MB of the `gros serve` process, gunicorn's arbiter ("main"), of its child
        processes together ("workers": the writer, the serving processes and multiprocessing's
        small resource tracker) and of all ("tree"); with
        the anonymous part of each (heap: what a leak grows) apart from the file-backed part
        (mapped table files and libraries, which the kernel can take back)."""
        out = {"tree": 0.0, "main": 0.0, "workers": 0.0, "main_anon": 0.0, "workers_anon": 0.0, "worker_count": 0}
        for pid in self.tree():
            status = _status(pid)
            if "VmRSS" not in status:
                continue
            part = "main" if pid == self.process.pid else "workers"
            out["tree"] += status["VmRSS"] / 1024
            out[part] += status["VmRSS"] / 1024
            out[part + "_anon"] += status.get("RssAnon", 0) / 1024
            out["worker_count"] += part == "workers" and _is_serving(pid)
        return {k: round(v, 1) for k, v in out.items()}

    def rss_mb(self) -> float:
        return self.memory()["tree"]

    def disk_mb(self) -> dict:
        """MB on disk of the live store, and of what the snapshot folder (the workers' and pages'
        checkpoints) holds beyond it: checkpoints hard-link the store's table files, which
        count once, with the store, as long as the store still has them."""
        def files(path: Path) -> tuple[dict[int, int], int]:
            """{inode: size} of the files under `path`, and how many snapshot folders it holds.
            The service deletes folders while this walks: what vanishes is skipped."""
            found, folders = {}, 0
            for parent, subfolders, names in os.walk(path):  # os.walk ignores errors
                folders += sum(1 for name in subfolders if name.startswith("rev-"))
                for name in names:
                    try:
                        stat = os.lstat(os.path.join(parent, name))
                    except OSError:
                        continue
                    found[stat.st_ino] = stat.st_size
            return found, folders
        store, _ = files(self.folder / "store")
        snapshots, count = files(self.folder / "store.snapshots")
        extra = sum(size for inode, size in snapshots.items() if inode not in store)
        return {"store": round(sum(store.values()) / 1e6, 1), "snapshots": round(extra / 1e6, 1),
                "snapshot_folders": count}


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


def start_server(gros: Path, folder: Path, *flags: str, trace: Path | None = None) -> Server:
    """`gros serve` on a copy of the content; with `trace`, under bench/memtrace.py, which
    writes tracemalloc's view of the server process's Python allocations to that file."""
    root = folder / "root"
    if not root.exists():
        for name in ("ontology", "data", "shapes", "queries"):
            shutil.copytree(ROOT / name, root / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
    env["GROS_UPDATE_TOKEN"] = TOKEN
    log = (folder / "server.log").open("ab")
    command = [str(gros)] if trace is None else [sys.executable, str(ROOT / "bench" / "memtrace.py"), str(trace)]
    process = subprocess.Popen([*command, "serve", "--root", str(root), "--store", str(folder / "store"),
                                "--port", str(port), *flags], stdout=log, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", process, folder)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gros serve exited with {process.returncode}; see {folder / 'server.log'}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                if trace is not None:
                    process.send_signal(signal.SIGUSR1)  # start tracing now (memtrace.py)
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit("gros serve did not start within 180 s")


def _is_serving(pid: int) -> bool:
    """A serving process: forked by the arbiter (the writer and the resource tracker are started by
    multiprocessing, whose command line says so)."""
    try:
        return b"multiprocessing" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/status (empty when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    out = {}
    for line in lines:
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


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


def _select(http: httpx.Client, query: str) -> list[dict]:
    """Rows of a set-up query; asked again when it fails (run 2's 2-second limit on a busy machine)."""
    failure = ""
    for attempt in range(10):
        try:
            response = http.get("/sparql", params={"query": query},
                                headers={"Accept": "application/sparql-results+json"})
        except httpx.HTTPError as err:  # a connection reset on a machine busy with other servers
            failure = repr(err)
        else:
            if response.status_code == 200:
                return response.json()["results"]["bindings"]
            failure = f"{response.status_code}: {response.text[:200]}"
        time.sleep(1 + attempt)
    raise SystemExit(f"the set-up query failed ten times ({failure})")


class Workload:
    """What the clients ask: chosen from the server's own content once, at the start."""

    def __init__(self, http: httpx.Client):
        rows = _select(http, "SELECT DISTINCT ?s WHERE { ?s a ?t FILTER(STRSTARTS(STR(?s), "
                             "'https://w3id.org/gros/id/')) } LIMIT 300")
        self.subjects = [row["s"]["value"] for row in rows] or ["https://w3id.org/gros/id/region/limburg-nl"]
        listed = http.get("/queries", headers={"Accept": "application/json"})
        self.named = [q for q in listed.json()["queries"] if not any(p["required"] and p["default"] is None
                                                                      for p in q["parameters"])] \
            if listed.status_code == 200 else []
        page = http.get(self.subjects[0].replace("https://w3id.org/gros", ""), headers={"Accept": "text/html"})
        self.pages = page.status_code == 200
        graphs = _select(http, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 20")
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


#: What the writers do (--mix). "churn": each write adds a resource and deletes the one added ten
#: writes before, and every fifth replaces a graph by PUT, so the number of triples stays flat:
#: memory that grows then is kept by the service, not by the data. "grow": the same writes
#: without the deletes, and POST (add) instead of PUT, so the store grows with every write.
#: "read": no writers.
MIXES = ("churn", "grow", "read")
MIX_TEXT = {"churn": "each write adds a resource and deletes the one added ten writes before; every fifth "
                     "also replaces a small graph: the store stays the same size",
            "grow": "each write adds a resource, every fifth also adds to a small graph; nothing is deleted",
            "read": "no writers"}


def writer(server: Server, recorder: Recorder, until: float, number: int, mix: str = "churn") -> None:
    graph = f"https://w3id.org/gros/graph/soak-writer-{number}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    comment = "<http://www.w3.org/2000/01/rdf-schema#comment>"
    i = 0
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while time.monotonic() < until:
            subject = f"<https://example.org/soak/{number}/{i}>"
            text = f'INSERT DATA {{ GRAPH <{graph}> {{ {subject} {comment} "soak {number} {i}" }} }}'
            if i >= 10 and mix == "churn":
                old = f"<https://example.org/soak/{number}/{i - 10}>"
                text += f' ; DELETE DATA {{ GRAPH <{graph}> {{ {old} {comment} "soak {number} {i - 10}" }} }}'
            recorder.timed("update", lambda: http.post("/sparql", content=text.encode(), headers={
                **headers, "Content-Type": "application/sparql-update"}))
            if i % 5 == 0:
                body = f'{subject} {comment} "put {number} {i}" .\n'.encode()
                send = http.put if mix == "churn" else http.post
                recorder.timed("graph store put" if mix == "churn" else "graph store post", lambda: send(
                    "/rdf-graphs", params={"graph": f"{graph}-put"}, content=body,
                    headers={**headers, "Content-Type": "application/n-triples"}))
            i += 1
            time.sleep(0.05)


#: The runaway client's own address: the service refuses an address for a while after its query
#: was stopped at the time limit (server/gros/penalties.py), and the other clients use 127.0.0.1.
RUNAWAY_ADDRESS = "127.0.0.2"


def runaway(server: Server, recorder: Recorder, until: float) -> None:
    """Sends the runaway query again and again; when refused (429) it tries again after Retry-After,
    but at least once a second, like a script that retries."""
    transport = httpx.HTTPTransport(local_address=RUNAWAY_ADDRESS)
    with httpx.Client(base_url=server.url, timeout=120, transport=transport) as http:
        while time.monotonic() < until:
            response = recorder.timed("runaway", lambda: http.get("/sparql", params={"query": RUNAWAY}))
            if response is not None and response.status_code == 429:
                time.sleep(min(1.0, float(response.headers.get("Retry-After", 1))))


def sampler(server: Server, recorder: Recorder, until: float, every: float, memory: list, cpu: list,
            detail: list) -> None:
    last_cpu, last_at = server.cpu_seconds(), time.monotonic()
    while time.monotonic() < until:
        time.sleep(min(every, max(0.0, until - time.monotonic())))
        now = time.monotonic()
        used = server.cpu_seconds()
        at = round(now - recorder.began, 1)
        parts = server.memory()
        memory.append((at, parts["tree"]))
        cpu.append((at, round((used - last_cpu) / max(now - last_at, 1e-6), 2)))
        with recorder.lock:
            writes = sum(1 for s in recorder.samples if s.kind in WRITES and not is_error(s.__dict__))
        detail.append({"at": at, **parts, **server.disk_mb(), "writes": writes, "load": os.getloadavg()[0]})
        last_cpu, last_at = used, now


WRITES = ("update", "graph store put", "graph store post")


def run(server: Server, seconds: float, readers: int, writers: int, sample_every: float, runaways: int = 0,
        mix: str = "churn") -> dict:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        workload = Workload(http)
    recorder = Recorder()
    until = recorder.began + seconds
    memory, cpu, detail = [], [], []
    writers = 0 if mix == "read" else writers
    threads = [threading.Thread(target=reader, args=(server, workload, recorder, until, seed)) for seed in range(readers)]
    threads += [threading.Thread(target=writer, args=(server, recorder, until, n, mix)) for n in range(writers)]
    threads += [threading.Thread(target=runaway, args=(server, recorder, until)) for _ in range(runaways)]
    threads.append(threading.Thread(target=sampler, args=(server, recorder, until, sample_every, memory, cpu, detail)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    health = httpx.get(server.url + "/health", timeout=30).json()
    # after the load: does the server go quiet (no runaway query left burning a CPU)?
    before, time_before = server.cpu_seconds(), time.monotonic()
    time.sleep(3)
    idle_cpu = (server.cpu_seconds() - before) / (time.monotonic() - time_before)
    return {"seconds": seconds, "readers": readers, "writers": writers, "runaways": runaways, "mix": mix,
            "samples": [s.__dict__ for s in recorder.samples], "memory": memory, "cpu": cpu,
            "memory_detail": detail, "load_average": statistics.mean(d["load"] for d in detail) if detail else float("nan"),
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


def parts_growth(result: dict) -> dict:
    """Memory by process at the end of warm-up and at the end, the writes in between, and the
    growth per 1,000 of those writes (MB): what a leak per write would show."""
    detail = result.get("memory_detail") or []
    if len(detail) < 2:
        return {}
    warm = min(60.0, result["seconds"] / 10)
    first = next((d for d in detail if d["at"] >= warm), detail[-1])
    last = detail[-1]
    writes = last["writes"] - first["writes"]
    out = {"writes": writes, "first": first, "last": last}
    for key in ("tree", "main", "workers", "store"):
        out[key] = last[key] - first[key]
        out[key + "_per_1000"] = 1000 * (last[key] - first[key]) / writes if writes else float("nan")
    return out


def load_line(result: dict) -> str:
    """The machine's load during the run: the clients share it with the server, and anything else
    running at the time takes from both."""
    return (f"- the machine's load average during the run: {result.get('load_average', float('nan')):.1f} "
            f"on {os.cpu_count()} cores (soak clients, server, and whatever else ran)")


def memory_summary(result: dict) -> list[str]:
    """Bullets: the tree's growth, then which process grew, and by how much per 1,000 writes."""
    start, end, growth = memory_growth(result)
    parts = parts_growth(result)
    lines = [f"- memory of the server's process tree: {start:.0f} MB after warm-up, {end:.0f} MB at the end: "
             f"**{growth:+.1f} %** (target: under 10 %)"]
    memory = result["memory"]
    half = [rss for at, rss in memory if at >= result["seconds"] / 2]
    if len(half) >= 2:
        # Caches that fill up to their bound grow early and then stay; a leak grows to the end.
        lines.append(f"- second half of the run: {half[0]:.0f} → {half[-1]:.0f} MB "
                     f"({100 * (half[-1] - half[0]) / half[0]:+.1f} %)")
    if parts:
        first, last = parts["first"], parts["last"]
        per = (f"; per 1,000 writes: arbiter {parts['main_per_1000']:+.1f} MB, writer and serving processes "
               f"{parts['workers_per_1000']:+.1f} MB, store on disk {parts['store_per_1000']:+.1f} MB"
               if parts["writes"] else "")
        lines.append(f"- by process: the arbiter {first['main']:.0f} → {last['main']:.0f} MB, the writer and the "
                     f"serving processes {first['workers']:.0f} → {last['workers']:.0f} MB; {parts['writes']:,} writes "
                     f"acknowledged after warm-up{per}")
    return lines


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


def memory_lines(result: dict, buckets: int = 10) -> list[str]:
    """Memory by process over time: the arbiter, and the writer with the serving processes, each with its
    anonymous (heap) part; the store and the snapshots on disk; writes acknowledged so far."""
    detail = result.get("memory_detail") or []
    lines = ["| at s | writes | arbiter RSS MB (heap) | writer + serving RSS MB (heap) | serving processes | store MB | "
             "snapshots MB (folders) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    if not detail:
        return lines
    step = max(1, round(len(detail) / buckets))
    for d in [*detail[::step][:buckets], detail[-1]] if (len(detail) - 1) % step else detail[::step]:
        lines.append(f"| {d['at']:.0f} | {d['writes']} | {d['main']:.0f} ({d['main_anon']:.0f}) | "
                     f"{d['workers']:.0f} ({d['workers_anon']:.0f}) | {d['worker_count']} | {d['store']:.1f} | "
                     f"{d['snapshots']:.1f} ({d['snapshot_folders']}) |")
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


#: What earlier soaks found, for reading the memory figures (the diagnosis: bench/memtrace.py,
#: `--mix`, and the per-process columns above).
HISTORY = [
    "Earlier: the 10-minute soak of 2026-11-27 grew the process tree from 380 to 455 MB (+19.8 %), "
    "nearly all of it in the server process, with a flat Python heap (tracemalloc) and no growth "
    "without writes. The first cause was glibc's per-thread malloc arenas (`server/gros/arenas.py`); "
    "`gros serve` now caps them at two (180 s churn runs, alternated in one session: the server "
    "process grew +8 and +30 MB per 1,000 writes with the cap, +47 and +91 without, at no lower "
    "throughput). The second: RocksDB appends every change of its file set to one MANIFEST (about "
    "3.4 KB a write, `bench/manifest_growth.py`) that each checkpoint copies and each read-only open "
    "replays, until the store is opened again; the writer now reopens the store every 200 writes "
    "(`GROS_STORE_REOPEN_EVERY`, store.py). The first soak with both (2026-11-28 04:20) grew +2.0 % "
    "over 10 minutes in run 1.",
]


def report(mixed: dict, limited: dict, growing: dict | None, args) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    one, two = summary(mixed), summary(limited, exclude=("runaway",))
    runaways = [s for s in limited["samples"] if s["kind"] == "runaway"]
    stopped = sum(1 for s in runaways if s["status"] == 503)
    refused = sum(1 for s in runaways if s["status"] == 429)
    mixed_seconds = mixed["seconds"]
    short = mixed_seconds < 600
    lines = [
        "## Soak", "",
        f"Measured {when} by `bench/soak.py` (`make soak{f' SOAK_SECONDS={mixed_seconds:.0f}' if short else ''}`); "
        f"raw samples in `bench/soak-results.json`. {os.cpu_count()} cores; the load clients run on the same "
        f"machine as the server. Shipped data (ontology/ + data/), `gros serve` with its defaults "
        f"(2 serving processes, 30 s time limit) and an update token.",
    ]
    if short:
        lines += ["", f"**This run lasted {mixed['seconds']:.0f} s, not the default 600 s** (the time this session had)."]
    lines += [
        "", f"### Run 1: mixed load, {mixed['seconds']:.0f} s, {args.readers} reading and {args.writers} writing clients", "",
        f"Writers: `{mixed['mix']}` ({MIX_TEXT[mixed['mix']]}).", "",
        f"- {one['requests']:,} requests, **{one['per_second']:.1f} answered a second**, **{one['errors']} errors**, "
        f"p50 {one['p50_ms']:.1f} ms, **p99 {one['p99_ms']:.1f} ms**",
        *memory_summary(mixed),
        load_line(mixed),
        f"- pages {'included' if mixed['pages'] else 'not served by this server: not included'}; "
        f"{mixed['named_queries']} named queries in the mix; after the run the server used "
        f"{mixed['idle_cpu_after']:.2f} cores when idle",
        "", *kinds(mixed), "", *timeline(mixed), "",
        "Memory by process (heap: the anonymous part of the resident set; the rest is mapped files: "
        "code and the store's table files). Snapshots: what the snapshot folder holds beyond the "
        "live store's files.", "", *memory_lines(mixed), "", *HISTORY, "",
        f"### Run 2: the time limit hit again and again, {limited['seconds']:.0f} s", "",
        f"`gros serve --query-timeout {args.timeout_limit:g}` (so a client whose query is stopped waits "
        f"{args.timeout_limit:g} s, doubled for each further stop: `--timeout-penalty`); one client, from its own "
        f"address ({RUNAWAY_ADDRESS}), sends only a query that no worker can finish (a six-way cross product) and "
        f"when refused tries again each second; {args.readers - 1} clients read as in run 1, {args.writers} write.", "",
        f"- the runaway client sent {len(runaways)} requests; {stopped} queries were stopped at the limit (503) and "
        f"their workers replaced (worker restarts reported by /health: "
        f"{limited['health_after'].get('worker_restarts')}); {refused} were refused while it waited (429)",
        f"- everyone else: {two['requests']:,} requests, {two['per_second']:.1f} answered a second, "
        f"{two['errors']} errors, p50 {two['p50_ms']:.1f} ms, p99 {two['p99_ms']:.1f} ms",
        f"- after the run the server used {limited['idle_cpu_after']:.2f} cores when idle: no stopped query "
        f"keeps a CPU",
        load_line(limited),
        "", *kinds(limited), "", *timeline(limited), "",
    ]
    if growing is not None:
        three = summary(growing)
        grown, flat = parts_growth(growing), parts_growth(mixed)
        lines += [
            f"### Run 3: a growing store, {growing['seconds']:.0f} s", "",
            f"As run 1, but the writers only add (`--mix grow`: {MIX_TEXT['grow']}), so what grows with the "
            f"data (RocksDB's write buffers and caches, a bigger store to read) shows apart from what run 1 "
            f"would show as a leak.", "",
            f"- {three['requests']:,} requests, {three['per_second']:.1f} answered a second, {three['errors']} "
            f"errors, p99 {three['p99_ms']:.1f} ms",
            *memory_summary(growing),
            load_line(growing),
        ]
        if grown.get("writes") and flat.get("writes"):
            lines.append(f"- the data's share: the writer and the serving processes grow "
                         f"{grown['workers_per_1000']:+.1f} MB per 1,000 writes that stay in the store, against "
                         f"{flat['workers_per_1000']:+.1f} MB per 1,000 writes "
                         f"that are deleted again (run 1)")
        lines += ["", *memory_lines(growing), ""]
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
    parser.add_argument("--mix", choices=MIXES, default="churn",
                        help="what the writers do: churn (the store stays the same size; the default), grow "
                             "(the store grows with every write) or read (no writers)")
    parser.add_argument("--runs", default="1,2,3",
                        help="which runs (default 1,2,3; RESULTS.md is only written when all three ran); run 3 "
                             "is run 1 with --mix grow, as long as run 2")
    parser.add_argument("--output", type=Path, default=None,
                        help="write the raw results here and leave RESULTS.md alone (for diagnostic runs)")
    parser.add_argument("--trace-memory", type=Path, default=None,
                        help="run the server of run 1 under bench/memtrace.py and write its tracemalloc report here")
    args = parser.parse_args()
    second = args.timeout_seconds or max(60.0, args.seconds / 3)

    runs = {int(n) for n in args.runs.split(",")}

    mixed = limited = growing = None
    with tempfile.TemporaryDirectory(prefix="gros-soak-") as folder:
        folder = Path(folder)
        if 1 in runs:
            print(f"run 1: mixed load ({args.mix}) for {args.seconds:.0f} s", flush=True)
            server = start_server(args.gros, folder / "one", trace=args.trace_memory)
            try:
                mixed = run(server, args.seconds, args.readers, args.writers, args.sample, mix=args.mix)
            finally:
                server.stop()
        if 2 in runs:
            print(f"run 2: the time limit hit repeatedly, {second:.0f} s", flush=True)
            server = start_server(args.gros, folder / "two", "--query-timeout", f"{args.timeout_limit:g}")
            try:
                limited = run(server, second, args.readers - 1, args.writers, args.sample, runaways=1, mix=args.mix)
            finally:
                server.stop()
        if 3 in runs:
            print(f"run 3: a growing store, {second:.0f} s", flush=True)
            server = start_server(args.gros, folder / "three")
            try:
                growing = run(server, second, args.readers, args.writers, args.sample, mix="grow")
            finally:
                server.stop()
    raw = {"mixed": mixed, "time_limit": limited, "growing": growing}
    if args.output is not None or None in (mixed, limited, growing):
        if args.output is not None:
            args.output.write_text(json.dumps(raw))
        for name, result in raw.items():
            if result is not None:
                one = summary(result, exclude=("runaway",))
                print(f"{name}: {one['per_second']:.1f} answered a second, {one['errors']} errors, "
                      f"p99 {one['p99_ms']:.0f} ms, load average {result['load_average']:.1f}")
                print("\n".join(memory_summary(result) + memory_lines(result)))
        return
    RAW.write_text(json.dumps(raw))
    section = report(mixed, limited, growing, args)
    write_results(section)
    print(section)

if __name__ == "__main__":
    main()
