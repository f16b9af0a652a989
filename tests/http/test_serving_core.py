"""The serving processes of `gros serve` (runtime/serving.py, supervisor.py, writer.py, cache.py),
over real HTTP: a write is seen by every process once acknowledged, a runaway query ends only
its own process while concurrent queries are answered, and cached answers never outlive the
revision they were made from."""
from __future__ import annotations

import concurrent.futures
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from server_fixture import (QUERY_TIMEOUT, RUNAWAY, SHORT_TIMEOUT, WORKERS, auth, problem, query_workers, start_server,
                            update, wait_for_workers)

SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
        "?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }")
JSON = {"Accept": "application/sparql-results+json"}


def count_in(url: str, graph: str) -> int:
    # A new connection each time: the kernel hands it to any of the serving processes.
    response = httpx.get(url + "/sparql", headers=JSON, timeout=30,
                         params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_every_process_answers_from_the_new_revision_after_a_write(server, client, fresh_graph):
    assert WORKERS >= 2
    for n in range(1, 6):
        response = update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{fresh_graph}#s> '
                                  f'<http://www.w3.org/2000/01/rdf-schema#comment> "{n}" }} }}')
        assert response.status_code == 200, response.text
        # Right after the 2xx, on many fresh connections (so on every serving process), the write is there.
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            counts = list(pool.map(lambda _: count_in(server.url, fresh_graph), range(8)))
        assert counts == [n] * 8, counts


def test_a_cached_answer_is_dropped_by_a_write(server, client, fresh_graph):
    query = {"query": f"SELECT ?o WHERE {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}"}
    hits = metric(server.url, 'gros_cache_total{outcome="hit"}')
    first = client.get("/sparql", params=query, headers=JSON)
    again = client.get("/sparql", params=query, headers=JSON)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and first.json()["results"]["bindings"] == []
    assert metric(server.url, 'gros_cache_total{outcome="hit"}') > hits  # the repeat came from the cache
    assert update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{fresh_graph}#s> '
                          f'<http://www.w3.org/2000/01/rdf-schema#comment> "new" }} }}').status_code == 200
    after = client.get("/sparql", params=query, headers=JSON)
    assert [row["o"]["value"] for row in after.json()["results"]["bindings"]] == ["new"]


def test_no_answer_is_served_across_revisions(server, client, fresh_graph):
    query = {"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }}"}
    seen = []
    for n in range(3):
        for _ in range(2):  # the second is a cache hit of the same revision
            response = client.get("/sparql", params=query, headers=JSON)
            seen.append((response.headers["etag"], response.json()["results"]["bindings"][0]["n"]["value"]))
        update(client, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{fresh_graph}#s{n}> '
                       f'<http://www.w3.org/2000/01/rdf-schema#comment> "x" }} }}')
    assert [count for _, count in seen] == ["0", "0", "1", "1", "2", "2"]
    tags = [tag for tag, _ in seen]
    assert tags[0] == tags[1] and tags[2] == tags[3] and len(set(tags)) == 3
    # A conditional request with the old tag gets the new answer, the current one 304.
    assert client.get("/sparql", params=query, headers={**JSON, "If-None-Match": tags[0]}).status_code == 200
    current = client.get("/sparql", params=query, headers=JSON).headers["etag"]
    assert client.get("/sparql", params=query, headers={**JSON, "If-None-Match": current}).status_code == 304


def test_a_runaway_query_is_stopped_while_concurrent_queries_are_answered(server, known):
    wait_for_workers(server.url)
    before = httpx.get(server.url + "/health", timeout=10).json()["worker_restarts"]
    normal = f"SELECT ?p ?o WHERE {{ <{known.resource}> ?p ?o }}"

    def runaway():
        return httpx.get(server.url + "/sparql", params={"query": SLOW}, timeout=60)

    def normal_queries():
        codes = []
        # Keep-alive connections, opened before the runaway starts: some live in its process.
        with httpx.Client(timeout=60) as http:
            for _ in range(int(QUERY_TIMEOUT * 10) + 20):
                response = http.get(server.url + "/sparql", params={"query": normal}, headers=JSON)
                codes.append(response.status_code)
        return codes

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        others = [pool.submit(normal_queries) for _ in range(4)]
        slow = pool.submit(runaway).result()
        results = [f.result() for f in others]
    assert slow.status_code == 503
    assert "--query-timeout" in problem(slow)["error"]
    assert all(code == 200 for codes in results for code in codes), results
    wait_for_workers(server.url, WORKERS, timeout=60)
    assert httpx.get(server.url + "/health", timeout=10).json()["worker_restarts"] >= before + 1


