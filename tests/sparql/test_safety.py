"""What a hostile query cannot do: reach into the server's network, or keep a CPU busy."""
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from server_fixture import RUNAWAY, problem, query_workers, running, update, wait_for_workers, worker_restarts


class Listener:
    """A loopback TCP listener that counts the connections it is offered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    ear = Listener()
    yield ear
    ear.close()


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
    "PREFIX x: <http://127.0.0.1:{port}/> SELECT * WHERE {{ SERVICE x:sparql {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ BIND(<http://127.0.0.1:{port}/> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
    "select * where {{ service <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
])
def test_service_to_a_loopback_listener_is_refused_and_makes_no_connection(client, server, listener, template):
    response = client.get(server.sparql, params={"query": template.format(port=listener.port)})
    assert response.status_code == 400
    assert "allow" in problem(response)["error"]
    time.sleep(0.3)
    assert listener.connections == 0


@pytest.mark.parametrize("template", [
    "LOAD <http://127.0.0.1:{port}/data.ttl>",
    "LOAD SILENT <http://127.0.0.1:{port}/data.ttl> INTO GRAPH <https://w3id.org/gros/graph/x>",
    "INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
])
def test_load_and_service_in_updates_are_refused_and_make_no_connection(client, listener, template):
    response = update(client, template.format(port=listener.port))
    assert response.status_code == 400
    time.sleep(0.3)
    assert listener.connections == 0


def test_the_word_service_in_strings_iris_and_names_is_not_a_keyword(client, server):
    query = ('PREFIX ex: <http://example.org/service#> SELECT ?service WHERE { '
             'BIND("SERVICE <http://127.0.0.1:9/>" AS ?service) } # SERVICE <http://127.0.0.1:9/>')
    response = client.get(server.sparql, params={"query": query})
    assert response.status_code == 200


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process is gone: it uses no CPU
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_runaway_query_is_stopped_and_its_cpu_freed(limited_server):
    """The time limit kills the worker that runs a query which never ends: that process is gone,
    a new one takes its place, and the workers left use no CPU."""
    import httpx

    url = limited_server.url
    wait_for_workers(url, timeout=120)
    workers, restarts = query_workers(limited_server), worker_restarts(limited_server)
    response = httpx.get(url + "/sparql", params={"query": RUNAWAY}, timeout=120)
    assert response.status_code == 503
    assert "--query-timeout" in problem(response)["error"]
    wait_for_workers(url, timeout=120)
    gone = workers - query_workers(limited_server)
    assert len(gone) == 1 and not any(running(pid) for pid in gone), (workers, query_workers(limited_server))
    assert worker_restarts(limited_server) == restarts + 1
    pids = sorted(query_workers(limited_server))
    before = _cpu_seconds(pids)
    time.sleep(1.0)
    after = _cpu_seconds(pids)
    # Idle workers: well under a tenth of a CPU second in a second; a runaway would use ~1.
    assert after - before < 0.2, f"the server's processes used {after - before:.2f} s of CPU in 1 s"
    assert httpx.get(url + "/sparql", params={"query": "ASK {}"}, timeout=120).status_code == 200
