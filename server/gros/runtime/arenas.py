"""Why `gros serve` caps glibc's malloc arenas, and the call that does it.

glibc gives a thread that finds the arena it used busy an arena of its own, up to eight per
core. The server's threads (the event loop, the thread pools of the pages and the worker
pipes, RocksDB's flush and compaction threads) each settle into one. Every write makes a new
revision: RocksDB work on the live store, a checkpoint, and for the next page a read-only
store opened and later closed, each time on whichever thread gets the job. Memory freed in
one arena is reused only by threads that allocate from it, so each arena keeps its own high
water mark and the process's resident memory climbs with the number of writes although
nothing stays alive (tracemalloc showed the Python heap flat; the growth was in the arenas,
and malloc_trim did not give it back). The 10-minute soak grew the server process by about
10 MB a minute this way; with two arenas it stays flat, at no measurable cost in throughput
(bench/RESULTS.md, Soak).

The cap is set with mallopt for this process (glibc reads MALLOC_ARENA_MAX only when a
process starts) before it starts any other: the serving processes, forked from it, inherit the
setting itself; the processes it spawns (the writer, the workers of its SHACL gate) get it
through the environment.
An operator's own MALLOC_ARENA_MAX wins. Elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import ctypes
import os
import platform

#: Enough for the event loop and one thread of work at a time without contention on one lock.
ARENAS = 2
#: mallopt's parameter number for the arena cap (glibc malloc.h).
M_ARENA_MAX = -8
VARIABLE = "MALLOC_ARENA_MAX"


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Cap the arenas of this process and of processes it starts; whether the cap was set here."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if VARIABLE in os.environ:  # the operator chose; glibc applied it at start-up
        return False
    try:
        libc = ctypes.CDLL(None)
        applied = libc.mallopt(M_ARENA_MAX, count) == 1
    except (OSError, AttributeError):
        return False
    if applied:
        os.environ[VARIABLE] = str(count)  # for the processes spawned later (the writer and its workers)
    return applied
