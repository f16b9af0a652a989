"""The SHACL gate on a big store, without a server: `python bench/gate_scale.py STORE`.

Times changes.compute_update (what a query worker runs for a SPARQL update: evaluate it over an
overlay, then the gate) for updates that each add a skos:altLabel to 10 generated resources of
one class, as bench/scale.py's run_gate does over HTTP, and prints the focus-node count and the
verdict of each. With `--baseline OLD_changes.py` each update also runs through that older copy
of changes.py, right before the current one in the same process, so that the two are compared
under the same load (the machine is shared: compare the ratio, not the milliseconds).

Build the store once with
`gros load --bulk --shapes none --store STORE --graph https://example.org/synth FILE.nt`.
The store is opened read-only, as the workers open their snapshots.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from pathlib import Path

import pyoxigraph as ox

from gros.shacl import gate as changes
from gros.settings import Settings
from gros.runtime.jobs import UpdateJob

GRAPH = "https://example.org/synth"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"


def instances(store: ox.Store, cls: str, count: int) -> list[str]:
    rows = store.query(f"SELECT ?x WHERE {{ GRAPH <{GRAPH}> {{ ?x a <https://w3id.org/gros/def#{cls}> }} }} "
                       f"ORDER BY ?x LIMIT {count}")
    return [row["x"].value for row in rows]


def timed(module, store: ox.Store, update: str, settings: Settings) -> tuple[float, dict]:
    began = time.perf_counter()
    result = module.compute_update(store, UpdateJob(text=update), settings)
    return (time.perf_counter() - began) * 1000, result


def run(store: ox.Store, settings: Settings, cls: str, writes: int, gates: dict) -> dict:
    chosen = instances(store, cls, 10 * writes)
    out = {name: {"ms": [], "focus": [], "statuses": []} for name in gates}
    for round_ in range(writes):
        triples = "\n".join(f'<{x}> <{ALT_LABEL}> "bench {round_}"@en .' for x in chosen[round_ * 10:(round_ + 1) * 10])
        update = f"INSERT DATA {{ GRAPH <https://example.org/graph/bench> {{\n{triples}\n}} }}"
        for name, module in gates.items():
            ms, result = timed(module, store, update, settings)
            out[name]["ms"].append(round(ms))
            out[name]["focus"].append(result["counts"]["focus"])
            out[name]["statuses"].append(result["status"])
    for entry in out.values():
        entry.update(p50_ms=round(statistics.median(entry["ms"])), max_ms=max(entry["ms"]))
    return {"class": cls, **out}


def load_module(path: Path):
    """An older changes.py, loaded as a module of the gros package so its relative imports work."""
    spec = importlib.util.spec_from_file_location("gros.changes_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--writes", type=int, default=3, help="updates per class")
    parser.add_argument("--classes", default="CrossBorderBody,Membership")
    parser.add_argument("--baseline", type=Path, help="an older changes.py to compare with")
    args = parser.parse_args()
    settings = Settings.from_env(store_path=args.store)
    store = ox.Store.read_only(str(args.store))
    gates = {"current": changes}
    if args.baseline:
        gates = {"baseline": load_module(args.baseline), **gates}
    for name, module in gates.items():
        began = time.perf_counter()
        module.warm_up(settings)
        print(f"{name}: warm-up {time.perf_counter() - began:.1f} s", flush=True)
    for cls in args.classes.split(","):
        print(json.dumps(run(store, settings, cls, args.writes, gates)), flush=True)


if __name__ == "__main__":
    main()
