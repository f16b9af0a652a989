"""Reconciliation: accuracy on the matching test set and the time of a batch of 100 queries.

    .venv/bin/python bench/reconcile.py [--rounds 10] [--no-write]      (make bench-reconcile)

1. Accuracy on tests/fixtures/reconciliation/names.csv (names in nl/en/de/fr, typos,
   abbreviations, designations, names not in the graph): top-1 accuracy (the first candidate is
   the expected IRI; for a name not in the graph: no certain match) and false matches (`match:
   true` on a wrong IRI). The same for a peer in the same run: plain fuzzy matching of the
   folded labels with rapidfuzz's WRatio (what a researcher gets from a fuzzy join, "match" at a
   score of 90 or more), so the figure says what the field's rules add.
2. Speed: a batch of 100 queries (the test set's names, cycled) POSTed to /reconcile of a real
   `gros serve` on the shipped data, with its default number of serving processes (each keeps
   its own index of the revision and builds it on its first reconciliation request): the first
   batches, each on a new connection (so on any process, cold or warm); then, once warm, the
   median of the rounds of one client on one connection, and of as many clients at once as
   there are serving processes; queries per second. Also the matching alone in Python.

Results are printed and written to bench/RESULTS.md, section "Reconciliation" (replacing an
earlier run's).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

import report as report_file  # noqa: E402  (bench/report.py: replace_section)
from gros.content.files import find_files, read_files  # noqa: E402
from gros.reconciliation.index import Index  # noqa: E402
from gros.reconciliation.normalise import fold  # noqa: E402
from gros.reconciliation.service import reconcile_names  # noqa: E402
from gros.settings import Settings  # noqa: E402
from gros.store.embedded import memory_store  # noqa: E402

NAMES = ROOT / "tests" / "fixtures" / "reconciliation" / "names.csv"
RESULTS = ROOT / "bench" / "RESULTS.md"
ID = "https://w3id.org/gros/id/"
HEADING = "## Reconciliation (/reconcile, gros reconcile)"
BATCH = 100
COLD = 4  # first batches on new connections: with 2 serving processes, most likely both cold ones


def rows() -> list[dict]:
    with NAMES.open(encoding="utf-8", newline="") as f:
        found = list(csv.DictReader(f))
    for row in found:
        row["expected"] = ID + row["expected"] if row["expected"] else None
        row["props"] = dict(p.split("=", 1) for p in row["properties"].split(";") if p)
    return found


def judge(test, results) -> tuple[float, int]:
    right = wrong = 0
    for row, (iri, match) in zip(test, results):
        right += (iri == row["expected"]) if row["expected"] else (not match)
        wrong += bool(match and iri != row["expected"])
    return right / len(test), wrong


def ours(index, test):
    out = []
    for row in test:
        [best] = reconcile_names(index, [row["query"]], row["type"] or None, [row["props"]])
        out.append((best["id"], best["match"]))
    return out


def plain_fuzzy(index, test):
    """The peer: every name folded (case, accents), rapidfuzz WRatio, no type, no rules."""
    names = [fold(n.text) for n in index.names]
    out = []
    for row in test:
        found = process.extractOne(fold(row["query"]), names, scorer=fuzz.WRatio)
        if found is None:
            out.append((None, False))
            continue
        _name, score, at = found
        out.append((index.entities[index.names[at].entity].iri, score >= 90))
    return out


def batch(test) -> dict:
    queries = {}
    for i in range(BATCH):
        row = test[i % len(test)]
        query = {"query": row["query"]}
        if row["type"]:
            query["type"] = row["type"]
        if row["props"]:
            query["properties"] = [{"pid": k, "v": v} for k, v in row["props"].items()]
        queries[f"q{i}"] = query
    return queries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def over_http(test, rounds: int) -> dict:
    gros = Path(sys.executable).with_name("gros")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen([str(gros), "serve", "--root", str(ROOT), "--store", f"{folder}/store",
                                   "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 300
            while True:
                try:
                    health = httpx.get(url + "/health", timeout=2)
                    if health.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gros serve did not start")
                time.sleep(0.2)
            processes = int(health.json().get("workers", 1))
            form = {"queries": json.dumps(batch(test))}

            def post(client) -> float:
                began = time.perf_counter()
                client.post(url + "/reconcile", data=form).raise_for_status()
                return time.perf_counter() - began

            def on_new_connection(_=None) -> float:
                with httpx.Client(timeout=60) as client:
                    return post(client)

            cold = [on_new_connection() for _ in range(COLD)]
            for _ in range(4 * processes):  # warm every process (new connections land on any)
                on_new_connection()
            with httpx.Client(timeout=60) as client:
                one = [post(client) for _ in range(rounds)]

            def client_rounds(_) -> list[float]:
                with httpx.Client(timeout=60) as client:
                    return [post(client) for _ in range(rounds)]
            began = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(processes) as pool:
                many = [t for times in pool.map(client_rounds, range(processes)) for t in times]
            wall = time.perf_counter() - began
            return {"processes": processes, "cold": cold, "one": one, "many": many,
                    "many_qps": BATCH * len(many) / wall}
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()

    test = rows()
    settings = Settings.from_env(root=ROOT)
    store = memory_store(read_files(find_files(settings)))
    began = time.perf_counter()
    index = Index(store, settings.id_base)
    built = time.perf_counter() - began
    began = time.perf_counter()
    mine = ours(index, test)
    in_python = time.perf_counter() - began
    accuracy, wrong = judge(test, mine)
    peer_accuracy, peer_wrong = judge(test, plain_fuzzy(index, test))
    load_before = os.getloadavg()
    http = over_http(test, args.rounds)
    load_after = os.getloadavg()
    one, many = statistics.median(http["one"]), statistics.median(http["many"])

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    negatives = sum(1 for r in test if not r["expected"])
    ms = lambda seconds: f"{seconds * 1000:.0f}"  # noqa: E731
    lines = [
        HEADING,
        "",
        f"Run {when} on {platform.machine()} ({platform.python_implementation()} {platform.python_version()}), "
        f"`make bench-reconcile`; shipped data ({len(index.entities)} entities, {len(index.names)} name forms; "
        f"index built from an in-memory store in {ms(built)} ms). 2 shared cores, load average "
        f"{load_before[0]:.1f} before the HTTP part and {load_after[0]:.1f} after: times vary with the other "
        f"sessions' load.",
        "",
        f"Matching test set: {len(test)} names ({len(test) - negatives} to find, {negatives} that must not match; "
        f"nl, en, de, fr).",
        "",
        "| matcher | top-1 accuracy | false `match: true` |",
        "|---|---|---|",
        f"| gros reconciliation | {accuracy:.1%} | {wrong} |",
        f"| peer: plain fuzzy (rapidfuzz WRatio on folded labels, match at >= 90) | {peer_accuracy:.1%} | {peer_wrong} |",
        "",
        f"Batch of {BATCH} queries POSTed to /reconcile of `gros serve` ({http['processes']} serving processes, "
        f"the default; real HTTP):",
        "",
        f"- first {len(http['cold'])} batches, each on a new connection (a process's first one builds its index "
        f"of the revision): {', '.join(ms(t) for t in http['cold'])} ms;",
        f"- warm, one client: median {ms(one)} ms over {len(http['one'])} rounds (min {ms(min(http['one']))}, "
        f"max {ms(max(http['one']))}) = {BATCH / one:.0f} queries/s;",
        f"- warm, {http['processes']} clients at once: median {ms(many)} ms per batch (max {ms(max(http['many']))}), "
        f"{http['many_qps']:.0f} queries/s in all;",
        f"- matching alone, in Python: {len(test)} queries in {ms(in_python)} ms ({len(test) / in_python:.0f} queries/s).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        report_file.replace_section(RESULTS, HEADING, text)


if __name__ == "__main__":
    main()
