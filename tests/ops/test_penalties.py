"""A client whose query ran into the time limit waits before its next request (penalties.py):
the rule on a clock of our own, then over real HTTP, with two client addresses on loopback
(127.0.0.1 and 127.0.0.2) against a server with a 1 s limit and a 3 s penalty."""
from __future__ import annotations

import time

import httpx
import pytest

from gros.ops.penalties import MAX_DOUBLINGS, MEMORY_SECONDS, PenaltyBox
from gros.settings import Settings
from server_fixture import RUNAWAY as SLOW, SHORT_TIMEOUT, problem, start_server, wait_for_workers

QUICK = "ASK { ?s ?p ?o }"
PENALTY = 3.0


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


# --- the rule --------------------------------------------------------------------------------------

def test_a_first_stop_costs_the_base_and_each_further_one_doubles_it_up_to_a_cap():
    clock = Clock()
    box = PenaltyBox(2.0, clock=clock)
    waits = []
    for _ in range(MAX_DOUBLINGS + 3):
        waits.append(box.strike("a"))
        clock.now += 1
    assert waits[: MAX_DOUBLINGS + 1] == [2.0 * 2 ** k for k in range(MAX_DOUBLINGS + 1)]
    assert waits[MAX_DOUBLINGS + 1:] == [2.0 * 2 ** MAX_DOUBLINGS] * 2


def test_the_wait_runs_out_and_concerns_only_that_client():
    clock = Clock()
    box = PenaltyBox(5.0, clock=clock)
    box.strike("a")
    assert box.remaining("a") == 5.0 and box.remaining("b") == 0.0
    clock.now += 4.5
    assert box.remaining("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert box.remaining("a") == 0.0


def test_stops_are_forgotten_after_a_quiet_while():
    clock = Clock()
    box = PenaltyBox(1.0, clock=clock)
    assert box.strike("a") == 1.0
    clock.now += 10
    assert box.strike("a") == 2.0  # within the memory: doubled
    clock.now += MEMORY_SECONDS + 1
    assert box.strike("a") == 1.0  # a quiet while later: a first stop again


def test_no_penalty_when_switched_off_or_outside_a_request():
    assert PenaltyBox(0.0).strike("a") == 0.0
    assert PenaltyBox(0.0).remaining("a") == 0.0
    box = PenaltyBox(5.0)
    assert box.strike(None) == 0.0 and not box.records


def test_the_table_of_clients_stays_bounded(monkeypatch):
    monkeypatch.setattr("gros.ops.penalties.MAX_CLIENTS", 100)
    clock = Clock()
    box = PenaltyBox(1.0, clock=clock)
    for number in range(1000):
        box.strike(f"10.0.{number // 256}.{number % 256}")
        clock.now += 0.01
    assert len(box.records) <= 100
    assert box.remaining("10.0.3.231") > 0  # the latest is kept


def test_the_default_penalty_is_the_time_limit_on_a_public_address_and_none_on_loopback():
    assert Settings(query_timeout=7, host="0.0.0.0").penalty_seconds == 7
    assert Settings(query_timeout=7, host="127.0.0.1").penalty_seconds == 0
    assert Settings(query_timeout=7, host="::1").penalty_seconds == 0
    assert Settings(query_timeout=7, host="localhost").penalty_seconds == 0
    assert Settings(query_timeout=7, host="127.0.0.1", timeout_penalty=3).penalty_seconds == 3
    assert Settings(query_timeout=7, timeout_penalty=0).penalty_seconds == 0
    assert Settings(query_timeout=7, timeout_penalty=2.5).penalty_seconds == 2.5


# --- over HTTP -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def penalised(tmp_path_factory):
    folder = tmp_path_factory.mktemp("penalty")
    server = start_server(folder, None, "--timeout-penalty", f"{PENALTY:g}", query_timeout=SHORT_TIMEOUT)
    wait_for_workers(server.url)
    yield server
    server.stop()


def client_from(server, address: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def query(http: httpx.Client, text: str) -> httpx.Response:
    return http.get("/sparql", params={"query": text})


def refusals(server) -> float:
    for line in httpx.get(server.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith('gros_refusals_total{reason="time-limit-penalty"}'):
            return float(line.split()[-1])
    return 0.0


def test_a_stopped_query_makes_its_client_wait_while_others_go_on(penalised):
    with client_from(penalised, "127.0.0.1") as runaway, client_from(penalised, "127.0.0.2") as other:
        wait_for_workers(penalised.url, 2, timeout=60)
        before = refusals(penalised)
        stopped = query(runaway, SLOW)
        assert stopped.status_code == 503
        message = problem(stopped)["error"]
        assert "--query-timeout" in message and "--timeout-penalty" in message and f"{PENALTY:g} s" in message
        assert stopped.headers["Retry-After"] == f"{PENALTY:.0f}"

        refused = query(runaway, QUICK)
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= PENALTY
        assert "time limit" in problem(refused)["error"] and "--timeout-penalty" in problem(refused)["error"]
        assert refusals(penalised) == before + 1
        # The waiting client may still ask whether the service is up; everyone else queries on.
        assert runaway.get("/health").status_code == 200
        assert query(other, QUICK).status_code == 200

        time.sleep(float(refused.headers["Retry-After"]) + 0.2)
        wait_for_workers(penalised.url, 2, timeout=60)
        assert query(runaway, QUICK).status_code == 200  # the wait is over

        # A second stop within the memory doubles the wait.
        again = query(runaway, SLOW)
        assert again.status_code == 503 and again.headers["Retry-After"] == f"{2 * PENALTY:.0f}"
        assert query(runaway, QUICK).status_code == 429
        assert query(other, QUICK).status_code == 200
