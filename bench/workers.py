"""Read scaling with `gros serve --workers N` on the embedded store: `make bench-workers`.

One store, filled once (the shipped content plus the generated 1M-triple graph, loaded as
run.py loads it); then `gros serve --workers N` on it for each N in turn, and on each the same
cells: a CPU-heavy query (runs in the query workers), a point lookup (mostly HTTP and the
front process), and a resource page (rendered in the front process). Throughput is reported
per N and as a ratio to N=1, measured in the same run.

Then, with all workers busy, a writer posts small updates and, as soon as each 2xx arrives,
a reader on another connection asks for the triple: the delay until the write is visible.

Run with the peers' venv (psutil, httpx): bench/.venv-peers/bin/python bench/workers.py.
Results: the "Read scaling" section of bench/RESULTS.md and bench/workers-results.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import httpx

import generate
from run import (ACCEPT, BENCH, DATA, QUERIES, ROOT, WRK_SCRIPT, choose_parameters, copy_content, free_port,
                 launch, load_gros_store, machine, run_python_client, run_wrk, settle, tree_memory, wait_ready)

RESULTS = BENCH / "RESULTS.md"
RAW = BENCH / "workers-results.json"
TOKEN = "bench-workers-token"
START, END = "<!-- workers:start -->", "<!-- workers:end -->"


def log(message: str) -> None:
    print(f"[workers {time.strftime('%H:%M:%S')}] {message}", flush=True)


def cells(base: str, subject: str, region: str) -> dict[str, tuple[str, str]]:
    """name -> (url, accept)."""
    def sparql(key: str) -> str:
        text = QUERIES[key][1].format(subject=subject, region=region)
        return f"{base}/sparql?" + urllib.parse.urlencode({"query": text})

    page = f"{base}/id/" + subject.split("/id/", 1)[1]
    return {"aggregate": (sparql("aggregate"), ACCEPT["aggregate"]),
            "join": (sparql("join"), ACCEPT["join"]),
            "point": (sparql("point"), ACCEPT["point"]),
            "page": (page, "text/html")}


def all_workers_idle(base: str, workers: int, timeout: float = 120) -> None:
    """Wait until every worker is back: the load generator hangs up on requests in flight at the
    end of a cell, and gros replaces a worker whose client went away (it may still be busy)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(base + "/health", timeout=5).json().get("workers_idle") == workers:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the {workers} query workers did not come back within {timeout:g} s")


def measure(url: str, accept: str, clients: int, seconds: float, script: Path | None) -> dict:
    if script is not None:
        return run_wrk(url, accept, clients, seconds, 60, script)
    return run_python_client(url, accept, clients, seconds, 60)


