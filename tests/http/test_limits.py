"""The limits of `gros serve`, over real HTTP: the time limit (--query-timeout 3), the row limit
(--max-rows 50) and overload (a serving process's query threads busy, and a queue wait of 2 s
before 503).

Slow queries are cross products of the whole store, which Oxigraph cannot finish in seconds.
After each test the fixture waits until both workers are back, so later tests are not affected
by the workers these tests have killed.
"""
from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass

import httpx
import pytest

from server_fixture import MAX_ROWS, MINIMAL_GRAPH, QUERY_TIMEOUT, WORKERS, problem, start_server, wait_for_workers

SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
        "?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }")
QUEUE_WAIT = 2.0  # Settings.queue_timeout; `gros serve` has no flag for it


@pytest.fixture(autouse=True)
def workers_back(server):
    wait_for_workers(server.url)
    yield
    wait_for_workers(server.url)


def timed_get(url: str, query: str, timeout: float = 30) -> tuple[httpx.Response, float]:
    began = time.monotonic()
    response = httpx.get(url + "/sparql", params={"query": query}, timeout=timeout,
                         headers={"Accept": "application/sparql-results+json, application/json"})
    return response, time.monotonic() - began


@dataclass
class AfterTimeout:
    slow: httpx.Response
    slow_took: float
    next: httpx.Response  # a simple query sent right after the 503
    next_took: float
    health: int
    workers_back: bool


@pytest.fixture(scope="module")
def after_timeout(server) -> AfterTimeout:
    """One slow query (it costs the time limit), then what the server does right after it."""
    wait_for_workers(server.url)
    slow, slow_took = timed_get(server.url, SLOW)
    following, next_took = timed_get(server.url, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    health = httpx.get(server.url + "/health", timeout=5).status_code
    try:
        wait_for_workers(server.url, WORKERS, timeout=20)
        back = True
    except AssertionError:
        back = False
    return AfterTimeout(slow, slow_took, following, next_took, health, back)


def test_a_query_past_the_time_limit_is_503(after_timeout):
    assert after_timeout.slow.status_code == 503, after_timeout.slow.text


def test_the_time_limit_stops_the_query_in_time(after_timeout):
    assert QUERY_TIMEOUT - 0.5 <= after_timeout.slow_took < QUERY_TIMEOUT + 2, after_timeout.slow_took


def test_the_time_limit_message_names_the_setting(after_timeout):
    message = problem(after_timeout.slow)["error"]
    assert "--query-timeout" in message and f"{QUERY_TIMEOUT:g} s" in message


def test_the_server_answers_fast_right_after_a_timeout(after_timeout):
    assert after_timeout.next.status_code == 200, after_timeout.next.text
    assert int(after_timeout.next.json()["results"]["bindings"][0]["n"]["value"]) > 0
    assert after_timeout.next_took < 1.5, after_timeout.next_took


def test_health_is_200_right_after_a_timeout(after_timeout):
    assert after_timeout.health == 200


def test_the_stopped_worker_is_replaced(after_timeout):
    # both workers can run a query at the same time again
    assert after_timeout.workers_back


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


def test_overload_is_503_with_retry_after(tmp_path):
    # One serving process running one query at a time: a second query waits QUEUE_WAIT for the
    # thread the slow one holds, then gets 503.
    server = start_server(tmp_path, None, "--workers", "1", "--query-threads", "1", "--query-timeout", "8")
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            slow = pool.submit(timed_get, server.url, SLOW)
            time.sleep(1.0)  # the one query thread is busy now
            response, elapsed = timed_get(server.url, "ASK {}")
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
            message = problem(response)["error"]
            assert "busy" in message and "--workers" in message
            assert elapsed < QUEUE_WAIT + 1.5, elapsed
            assert slow.result()[0].status_code == 503
    finally:
        server.stop()


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


def test_a_client_that_hangs_up_does_not_cost_a_worker_process(tmp_path):
    # A server of its own with a generous time limit, so that the abandoned query ends by itself
    # however busy the machine is.
    server = start_server(tmp_path, None, "--query-timeout", "60")
    try:
        response, took = timed_get(server.url, MEDIUM, timeout=60)
        assert response.status_code == 200, response.text
        before = restarts(server)
        for _ in range(2):
            hang_up_during(server, MEDIUM, after=min(0.1, took / 3))
            wait_for_workers(server.url, WORKERS, timeout=60)
        # The abandoned queries ran to their end in their workers, which were then reused.
        assert restarts(server) == before, f"the query took {took:.2f} s"
        assert timed_get(server.url, "ASK {}")[0].status_code == 200
    finally:
        server.stop()


def test_an_abandoned_runaway_query_is_still_stopped_at_the_time_limit(server):
    before = restarts(server)
    hang_up_during(server, SLOW, after=0.3)
    deadline = time.monotonic() + QUERY_TIMEOUT + 10
    while restarts(server) == before:
        assert time.monotonic() < deadline, "the abandoned query was never stopped"
        time.sleep(0.2)
    wait_for_workers(server.url, WORKERS, timeout=20)


def test_a_replaced_worker_takes_jobs_only_once_it_is_ready(tmp_path):
    # One worker and a 1 s limit, shorter than a new worker needs to start and warm up. A
    # replacement that took a job before it was ready spent that job's time limit on its start,
    # timed out and was replaced in turn: one runaway query cost every following one.
    server = start_server(tmp_path, None, "--query-timeout", "1", "--workers", "1")
    try:
        before = restarts(server)
        response, _ = timed_get(server.url, SLOW)
        assert response.status_code == 503 and "--query-timeout" in problem(response)["error"]
        answers = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response, _ = timed_get(server.url, "ASK {}")
            answers.append((response.status_code, "" if response.status_code == 200 else problem(response)["error"]))
            if response.status_code == 200:
                break
        # While the new worker starts, a query waits for it or is told the server is busy;
        # it is never run by a worker that is still starting.
        assert answers[-1][0] == 200, answers
        assert not [a for a in answers if "--query-timeout" in a[1]], answers
        assert restarts(server) == before + 1
    finally:
        server.stop()
