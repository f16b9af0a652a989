"""Where a point lookup spends its time in `gros serve` (called by bench/run.py with --profile).

Three measurements, all on the running server of the benchmark:
1. wrk drives point lookups at N clients while py-spy samples the main (uvicorn) process and each
   query worker, and the CPU time of every process is read before and after;
2. the same load on GET /health, which crosses the same HTTP stack and middleware but no worker:
   the ceiling of the HTTP layer alone;
3. without HTTP, in one process: the engine alone (pyoxigraph query + iterating the rows), the
   worker's job (query + our JSON writer), and a full round trip through gros's WorkerPool
   (pipe to a worker process and back, via the thread pool), as a median over many requests.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

#: Layers of the main process, by module path; a sample goes to the innermost frame that matches.
MAIN_LAYERS = [
    ("logging (access log lines)", ("logging/",)),
    ("prometheus_client (metrics)", ("prometheus_client/",)),
    ("json", ("json/",)),
    ("query-string / Accept parsing", ("urllib/parse", "mimeparse", "gros/formats.py")),
    ("gros worker pool: thread pool and pipe", ("gros/workers.py", "multiprocessing/", "concurrent/futures/",
                                                "threading.py", "queue.py")),
    ("gros endpoint code (sparql, service, guards, store revision for the ETag)",
     ("gros/sparql.py", "gros/service.py", "gros/guards.py", "gros/observability.py", "gros/errors.py",
      "gros/store.py")),
    ("FastAPI / Starlette / anyio (routing, middleware, responses)", ("fastapi/", "starlette/", "anyio/")),
    ("uvicorn + h11 (HTTP/1.1 parsing and writing)", ("uvicorn/", "h11/", "httptools/")),
    ("asyncio event loop and sockets", ("asyncio/", "selectors.py", "socket.py")),
]
WORKER_LAYERS = [
    # py-spy shows no native frames: time inside pyoxigraph (store.query, and pulling rows, which
    # is when Oxigraph evaluates the query) shows as a leaf frame in gros/execution.py.
    ("pyoxigraph engine (leaf frame in gros/execution.py: store.query, pulling rows)", ("@leaf:gros/execution.py",)),
    ("gros JSON results writer", ("gros/results.py",)),
    ("json", ("json/",)),
    ("pipe send/receive (pickle + syscalls)", ("multiprocessing/connection.py",)),
    ("gros executor", ("gros/execution.py", "gros/workers.py")),
]


def _layer(frames: list[str], layers) -> str:
    for name, needles in layers:  # rules about the innermost frame alone come first
        if frames and any(n.startswith("@leaf:") and n[6:] in frames[-1] for n in needles):
            return name
    for frame in reversed(frames):  # then the innermost frame that any layer claims
        for name, needles in layers:
            if any(not needle.startswith("@leaf:") and needle in frame for needle in needles):
                return name
    return "other"


#: Leaf frames where a thread waits in a system call without py-spy noticing it is idle.
IDLE_LEAVES = ("Connection._recv (multiprocessing/connection.py", "_worker (concurrent/futures/thread.py",
               "select (selectors.py", "wait (threading.py", "Connection._poll", "_poll (multiprocessing")


def summarise_raw(path: Path, layers, top: int = 12, possible: float | None = None) -> dict | None:
    """Layer shares and top self-time functions from py-spy's raw (collapsed) output.

    Samples whose innermost frame is a blocking wait are counted apart as idle."""
    if not path.exists():
        return None
    by_layer: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    by_thread: Counter[str] = Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        thread = "?"
        if frames and frames[0].startswith("thread "):
            thread = frames[0].split(": ", 1)[-1].rstrip(")")
            frames = frames[1:]
        n = int(count)
        if frames and frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        by_thread[thread.split("_")[0] if thread.startswith("gros-pool") else thread] += n
        total += n
        by_layer[_layer(frames, layers)] += n
        leaf = frames[-1] if frames else "?"
        by_leaf[leaf] += n
    if not total:
        return None
    return {"samples": total, "idle_samples": idle,
            "busy_share": (total / possible) if possible else None,
            "threads": [(name, n / total) for name, n in by_thread.most_common()],
            "layers": [(name, n / total) for name, n in by_layer.most_common()],
            "top": [(name, n / total) for name, n in by_leaf.most_common(top)]}


class CpuWatch(threading.Thread):
    """CPU seconds per process of a tree, sampled all along: gros replaces a query worker whose
    client went away mid-response (as every closed-loop client does when it stops), so workers
    may come and go during a measurement."""

    def __init__(self, main: psutil.Process, interval: float = 0.1):
        super().__init__(daemon=True)
        self.main, self.interval, self.running = main, interval, True
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.started = self.ended = time.time()

    def sample(self) -> None:
        for proc in [self.main, *self.main.children(recursive=True)]:
            try:
                used = sum(proc.cpu_times()[:2])
                if proc.pid not in self.kind:
                    cmd = " ".join(proc.cmdline())
                    self.kind[proc.pid] = ("main (uvicorn)" if proc.pid == self.main.pid else
                                           "query workers" if "spawn_main" in cmd else "resource tracker")
                    self.first[proc.pid] = 0.0 if self.last else used  # a worker born during the run
                self.last[proc.pid] = used
            except psutil.NoSuchProcess:
                pass

    def run(self) -> None:
        self.started = time.time()
        self.sample()
        while self.running:
            time.sleep(self.interval)
            self.sample()
        self.ended = time.time()

    def stop(self) -> None:
        self.running = False
        self.join()

    def cores(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, kind in self.kind.items():
            out[kind] = out.get(kind, 0.0) + (self.last[pid] - self.first[pid]) / (self.ended - self.started)
        out["worker processes seen"] = float(sum(1 for k in self.kind.values() if k == "query workers"))
        return out


def _wrk(url: str, accept: str, clients: int, seconds: float, script: Path) -> dict:
    from run import run_wrk
    return run_wrk(url, accept, clients, seconds, 30, script)


PIECES = r"""
import asyncio, json, os, statistics, sys, time
from pathlib import Path
import pyoxigraph as ox
from gros.settings import Settings
from gros.runtime.execution import Executor
from gros.runtime.workers import WorkerPool

