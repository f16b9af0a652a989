"""`gros ...` with the server process's Python allocations watched (for bench/soak.py --trace-memory).

    python bench/memtrace.py REPORT gros-arguments...

Runs the gros command line in this process. On SIGUSR1 (soak.py sends it once the server
answers: tracing the start-up validation would take many minutes) it starts tracemalloc; a
background thread takes a baseline WARM_UP seconds later and then, every EVERY seconds,
rewrites REPORT with what grew since the baseline: the allocation sites that gained most
(tracemalloc, grouped by traceback) and the object types whose live count gained most (gc).
Only the server process is traced; query workers are separate processes.

tracemalloc slows allocation-heavy code several times: use it to find what grows, not to
measure throughput or p99.
"""
from __future__ import annotations

import collections
import gc
import signal
import sys
import threading
import time
import tracemalloc
from pathlib import Path

WARM_UP = 30.0
EVERY = 30.0
FRAMES = 12
TOP = 25


def type_counts() -> collections.Counter:
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def watch(report: Path, go: threading.Event) -> None:
    go.wait()
    tracemalloc.start(FRAMES)
    time.sleep(WARM_UP)
    gc.collect()
    base, base_types, began = tracemalloc.take_snapshot(), type_counts(), time.monotonic()
    while True:
        time.sleep(EVERY)
        gc.collect()
        now, types = tracemalloc.take_snapshot(), type_counts()
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        stats = now.filter_traces(filters).compare_to(base.filter_traces(filters), "traceback")
        traced, peak = tracemalloc.get_traced_memory()
        lines = [f"{time.monotonic() - began:.0f} s after the baseline; traced {traced / 1e6:.1f} MB "
                 f"(peak {peak / 1e6:.1f} MB); total change "
                 f"{sum(s.size_diff for s in stats) / 1e6:+.2f} MB", "", "## object counts that grew most"]
        grown = sorted(((types[k] - base_types.get(k, 0), k) for k in types), reverse=True)[:TOP]
        lines += [f"{diff:+8d}  {name} (now {types[name]})" for diff, name in grown if diff > 0]
        lines += ["", "## allocation sites that grew most"]
        for stat in stats[:TOP]:
            lines.append(f"{stat.size_diff / 1e3:+10.1f} kB {stat.count_diff:+7d} blocks (now {stat.size / 1e3:.1f} kB)")
            lines += [f"      {frame.filename}:{frame.lineno}" for frame in stat.traceback[-FRAMES:]]
        report.write_text("\n".join(lines) + "\n")


def main() -> None:
    report = Path(sys.argv[1])
    go = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: go.set())
    threading.Thread(target=watch, args=(report, go), daemon=True, name="memtrace").start()
    from gros.cli.main import main as gros

    sys.argv = ["gros", *sys.argv[2:]]
    gros()


if __name__ == "__main__":
    main()
