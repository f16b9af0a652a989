"""How RocksDB's MANIFEST grows with the service's write pattern (found by the soak).

    .venv/bin/python bench/manifest_growth.py [WRITES] [--reopen-every N]

Does what `gros serve` does per write, without HTTP: one small update of the live store, a
checkpoint (GraphStore.snapshot) and a read-only open of it (a page view or a worker), then
deletes the previous checkpoint. Every 500 writes it prints the live store's MANIFEST size, the
mean time of a checkpoint and of an open, and this process's heap (RssAnon).

RocksDB logs each change of its set of table files in the MANIFEST and starts a new one only
when the store is opened; each checkpoint copies it and each open replays it, so both get slower
with every write since the store was opened. `--reopen-every N` closes and reopens the live
store every N writes, which starts a fresh MANIFEST (the change proposed for store.py).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from gros.settings import Settings
from gros.content.files import find_files, read_files
from gros.store.embedded import quads

COMMENT = "<http://www.w3.org/2000/01/rdf-schema#comment>"
GRAPH = "<https://w3id.org/gros/graph/manifest-bench>"
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")


def heap_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) // 1024
    return 0


def change(i: int) -> str:
    """Add a resource, delete the one added ten writes before (the soak's churn)."""
    text = f'INSERT DATA {{ GRAPH {GRAPH} {{ <https://example.org/m/{i}> {COMMENT} "m {i}" }} }}'
    if i >= 10:
        text += f' ; DELETE DATA {{ GRAPH {GRAPH} {{ <https://example.org/m/{i - 10}> {COMMENT} "m {i - 10}" }} }}'
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("writes", type=int, nargs="?", default=3000)
    parser.add_argument("--reopen-every", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gros-manifest-") as folder:
        folder = Path(folder)
        path, snapshots = folder / "store", folder / "snapshots"
        snapshots.mkdir()
        store = ox.Store(str(path))
        store.extend(quads(read_files(find_files(Settings()))))
        store.flush()
        previous, checkpoint_s, open_s = None, 0.0, 0.0
        for i in range(args.writes):
            store.update(change(i))
            if args.reopen_every and (i + 1) % args.reopen_every == 0:
                store = None
                store = ox.Store(str(path))
            target = snapshots / f"rev-{i}"
            started = time.perf_counter()
            store.backup(str(target))
            checkpointed = time.perf_counter()
            view = ox.Store.read_only(str(target))
            sum(1 for _ in view.quads_for_pattern(None, LABEL, None, None))
            view = None
            open_s += time.perf_counter() - checkpointed
            checkpoint_s += checkpointed - started
            if previous is not None:
                shutil.rmtree(previous)
            previous = target
            if (i + 1) % 500 == 0:
                manifest = max(path.glob("MANIFEST-*"), key=lambda p: p.stat().st_mtime)
                print(f"{i + 1:6d} writes: MANIFEST {manifest.stat().st_size / 1e6:5.2f} MB, checkpoint "
                      f"{1000 * checkpoint_s / 500:6.1f} ms, open {1000 * open_s / 500:6.1f} ms, heap {heap_mb()} MB",
                      flush=True)
                checkpoint_s = open_s = 0.0


if __name__ == "__main__":
    main()