snapshot, query, n, root = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
job = {"kind": "query", "text": query, "default_graphs": [], "named_graphs": [],
       "accept": "application/sparql-results+json", "format": None, "limit": 100000, "snapshot": snapshot}
store = ox.Store.read_only(snapshot)

def median(fn):
    for _ in range(50):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6

out = {}
out["pyoxigraph: query + iterate rows"] = median(lambda: sum(1 for _ in store.query(query, use_default_graph_as_union=True)))
out["pyoxigraph: query + its own JSON serialiser"] = median(lambda: store.query(query, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON))
executor = Executor(Settings(root=root))
out["worker job: Executor.handle (query + gros JSON writer), in process"] = median(lambda: executor.handle(job, lambda m: None))

async def roundtrip():
    pool = WorkerPool(Settings(root=root), size=1, queue_timeout=5)
    await pool.start()
    async def one():
        async for _ in pool.run(job, 30):
            pass
    for _ in range(50):
        await one()
    times = []
    for _ in range(n):
        t = time.perf_counter(); await one(); times.append(time.perf_counter() - t)
    await pool.stop()
    return statistics.median(times) * 1e6

out["WorkerPool.run round trip (thread pool + pipe + worker job)"] = asyncio.run(roundtrip())

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

async def concurrent(size=2, clients=4, seconds=4.0):
    # gros's defaults (2 workers) under 4 concurrent requests, without HTTP: jobs/s, latency, CPU.
    pool = WorkerPool(Settings(root=root), size=size, queue_timeout=30)
    await pool.start()
    async def one():
        async for _ in pool.run(job, 30):
            pass
    for _ in range(50):
        await asyncio.gather(*(one() for _ in range(clients)))
    workers = [w.process.pid for w in pool.all]
    latencies = []
    deadline = time.perf_counter() + seconds
    async def client():
        while time.perf_counter() < deadline:
            t = time.perf_counter(); await one(); latencies.append(time.perf_counter() - t)
    main0, w0, t0 = time.process_time(), sum(proc_cpu(p) for p in workers), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    main1, w1, t1 = time.process_time(), sum(proc_cpu(p) for p in workers), time.perf_counter()
    await pool.stop()
    latencies.sort()
    n = len(latencies)
    return {"jobs_per_s": n / (t1 - t0), "p50_ms": latencies[n // 2] * 1e3, "p99_ms": latencies[int(n * 0.99)] * 1e3,
            "main_cpu_us_per_job": (main1 - main0) / n * 1e6, "worker_cpu_us_per_job": (w1 - w0) / n * 1e6,
            "main_cores": (main1 - main0) / (t1 - t0), "worker_cores": (w1 - w0) / (t1 - t0)}

print(json.dumps({"pieces": out, "pool": asyncio.run(concurrent())}))
"""


def pieces(gros_python: str, snapshot: Path, query: str, root: Path, n: int = 500) -> dict:
    output = subprocess.run([gros_python, "-c", PIECES, str(snapshot), query, str(n), str(root)], capture_output=True,
                            text=True, timeout=600)
    if output.returncode:
        raise RuntimeError(output.stderr.strip().splitlines()[-1] if output.stderr else "failed")
    return json.loads(output.stdout)


def profile(args, server, url: str, accept: str, workdir: Path, out_dir: Path) -> dict:
    from run import log, settle
    out_dir.mkdir(parents=True, exist_ok=True)
    clients, seconds = 4, args.profile_seconds
    script = workdir / "report.lua"
    result: dict = {"clients": clients, "seconds": seconds}
    py_spy = str(Path(sys.executable).parent / "py-spy")
    main = psutil.Process(server.pid)
    children = main.children(recursive=True)
    workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]
    processes = {"main (uvicorn)": main, **{f"worker {i + 1}": p for i, p in enumerate(workers)}}
    result["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        # Warm up, then wait until the workers that the warm-up's departing clients left behind
        # have been replaced and have finished starting (a new worker imports for a second or two).
        _wrk(url, accept, clients, 2, script)
        settle([server], streak=5)
        children = main.children(recursive=True)
        workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]
        processes = {"main (uvicorn)": main, **{f"worker {i + 1}": p for i, p in enumerate(workers)}}
        # 1. py-spy on each process while wrk runs
        log(f"profile: py-spy on {len(processes)} gros processes, {seconds:.0f} s of point lookups at {clients} clients")
        spies = []
        files = {}
        rate = 250
        spy_seconds = max(3, int(seconds) - 3)  # py-spy stops before the load does (see CpuWatch)
        for name, proc in processes.items():
            main_process = name.startswith("main")
            path = out_dir / f"pyspy-{'main' if main_process else name.replace(' ', '')}.txt"
            files[name] = path
            # The main process: only samples holding the GIL (its Python work; one GIL for all its
            # threads). Workers: every non-idle sample, since pyoxigraph runs without the GIL.
            flags = ["--gil", "--threads"] if main_process else ["--threads"]
            spies.append(subprocess.Popen([py_spy, "record", "--pid", str(proc.pid), "--rate", str(rate),
                                           "--duration", str(spy_seconds), "--format", "raw", "--nonblocking",
                                           *flags, "--output", str(path)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # py-spy attaches
        watch = CpuWatch(main)
        watch.start()
        load = _wrk(url, accept, clients, seconds - 1, script)
        watch.stop()
        for spy in spies:
            spy.wait(timeout=seconds + 30)
        result["load"] = load
        result["cpu"] = {name: cores for name, cores in watch.cores().items()}
        main_file = files["main (uvicorn)"]
        result["pyspy"] = {"main": summarise_raw(main_file, MAIN_LAYERS, possible=rate * spy_seconds)}
        worker_raw = out_dir / "pyspy-workers.txt"
        worker_raw.write_text("".join(files[n].read_text() for n in files if n.startswith("worker") and files[n].exists()))
        result["pyspy"]["workers"] = summarise_raw(worker_raw, WORKER_LAYERS,
                                                   possible=rate * spy_seconds * len(workers))
        # 2. the HTTP stack alone
        settle([server], streak=5)
        health = server.url.rsplit("/", 1)[0] + "/health"
        for c in (1, clients):
            result.setdefault("health", {})[c] = _wrk(health, "application/json", c, 5, script)
        for c in (1, clients):
            settle([server], streak=5)
            result.setdefault("point_without_pyspy", {})[c] = _wrk(url, accept, c, 5, script)
        # 3. the pieces without HTTP
        snapshots = sorted((workdir / "gros-store.snapshots").glob("rev-*"))
        if snapshots:
            from urllib.parse import parse_qs, urlparse
            query = parse_qs(urlparse(url).query)["query"][0]
            roots = [workdir / "gros-root", workdir / "gros-root-empty"]
            root = next((r for r in roots if (r / "shapes").is_dir()), Path(__file__).resolve().parent.parent)
            measured = pieces(str(Path(args.gros_venv) / "bin" / "python"), snapshots[-1], query, root)
            result["roundtrip"] = {"n": 500, "pieces": measured["pieces"], "pool": measured["pool"]}
        log("profile: done")
    except Exception as err:  # a profile that fails must not lose the benchmark's results
        result["error"] = f"{type(err).__name__}: {err}"
        log(f"profile: {result['error']}")
    return result
