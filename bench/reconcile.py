"""Reconciliation: accuracy on the matching test set and the time of a batch of 100 queries.

    .venv/bin/python bench/reconcile.py [--rounds 10] [--no-write]      (make bench-reconcile)

1. Accuracy on tests/fixtures/reconciliation/names.csv (names in nl/en/de/fr, typos,
   abbreviations, designations, names not in the graph): top-1 accuracy (the first candidate is
   the expected IRI; for a name not in the graph: no certain match) and false matches (`match:
   true` on a wrong IRI). The same for a peer in the same run: plain fuzzy matching of the
   folded labels with rapidfuzz's WRatio (what a researcher gets from a fuzzy join, "match" at a
   score of 90 or more), so the figure says what the field's rules add.
2. Speed: a batch of 100 queries (the test set's names, cycled) POSTed to /reconcile of a real
   `gros serve` on the shipped data: the first batch (which builds the index of the revision)
   and the median of the next rounds; queries per second. Also the matching alone in Python.

Results are printed and written to bench/RESULTS.md between the reconcile markers (replacing an
earlier run's).
"""
from __future__ import annotations

import argparse
import csv
import json
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

import httpx  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from gros.reconciliation.index import local_index  # noqa: E402
from gros.reconciliation.normalise import fold  # noqa: E402
from gros.reconciliation.service import reconcile_names  # noqa: E402
from gros.settings import Settings  # noqa: E402

NAMES = ROOT / "tests" / "fixtures" / "reconciliation" / "names.csv"
RESULTS = ROOT / "bench" / "RESULTS.md"
ID = "https://w3id.org/gros/id/"
START, END = "<!-- reconcile:start -->", "<!-- reconcile:end -->"
BATCH = 100


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


def over_http(test, rounds: int) -> tuple[float, list[float]]:
    gros = Path(sys.executable).with_name("gros")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen([str(gros), "serve", "--root", str(ROOT), "--store", f"{folder}/store",
                                   "--port", str(port), "--workers", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gros serve did not start")
                time.sleep(0.2)
            form = {"queries": json.dumps(batch(test))}
            with httpx.Client(timeout=60) as client:
                began = time.perf_counter()
                response = client.post(url + "/reconcile", data=form)
                first = time.perf_counter() - began
                response.raise_for_status()
                times = []
                for _ in range(rounds):
                    began = time.perf_counter()
                    client.post(url + "/reconcile", data=form).raise_for_status()
                    times.append(time.perf_counter() - began)
            return first, times
        finally:
            server.terminate()
            server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()

    test = rows()
    began = time.perf_counter()
    index = local_index(Settings.from_env(root=ROOT))
    built = time.perf_counter() - began
    began = time.perf_counter()
    mine = ours(index, test)
    in_python = time.perf_counter() - began
    accuracy, wrong = judge(test, mine)
    peer_accuracy, peer_wrong = judge(test, plain_fuzzy(index, test))
    first, times = over_http(test, args.rounds)
    median = statistics.median(times)

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    negatives = sum(1 for r in test if not r["expected"])
    lines = [
        START,
        "## Reconciliation (/reconcile, gros reconcile)",
        "",
        f"Run {when} on {platform.machine()} ({platform.python_implementation()} {platform.python_version()}), "
        f"`make bench-reconcile`; shipped data ({len(index.entities)} entities, {len(index.names)} name forms; "
        f"index built in {built * 1000:.0f} ms). 2 shared cores: times vary with the other sessions' load.",
        "",
        f"Matching test set: {len(test)} names ({len(test) - negatives} to find, {negatives} that must not match; "
        f"nl, en, de, fr).",
        "",
        "| matcher | top-1 accuracy | false `match: true` |",
        "|---|---|---|",
        f"| gros reconciliation | {accuracy:.1%} | {wrong} |",
        f"| peer: plain fuzzy (rapidfuzz WRatio on folded labels, match at >= 90) | {peer_accuracy:.1%} | {peer_wrong} |",
        "",
        f"Batch of {BATCH} queries POSTed to /reconcile of `gros serve` (real HTTP, one client): first batch "
        f"{first * 1000:.0f} ms (builds the revision's index), then median {median * 1000:.0f} ms over "
        f"{len(times)} rounds (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) = "
        f"{BATCH / median:.0f} queries/s. Matching alone, in Python: {len(test)} queries in "
        f"{in_python * 1000:.0f} ms ({len(test) / in_python:.0f} queries/s).",
        END,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        if START in old and END in old:
            new = old[:old.index(START)] + text + old[old.index(END) + len(END):]
        else:
            new = old.rstrip("\n") + "\n\n" + text + "\n"
        RESULTS.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