def visibility(base: str, writes: int, busy_url: str, busy_accept: str, busy_clients: int) -> dict:
    """Delay between a write's 2xx and the moment another connection reads it, with the workers
    kept busy by `busy_clients` clients running the heavy query."""
    stop = threading.Event()

    def keep_busy() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    client.get(busy_url, headers={"Accept": busy_accept})
                except httpx.HTTPError:
                    pass

    threads = [threading.Thread(target=keep_busy, daemon=True) for _ in range(busy_clients)]
    for thread in threads:
        thread.start()
    delays, immediate = [], 0
    try:
        with httpx.Client(timeout=60) as writer, httpx.Client(timeout=60) as reader:
            for number in range(writes):
                subject = f"https://example.org/bench/visible/{number}-{time.time_ns()}"
                text = f'INSERT DATA {{ GRAPH <https://example.org/bench/visible> {{ <{subject}> ' \
                       f'<http://www.w3.org/2000/01/rdf-schema#label> "v" }} }}'
                for _ in range(20):  # a write needs a worker too: wait for one as a client would
                    response = writer.post(base + "/sparql", data={"update": text},
                                           headers={"Authorization": f"Bearer {TOKEN}"})
                    if response.status_code != 503:
                        break
                    time.sleep(float(response.headers.get("retry-after", "1")))
                if response.status_code != 200:
                    raise RuntimeError(f"write refused: {response.status_code} {response.text[:300]}")
                acknowledged = time.perf_counter()
                first = True
                while True:
                    answer = reader.post(base + "/sparql", data={"query": f"ASK {{ <{subject}> ?p ?o }}"},
                                         headers={"Accept": "application/sparql-results+json"})
                    if answer.status_code == 200 and answer.json()["boolean"]:
                        break
                    first = False
                    if time.perf_counter() - acknowledged > 10:
                        raise RuntimeError("a write was not visible after 10 s")
                    time.sleep(0.005)
                immediate += first
                delays.append((time.perf_counter() - acknowledged) * 1000)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return {"writes": writes, "visible_on_first_read": immediate, "delay_ms_max": max(delays),
            "delay_ms_median": statistics.median(delays)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gros-venv", default=str(ROOT / ".venv"))
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections per cell")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all worker counts (order alternates)")
    parser.add_argument("--triples", type=int, default=1_000_000, help="generated triples (0: shipped data only)")
    parser.add_argument("--writes", type=int, default=50, help="writes in the visibility probe")
    args = parser.parse_args()
    args.gros_venv = str(Path(args.gros_venv).resolve())  # the servers run in another folder
    counts = [int(n) for n in args.workers.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="gros-bench-workers-"))
    script = None
    if shutil.which("wrk"):
        script = workdir / "report.lua"
        script.write_text(WRK_SCRIPT)
    try:
        files = [generate.ensure(DATA, args.triples)] if args.triples else []
        root = copy_content(workdir / "root", ontology=True, data=True)
        store = workdir / "store"
        how = "shipped content"
        if files:
            log(f"loading {files[0].name} into a new store")
            how = "shipped content + " + load_gros_store(Path(args.gros_venv), store, files, workdir)
        gros = str(Path(args.gros_venv) / "bin" / "gros")
        parameters = None  # the busiest body and region (run.py's rule), found on the first server
        results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                         "how": how, "clients": args.clients, "duration": args.duration, "rounds": []}
        for round_number in range(args.rounds):
            order = counts if round_number % 2 == 0 else list(reversed(counts))
            row = {}
            for workers in order:
                port = free_port()
                env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
                env["GROS_UPDATE_TOKEN"] = TOKEN
                command = [gros, "serve", "--root", str(root), "--store", str(store), "--port", str(port),
                           "--workers", str(workers), "--max-rows", "0"]
                server = launch(f"gros-{workers}", f"http://127.0.0.1:{port}/sparql", command, workdir, env)
                try:
                    wait_ready(server, 600)
                    base = f"http://127.0.0.1:{port}"
                    settle([server], streak=3)
                    parameters = parameters or choose_parameters(server)
                    subject, region = parameters["subject"], parameters["region"]
                    entry = {}
                    for name, (url, accept) in cells(base, subject, region).items():
                        measure(url, accept, args.clients, 2, script)  # warm-up: caches, worker start
                        settle([server], streak=3)
                        all_workers_idle(base, workers)
                        entry[name] = measure(url, accept, args.clients, args.duration, script)
                        settle([server], streak=3)
                        all_workers_idle(base, workers)
                        log(f"round {round_number + 1}, --workers {workers}, {name}: "
                            f"{entry[name]['rps']:.1f}/s, p99 {entry[name]['p99_ms']:.1f} ms, "
                            f"errors {entry[name]['errors']}")
                    if round_number == 0 and workers == max(counts):
                        # Readers keep every worker busy with point lookups meanwhile.
                        url, accept = cells(base, subject, region)["point"]
                        entry["visibility"] = visibility(base, args.writes, url, accept, workers)
                        log(f"visibility: {entry['visibility']}")
                    entry["rss_mb"] = tree_memory(server.pid)[0] / 2**20
                    row[workers] = entry
                finally:
                    server.stop()
            results["rounds"].append(row)
        RAW.write_text(json.dumps(results, indent=2))
        write_report(results, counts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(results: dict, counts: list[int]) -> None:
    names = ["aggregate", "join", "point", "page"]

    def best(workers: int, name: str) -> dict:
        # The best round: what the machine allows when the others' noise is least.
        return max((r[workers][name] for r in results["rounds"]), key=lambda cell: cell["rps"])

    lines = [START, "## Read scaling: `gros serve --workers N`", "",
             f"Measured {results['when']} by `bench/workers.py` (`make bench-workers`); raw data in "
             f"`bench/workers-results.json`. Machine: {results['machine'].get('cores', '?')} cores, "
             f"{results['machine'].get('python', '')}. Data: {results['how']}. {results['clients']} "
             f"connections per cell, {results['duration']:g} s per cell, best of {len(results['rounds'])} rounds "
             f"(the load generator runs on the same cores).", "",
             "| cell | " + " | ".join(f"--workers {n} (req/s)" for n in counts) + " | " +
             " | ".join(f"{n}/{counts[0]}" for n in counts[1:]) + " |",
             "|---|" + "---:|" * (len(counts) * 2 - 1)]
    for name in names:
        rates = [best(n, name)["rps"] for n in counts]
        lines.append(f"| {name} | " + " | ".join(f"{r:.1f}" for r in rates) + " | " +
                     " | ".join(f"{r / rates[0]:.2f}×" if rates[0] else "–" for r in rates[1:]) + " |")
    visibility = next((r[n]["visibility"] for r in results["rounds"] for n in r if "visibility" in r[n]), None)
    if visibility:
        lines += ["", f"Write visibility with {max(counts)} workers busy: {visibility['writes']} writes; "
                      f"{visibility['visible_on_first_read']} visible to the first read on another connection "
                      f"right after the 2xx; median delay {visibility['delay_ms_median']:.1f} ms, "
                      f"max {visibility['delay_ms_max']:.1f} ms (the delay is the read's own time)."]
    lines += ["", END]
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = "\n".join(lines)
    if START in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
