"""What the service keeps must not grow with the traffic it has seen (soak).

The soak (bench/soak.py) measures memory over minutes; these tests pin down, in seconds, the
things whose growth would show up there: per-revision snapshots and page views after writes,
the metrics' label sets, the rate-limit table, and the malloc arena cap (server/gros/arenas.py).
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import httpx
import pytest

from gros.ops.ratelimit import IDLE_SECONDS, Limiter
from server_fixture import TOKEN, children, start_server, update

BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
WRITES = 6


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def snapshot_folders(server) -> list[Path]:
    snapshots = server.store.with_name(server.store.name + ".snapshots")
    return [p for p in snapshots.rglob("rev-*") if p.is_dir()]


def open_snapshot_files(pid: int, snapshots: Path) -> list[str]:
    """The files under the snapshot folder that process `pid` holds open."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(snapshots)):
            found.append(target)
    return found


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of its own: what writes and page requests leave, not what earlier tests' traffic left
    on the shared one."""
    running = start_server(tmp_path_factory.mktemp("gros-snapshots"), TOKEN)
    yield running
    running.stop()


def test_writes_and_page_requests_leave_a_bounded_number_of_snapshots(own_server, fresh_graph):
    server = own_server
    client = httpx.Client(base_url=server.url, timeout=60)
    """Each write makes a revision; the next query and page read a snapshot of it. Old ones must
    go, folders and open files both: a view that is never closed keeps its deleted files open."""
    try:
        for i in range(WRITES):
            response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <https://example.org/m/{i}> '
                                      f'<http://www.w3.org/2000/01/rdf-schema#label> "m {i}" }} }}')
            assert response.status_code in (200, 204), response.text
            assert client.get("/id/region/netherlands", headers={"Accept": BROWSER}).status_code == 200
            assert client.get("/search", params={"q": "nederland"}, headers={"Accept": BROWSER}).status_code == 200
        # the workers' current snapshot and the pages' current view, with room for one of each
        # retired but still being read by a request of another test
        assert len(snapshot_folders(server)) <= 4, snapshot_folders(server)
        # A process holding files of many revisions has views or stores it never closed. The
        # server closes a retired page view as soon as no request reads it; a worker keeps the
        # snapshot of its last job open until a job names a newer one (and a store caught in a
        # reference cycle of rdflib's waits for Python's cyclic collector), hence two.
        snapshots = server.store.with_name(server.store.name + ".snapshots")
        for pid in [server.process.pid, *children(server.process.pid)]:
            held = open_snapshot_files(pid, snapshots)
            revisions = {f.split("/rev-")[1].split("/")[0] for f in held if "/rev-" in f}
            assert len(revisions) <= 2, (pid, sorted(revisions))
        held = open_snapshot_files(server.process.pid, snapshots)
        assert not [f for f in held if f.endswith("(deleted)")], held
    finally:
        update(client, f"DROP SILENT GRAPH <{fresh_graph}>")
        client.close()


def test_made_up_methods_do_not_add_metric_series(client):
    # Methods the HTTP parser knows but the service does not serve reach the app and count as
    # "other"; made-up ones are refused by the parser (400) before they reach it.
    for method in ("PROPFIND", "MKCOL", "PURGE", "BREW0", "BREW1"):
        assert client.request(method, "/sparql").status_code in (400, 405)
    metrics = client.get("/metrics").text
    for method in ("PROPFIND", "MKCOL", "PURGE", "BREW"):
        assert f'method="{method}' not in metrics
    assert 'method="other"' in metrics


def test_the_rate_limit_table_forgets_idle_clients():
    now = [0.0]
    limiter = Limiter(rate=5, burst_seconds=2, clock=lambda: now[0])
    for n in range(1000):
        limiter.wait(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter.buckets) == 1000
    now[0] += IDLE_SECONDS + 1
    limiter.wait("10.9.9.9")  # the next request sweeps
    assert list(limiter.buckets) == ["10.9.9.9"]


def test_the_rate_limit_table_has_a_ceiling(monkeypatch):
    monkeypatch.setattr("gros.ops.ratelimit.MAX_CLIENTS", 100)
    limiter = Limiter(rate=5, burst_seconds=2, clock=lambda: 0.0)
    for n in range(1000):
        limiter.wait(f"client-{n}")
    assert len(limiter.buckets) <= 100


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_spawned_processes_run_with_the_malloc_arena_cap(server):
    """gros serve caps its arenas with mallopt before it starts any process, and hands the cap to
    the processes it spawns (the writer and the workers of its SHACL gate) in their environment.
    The serving processes are forked from gros serve after the mallopt call, so they inherit the
    cap itself (glibc's setting is process memory), which /proc does not show."""
    spawned = [pid for pid in descendants(server.process.pid)
               if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert spawned
    for pid in spawned:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert any(entry.startswith(b"MALLOC_ARENA_MAX=") for entry in environment), pid
