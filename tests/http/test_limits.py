"""The limits of `gros serve`, over real HTTP: the time limit, the row limit (--max-rows 50) and
overload (a serving process's query threads busy, and a queue wait of 2 s before 503).

The time limit is tested on `limited_server` (--query-timeout 3) with RUNAWAY, a query that never
ends on its own, so what is checked is what the limit does (503 naming the setting, the worker that
ran the query killed and replaced, the server answering others), never how long anything took.
The other tests use the shared `server`, whose limit ordinary work never meets.
"""
from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass

import httpx
import pytest

from server_fixture import (MAX_ROWS, MINIMAL_GRAPH, RUNAWAY, SHORT_TIMEOUT, WORKERS, problem, query_workers, running,
                            start_server, wait_for_workers, worker_restarts)

#: Waiting for something to happen (a worker replaced, a query stopped): generous, the machine may be loaded.
PATIENCE = 120.0


@pytest.fixture(autouse=True)
def workers_back(server):
    wait_for_workers(server.url)
    yield
    wait_for_workers(server.url)


def get(url: str, query: str, timeout: float = PATIENCE) -> httpx.Response:
    return httpx.get(url + "/sparql", params={"query": query}, timeout=timeout,
                     headers={"Accept": "application/sparql-results+json, application/json"})


@dataclass
class AfterTimeout:
    slow: httpx.Response
    next: httpx.Response  # a simple query sent right after the 503
    health: int
    workers_before: set[int]
    workers_after: set[int]
    restarts: int  # workers replaced during the slow query
    workers_back: bool


@pytest.fixture(scope="module")
def after_timeout(limited_server) -> AfterTimeout:
    """One runaway query (stopped at the time limit), then what the server does right after it."""
    wait_for_workers(limited_server.url, timeout=PATIENCE)
    workers_before, restarts_before = query_workers(limited_server), worker_restarts(limited_server)
    slow = get(limited_server.url, RUNAWAY)
    following = get(limited_server.url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    health = httpx.get(limited_server.url + "/health", timeout=30).status_code
    try:
        wait_for_workers(limited_server.url, WORKERS, timeout=PATIENCE)
        back = True
    except AssertionError:
        back = False
    return AfterTimeout(slow, following, health, workers_before, query_workers(limited_server),
                        worker_restarts(limited_server) - restarts_before, back)


def test_a_query_past_the_time_limit_is_503(after_timeout):
    assert after_timeout.slow.status_code == 503, after_timeout.slow.text
    # Its process is ending: the client must not send its next request on this connection.
    assert after_timeout.slow.headers["connection"] == "close"


def test_the_time_limit_message_names_the_setting(after_timeout):
    message = problem(after_timeout.slow)["error"]
    assert "--query-timeout" in message and f"{SHORT_TIMEOUT:g} s" in message


def test_the_time_limit_kills_the_worker_that_ran_the_query(after_timeout):
    """pyoxigraph cannot cancel a query: the worker process is killed, which frees its CPU."""
    assert len(after_timeout.workers_before) == WORKERS, after_timeout.workers_before
    gone = after_timeout.workers_before - after_timeout.workers_after
    assert len(gone) == 1, (after_timeout.workers_before, after_timeout.workers_after)
    assert not any(running(pid) for pid in gone)
    assert after_timeout.restarts == 1


def test_the_server_answers_right_after_a_timeout(after_timeout):
    assert after_timeout.next.status_code == 200, after_timeout.next.text
    assert int(after_timeout.next.json()["results"]["bindings"][0]["n"]["value"]) > 0


def test_health_is_200_right_after_a_timeout(after_timeout):
    assert after_timeout.health == 200


def test_the_stopped_worker_is_replaced(after_timeout):
    # both workers can run a query at the same time again, in processes of their own
    assert after_timeout.workers_back
    assert len(after_timeout.workers_after) == WORKERS
    assert len(after_timeout.workers_after - after_timeout.workers_before) == 1


def test_select_is_cut_at_the_row_limit_with_a_header(client):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]["bindings"]) == MAX_ROWS
    header = response.headers["gros-result-truncated"]
    assert header.startswith("true") and "--max-rows" in header


@pytest.mark.parametrize("accept", ["text/csv", "application/sparql-results+xml"])
def test_the_row_limit_holds_in_other_formats(client, accept):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"}, headers={"Accept": accept})
    assert response.status_code == 200
    assert "gros-result-truncated" in response.headers
    if accept == "text/csv":
        assert len(response.text.strip().split("\r\n")) == MAX_ROWS + 1  # and the header row
    else:
        assert response.text.count("<result>") == MAX_ROWS


def test_construct_is_cut_at_the_row_limit(client):
    response = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                          headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == MAX_ROWS
    assert "gros-result-truncated" in response.headers


