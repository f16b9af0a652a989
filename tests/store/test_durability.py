"""Crash safety of a real `gros serve`: writers in flight, `kill -9`, a restart on the
same store, and a count of what survived.

Each write adds one small resource of three triples and, in the same transaction, moves the
store's revision on by one (store.GraphStore.apply). After a kill, for every write:
acknowledged (2xx) → all three triples are there; not acknowledged → all or none of them; and
the revision the restarted server reports is the start revision plus the writes that are there,
so no revision bump went in without its data or the other way round.

Also: a second server on a store that one is using stops with a clear message and exit code 2,
and so does a server on a damaged store.
"""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from launch import environment, restart, run_to_exit, start
from server_fixture import GRAPH_BASE, TOKEN, auth, children, select

COMMENT = "<http://www.w3.org/2000/01/rdf-schema#comment>"
SPARQL_GRAPH = GRAPH_BASE + "durability-sparql"
P = ["<https://example.org/durability/first>", "<https://example.org/durability/second>",
     "<https://example.org/durability/third>"]


def resource(kind: str, n: int) -> str:
    return f"https://example.org/durability/{kind}/{n}"


def triples(kind: str, n: int) -> str:
    return "\n".join(f'<{resource(kind, n)}> {p} "{kind} {n}" .' for p in P) + "\n"


class Writer(threading.Thread):
    """Writes until told to stop or the server goes away; remembers what was acknowledged."""

    def __init__(self, server, kind: str, start_at: int):
        super().__init__(daemon=True)
        self.server, self.kind, self.next = server, kind, start_at
        self.sent: list[int] = []
        self.acknowledged: list[int] = []
        self.stop = threading.Event()

    def write(self, http: httpx.Client, n: int) -> httpx.Response:
        if self.kind == "sparql":  # SPARQL Update
            text = f"INSERT DATA {{ GRAPH <{SPARQL_GRAPH}> {{ {triples(self.kind, n)} }} }}"
            return http.post("/sparql", content=text.encode(),
                             headers={"Content-Type": "application/sparql-update", **auth()})
        # Graph Store Protocol: a graph of its own for each write
        return http.put("/rdf-graphs", params={"graph": f"{GRAPH_BASE}durability-gsp-{n}"},
                        content=triples(self.kind, n).encode(),
                        headers={"Content-Type": "application/n-triples", **auth()})

    def run(self):
        with httpx.Client(base_url=self.server.url, timeout=30) as http:
            while not self.stop.is_set():
                n = self.next
                self.next += 1
                self.sent.append(n)
                try:
                    response = self.write(http, n)
                except httpx.HTTPError:
                    return  # the server is gone: this write is in flight, unacknowledged
                if 200 <= response.status_code < 300:
                    self.acknowledged.append(n)
                else:
                    raise AssertionError(f"write {n} was refused: {response.status_code} {response.text}")


def kill_hard(server) -> None:
    """kill -9 the server and, as a container runtime would, its query workers."""
    workers = children(server.process.pid)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def health(server) -> dict:
    response = httpx.get(server.url + "/health", timeout=10)
    assert response.status_code == 200
    return response.json()


def present(server, kind: str, numbers: list[int]) -> dict[int, int]:
    """How many of its three triples each write has in the store."""
    counts: dict[int, int] = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for start_at in range(0, len(numbers), 40):  # the test server cuts results at 50 rows
            values = " ".join(f"<{resource(kind, n)}>" for n in numbers[start_at:start_at + 40])
            rows = select(http, f"SELECT ?s (COUNT(*) AS ?n) WHERE {{ VALUES ?s {{ {values} }} "
                                f"GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?s")
            counts.update({int(r["s"].rsplit("/", 1)[1]): int(r["n"]) for r in rows})
    return {n: counts.get(n, 0) for n in numbers}


@pytest.fixture(scope="module")
def durable(tmp_path_factory):
    """A server of its own, killed and restarted by the tests (`restarted` keeps every process
    started, so that none outlives the module whatever fails)."""
    running = start(tmp_path_factory.mktemp("gros-durability"), environment(TOKEN))
    running.restarted = []
    yield running
    for process in [running.process, *running.restarted]:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except Exception:
                process.kill()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_acknowledged_writes_survive_kill_9_and_nothing_is_half_applied(durable):
    server = durable
    first_revision = health(server)["revision"]
    writers_so_far: list[Writer] = []
    for round_number, run_for in enumerate((0.37, 0.81)):
        writers = [Writer(server, "sparql", 1000 * round_number), Writer(server, "gsp", 1000 * round_number)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while min(len(w.acknowledged) for w in writers) < 3 and all(w.is_alive() for w in writers):
            assert time.monotonic() < deadline, "the writers got no acknowledgement within 60 s"
            time.sleep(0.05)
        time.sleep(run_for)  # then kill at a moment that has nothing to do with the writes
        kill_hard(server)
        for writer in writers:
            writer.join(timeout=30)
        writers_so_far += writers
        server = restart(server)
        durable.restarted.append(server.process)

        total_present = 0
        for writer in writers_so_far:
            assert writer.acknowledged, f"no {writer.kind} write was acknowledged before the kill"
            counts = present(server, writer.kind, writer.sent)
            lost = [n for n in writer.acknowledged if counts[n] != 3]
            assert not lost, f"acknowledged {writer.kind} writes lost or partial after kill -9: {lost}"
            half = {n: c for n, c in counts.items() if c not in (0, 3)}
            assert not half, f"half-applied {writer.kind} writes: {half}"
            total_present += sum(1 for c in counts.values() if c == 3)
        assert health(server)["revision"] == first_revision + total_present
        print(f"round {round_number + 1}: " + ", ".join(
            f"{w.kind}: {len(w.sent)} sent, {len(w.acknowledged)} acknowledged" for w in writers)
            + f"; {total_present} writes in the store after the restart")
    durable.process = server.process  # the tests below use the server that runs now
    durable.url = server.url


def test_a_store_in_use_is_refused_with_a_clear_message(durable, tmp_path):
    code, output = run_to_exit(tmp_path, durable.root, durable.store, environment(TOKEN))
    assert code == 2, output
    assert "in use by another process" in output and str(durable.store) in output
    assert "Traceback" not in output
    assert httpx.get(durable.url + "/health", timeout=10).status_code == 200  # the running one is untouched


def _garble_current(store: Path) -> None:
    (store / "CURRENT").write_text("MANIFEST-999999\n")


def _truncate_tables(store: Path) -> None:
    for table in store.glob("*.sst"):
        with table.open("r+b") as handle:
            handle.truncate(64)


def _garble_manifest(store: Path) -> None:
    for manifest in store.glob("MANIFEST-*"):
        manifest.write_bytes(b"\x00garbage" * 8)


@pytest.mark.parametrize("damage", [_garble_current, _truncate_tables, _garble_manifest])
def test_a_damaged_store_is_refused_with_a_clear_message(durable, tmp_path, damage):
    copy = tmp_path / "store"
    # A copy of the live store (RocksDB files; the copy may miss the last moments, which is
    # fine: it is damaged on purpose next).
    shutil.copytree(durable.store, copy, ignore=shutil.ignore_patterns("LOCK"))
    assert list(copy.glob("*.sst")), "the store has no table files to damage"
    damage(copy)
    code, output = run_to_exit(tmp_path, durable.root, copy, environment(TOKEN))
    assert code == 2, output
    assert "damaged" in output and "gros restore" in output, output
    assert "Traceback" not in output