def test_a_write_goes_through_the_one_writer_from_any_process(server, fresh_graph):
    # Concurrent writes on separate connections: each is applied once, in some order, none lost.
    def write(n):
        with httpx.Client(base_url=server.url, timeout=60) as http:
            response = update(http, f'INSERT DATA {{ GRAPH <{fresh_graph}> {{ <{fresh_graph}#w{n}> '
                                    f'<http://www.w3.org/2000/01/rdf-schema#comment> "{n}" }} }}')
            assert response.status_code == 200, response.text
            return response.json()["revision"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        revisions = list(pool.map(write, range(8)))
    assert len(set(revisions)) == 8
    assert count_in(server.url, fresh_graph) == 8


def test_updates_need_a_token_in_every_process(server):
    for _ in range(4):
        response = httpx.post(server.url + "/sparql", content=b"INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                              headers={"Content-Type": "application/sparql-update", **auth("wrong")}, timeout=30)
        assert response.status_code == 401


#: Headers that differ between two responses whatever path they took, and the framing (the first
#: answer is streamed as it is made, a cached one has its length).
PER_RESPONSE = {"date", "server", "content-length", "transfer-encoding"}


def test_an_answer_from_the_cache_is_what_the_endpoint_sent(server, client, fresh_graph):
    """The second identical GET is answered by the short path (http/cached_answers.py): same
    status, body and headers as the first, which went through the whole app."""
    query = {"query": f"SELECT * WHERE {{ GRAPH <{fresh_graph}> {{ ?s ?p ?o }} }} # short path {fresh_graph}"}
    hits = metric(server.url, 'gros_cache_total{outcome="hit"}')
    first = client.get("/sparql", params=query, headers=JSON)
    again = client.get("/sparql", params=query, headers=JSON)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    strip = lambda r: {k: v for k, v in r.headers.items() if k not in PER_RESPONSE}  # noqa: E731
    assert strip(again) == strip(first)
    assert {"etag", "vary", "cache-control", "content-security-policy", "x-content-type-options"} <= set(again.headers)
    assert metric(server.url, 'gros_cache_total{outcome="hit"}') > hits
    # Revalidation on the short path: 304 with the same ETag and no body.
    revalidated = client.get("/sparql", params=query, headers={**JSON, "If-None-Match": first.headers["etag"]})
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert revalidated.headers["etag"] == first.headers["etag"]


def test_the_short_path_leaves_cors_and_refusals_to_the_endpoint(server, client):
    query = {"query": "ASK { ?s ?p ?o } # cors"}
    client.get("/sparql", params=query, headers=JSON)  # now cached
    cross = client.get("/sparql", params=query, headers={**JSON, "Origin": "https://example.org"})
    assert cross.status_code == 200 and cross.headers["access-control-allow-origin"] == "*"
    # A request the protocol refuses is refused with its message, cached answer or not.
    twice = client.get("/sparql", params=[("query", query["query"]), ("query", "ASK {}")], headers=JSON)
    assert twice.status_code == 400 and "given 2 times" in twice.text
    misspelt = client.get("/sparql", params={**query, "defualt-graph-uri": "https://example.org/g"}, headers=JSON)
    assert misspelt.status_code == 400 and "did you mean 'default-graph-uri'" in misspelt.text


def nice_values(pid: int) -> dict[int, int]:
    """The `nice` value of each thread of a process (Linux: /proc/PID/task/TID/stat, field 19)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_an_ending_process_answers_what_it_was_given_and_lowers_the_runaway(tmp_path):
    # One serving process, so the runaway query, a kept-alive connection and a request still
    # being sent all meet in the process that ends.
    server = start_server(tmp_path, None, "--workers", "1", query_timeout=SHORT_TIMEOUT)
    try:
        wait_for_workers(server.url, 1, timeout=120)
        (ending,) = query_workers(server)
        lookup = "ASK { ?s ?p ?o }"
        with httpx.Client(base_url=server.url, timeout=120) as kept, concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert kept.get("/sparql", params={"query": lookup}).status_code == 200  # the connection stays open
            runaway = pool.submit(httpx.get, server.url + "/sparql", params={"query": RUNAWAY}, timeout=120)
            deadline = time.monotonic() + 120
            while kept.get("/health").json()["queries_running"] == 0:
                assert time.monotonic() < deadline and not runaway.done()
                time.sleep(0.05)
            # A request whose body is still on its way when the runaway query is stopped.
            body = f"query={lookup}".encode()
            host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
            slow = socket.create_connection((host, port), timeout=120)
            slow.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results+json\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:5])
            assert runaway.result().status_code == 503
            # The kept-alive connection is still served, and told to close.
            after = kept.get("/sparql", params={"query": lookup})
            assert after.status_code == 200 and after.headers["connection"] == "close"
            # The runaway query's thread runs on at the least priority, only until the process ends.
            assert 19 in nice_values(ending).values()
            time.sleep(2)  # longer than the old fixed grace of one second
            slow.sendall(body[5:])
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = slow.recv(65536)
                if not chunk:
                    break
                answer += chunk
            slow.close()
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert b"connection: close" in answer.lower() and b'"boolean": true' in answer.replace(b'":true', b'": true')
        deadline = time.monotonic() + 120
        while not (query_workers(server) - {ending}) or Path(f"/proc/{ending}").exists():
            assert time.monotonic() < deadline, "the ending process never made way for a fresh one"
            time.sleep(0.1)
    finally:
        server.stop()