def test_a_result_within_the_limit_has_no_truncation_header(client):
    response = client.get("/sparql", params={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}"})
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == MAX_ROWS
    assert "gros-result-truncated" not in response.headers


@pytest.fixture(scope="module")
def one_worker_server(tmp_path_factory):
    """One worker, and a time limit far beyond the 2 s a query waits for a free worker: while a
    runaway query holds the worker, the next query is refused as overload, not let through."""
    running = start_server(tmp_path_factory.mktemp("gros-one-worker"), None, "--workers", "1", "--query-threads", "1",
                           query_timeout=10)
    yield running
    running.stop()


def test_overload_is_503_with_retry_after(one_worker_server):
    server = one_worker_server
    wait_for_workers(server.url, 1, timeout=PATIENCE)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow = pool.submit(get, server.url, RUNAWAY)
        deadline = time.monotonic() + PATIENCE
        while httpx.get(server.url + "/health", timeout=30).json()["queries_running"] == 0:  # until it runs
            assert time.monotonic() < deadline and not slow.done(), "the runaway query never took the query thread"
            time.sleep(0.1)
        response = get(server.url, "ASK {}")
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        message = problem(response)["error"]
        assert "busy" in message and "--workers" in message
        assert slow.result().status_code == 503  # the runaway one, at the time limit
    wait_for_workers(server.url, 1, timeout=PATIENCE)
    assert get(server.url, "ASK {}").status_code == 200


def restarts(server) -> int:
    return httpx.get(server.url + "/health", timeout=5).json()["worker_restarts"]


def hang_up_during(server, query: str, after: float) -> None:
    """Send a query and close the connection `after` seconds later, before the answer."""
    with httpx.Client(timeout=after) as client:
        with pytest.raises(httpx.TimeoutException):
            client.get(server.url + "/sparql", params={"query": query})


#: A fraction of a second here: the cross product of the test data file's graph with itself.
MEDIUM = (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ ?a ?b ?c }} "
          f"GRAPH <{MINIMAL_GRAPH}> {{ ?d ?e ?f }} FILTER(STRLEN(CONCAT(STR(?c), STR(?f))) > 1) }}")


def test_a_client_that_hangs_up_does_not_cost_a_worker_process(server):
    # The shared server's time limit is generous, so the abandoned query ends by itself however
    # busy the machine is; the client hangs up long before (a query of this size takes a while
    # to send and plan, and the count has thousands of rows to go through).
    assert get(server.url, MEDIUM).status_code == 200
    before, workers = worker_restarts(server), query_workers(server)
    for _ in range(2):
        hang_up_during(server, MEDIUM, after=0.05)
        wait_for_workers(server.url, WORKERS, timeout=PATIENCE)
    # The abandoned queries ran to their end in their workers, which were then reused.
    assert worker_restarts(server) == before
    assert query_workers(server) == workers
    assert get(server.url, "ASK {}").status_code == 200


def test_an_abandoned_runaway_query_is_still_stopped_at_the_time_limit(limited_server):
    wait_for_workers(limited_server.url, timeout=PATIENCE)
    before, workers = worker_restarts(limited_server), query_workers(limited_server)
    hang_up_during(limited_server, RUNAWAY, after=0.3)
    deadline = time.monotonic() + PATIENCE
    while worker_restarts(limited_server) == before:
        assert time.monotonic() < deadline, "the abandoned query was never stopped"
        time.sleep(0.2)
    gone = workers - query_workers(limited_server)
    assert len(gone) == 1 and not any(running(pid) for pid in gone)
    wait_for_workers(limited_server.url, WORKERS, timeout=PATIENCE)


def test_a_replaced_worker_takes_jobs_only_once_it_is_ready(tmp_path):
    # One worker and a 1 s limit, shorter than a new worker needs to start and warm up. A
    # replacement that took a job before it was ready spent that job's time limit on its start,
    # timed out and was replaced in turn: one runaway query cost every following one.
    server = start_server(tmp_path, None, "--workers", "1", query_timeout=1)
    try:
        before = worker_restarts(server)
        response = get(server.url, RUNAWAY)
        assert response.status_code == 503 and "--query-timeout" in problem(response)["error"]
        answers = []
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            response = get(server.url, "ASK {}")
            answers.append((response.status_code, "" if response.status_code == 200 else problem(response)["error"]))
            if response.status_code == 200:
                break
        # While the new worker starts, a query waits for it or is told the server is busy;
        # it is never run by a worker that is still starting.
        assert answers[-1][0] == 200, answers
        assert not [a for a in answers if "--query-timeout" in a[1]], answers
        assert worker_restarts(server) == before + 1
    finally:
        server.stop()
