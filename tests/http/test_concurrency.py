"""Readers and writers at the same time against the real server.

Writers add pairs of triples (a `left` and a `right` with the same value, in one INSERT DATA)
and move per-writer counters on (DELETE/INSERT ... WHERE, a read-modify-write). Meanwhile
readers check, on every query, what the isolation promises (README, "Operations"):

- a query sees whole writes only: never a `left` without its `right`, never a counter with
  none or two values;
- a client sees the store move forward only: the number of pairs and each counter never go back;
- a writer reads its own write in the next request (the snapshot is taken before the 2xx).

No request may get a 5xx, and afterwards the store is the store from before plus exactly the
acknowledged writes.
"""
from __future__ import annotations

import threading
import uuid

import httpx

from launch import environment, start
from server_fixture import GRAPH_BASE, TOKEN, auth, dump_store, revision

EX = "https://example.org/concurrency/"
WRITERS = 2
READERS = 3
WRITES_PER_WRITER = 8


class Run:
    def __init__(self, url: str):
        self.url = url
        self.graph = f"{GRAPH_BASE}concurrency-{uuid.uuid4().hex[:12]}"
        self.statuses: list[int] = []
        self.problems: list[str] = []
        self.pairs_written: list[str] = []
        self.increments = {w: 0 for w in range(WRITERS)}
        self.writing = threading.Event()
        self.lock = threading.Lock()

    def note(self, response: httpx.Response, what: str) -> httpx.Response:
        with self.lock:
            self.statuses.append(response.status_code)
            if response.status_code >= 300:
                self.problems.append(f"{what}: {response.status_code} {response.text[:300]}")
        return response

    def update(self, http: httpx.Client, text: str) -> bool:
        response = http.post("/sparql", content=text.encode(),
                             headers={"Content-Type": "application/sparql-update", **auth()})
        return self.note(response, text[:80]).status_code == 200

    def select(self, http: httpx.Client, query: str) -> list[dict]:
        response = self.note(http.get("/sparql", params={"query": query},
                                      headers={"Accept": "application/sparql-results+json"}), query[:80])
        if response.status_code != 200:
            return []
        return [{k: v["value"] for k, v in row.items()} for row in response.json()["results"]["bindings"]]


def pair_count(run: Run, http: httpx.Client) -> tuple[int, int]:
    """(whole pairs, lone halves) in one query, so both come from one snapshot."""
    rows = run.select(http, f"""SELECT (COUNT(?l) AS ?pairs) (SUM(IF(BOUND(?r), 0, 1)) AS ?lone) WHERE {{
        GRAPH <{run.graph}> {{ ?s <{EX}left> ?l OPTIONAL {{ ?s <{EX}right> ?r FILTER(?r = ?l) }} }} }}""")
    return (int(rows[0]["pairs"]), int(rows[0].get("lone", 0))) if rows else (-1, -1)


def counters(run: Run, http: httpx.Client) -> dict[str, list[int]]:
    rows = run.select(http, f"SELECT ?c ?v WHERE {{ GRAPH <{run.graph}> {{ ?c <{EX}at> ?v }} }}")
    seen: dict[str, list[int]] = {}
    for row in rows:
        seen.setdefault(row["c"], []).append(int(row["v"]))
    return seen


def writer(run: Run, number: int) -> None:
    counter = f"<{EX}counter/{number}>"
    with httpx.Client(base_url=run.url, timeout=60) as http:
        for i in range(WRITES_PER_WRITER):
            subject = f"{EX}pair/{number}-{i}"
            if i % 2 == 0:
                ok = run.update(http, f'INSERT DATA {{ GRAPH <{run.graph}> {{ <{subject}> <{EX}left> "{i}" ; '
                                      f'<{EX}right> "{i}" }} }}')
                if ok:
                    run.pairs_written.append(subject)
                    # read your own write: the next request sees it
                    rows = run.select(http, f"SELECT ?r WHERE {{ GRAPH <{run.graph}> {{ <{subject}> <{EX}right> ?r }} }}")
                    if not rows:
                        run.problems.append(f"writer {number} did not read its own write {subject}")
            else:
                ok = run.update(http, f"""WITH <{run.graph}> DELETE {{ {counter} <{EX}at> ?old }}
                    INSERT {{ {counter} <{EX}at> ?new }} WHERE {{ {counter} <{EX}at> ?old BIND(?old + 1 AS ?new) }}""")
                if ok:
                    run.increments[number] += 1


def reader(run: Run) -> None:
    last_pairs, last_counts = 0, {}
    with httpx.Client(base_url=run.url, timeout=60) as http:
        while run.writing.is_set():
            pairs, lone = pair_count(run, http)
            if lone:
                run.problems.append(f"a query saw {lone} half-written pair(s)")
            if pairs < last_pairs:
                run.problems.append(f"pairs went back from {last_pairs} to {pairs}")
            last_pairs = max(last_pairs, pairs)
            for counter, values in counters(run, http).items():
                if len(values) != 1:
                    run.problems.append(f"a query saw {counter} with values {values}")
                elif values[0] < last_counts.get(counter, 0):
                    run.problems.append(f"{counter} went back from {last_counts[counter]} to {values[0]}")
                else:
                    last_counts[counter] = values[0]


def test_readers_and_writers_at_once(server, client):
    run = Run(server.url)
    for number in range(WRITERS):
        assert run.update(client, f'INSERT DATA {{ GRAPH <{run.graph}> {{ <{EX}counter/{number}> <{EX}at> 0 }} }}')
    before, revision_before = dump_store(client), revision(client)

    run.writing.set()
    readers = [threading.Thread(target=reader, args=(run,)) for _ in range(READERS)]
    writers = [threading.Thread(target=writer, args=(run, n)) for n in range(WRITERS)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=180)
    run.writing.clear()
    for thread in readers:
        thread.join(timeout=60)

    try:
        assert not [s for s in run.statuses if s >= 500], run.problems
        assert not run.problems, run.problems[:10]
        assert len(run.statuses) > 3 * WRITERS * WRITES_PER_WRITER  # the readers did read meanwhile

        # the store afterwards = before + exactly the acknowledged writes
        after = dump_store(client)
        expected = {k: list(v) for k, v in before.items()}
        graph = set(expected[run.graph])
        for subject in run.pairs_written:
            i = subject.rsplit("-", 1)[1]
            graph |= {f'<{subject}> <{EX}left> "{i}" .', f'<{subject}> <{EX}right> "{i}" .'}
        integer = "http://www.w3.org/2001/XMLSchema#integer"
        graph = {line for line in graph if f"<{EX}at>" not in line}
        graph |= {f'<{EX}counter/{n}> <{EX}at> "{count}"^^<{integer}> .' for n, count in run.increments.items()}
        expected[run.graph] = sorted(graph)
        assert after == expected
        # and the revision moved on by one for each write (the bookkeeping is no graph of the dataset)
        assert GRAPH_BASE + "meta" not in after
        assert revision(client) == revision_before + len(run.pairs_written) + sum(run.increments.values())
        assert sum(run.increments.values()) == WRITERS * (WRITES_PER_WRITER // 2)
        assert len(run.pairs_written) == WRITERS * ((WRITES_PER_WRITER + 1) // 2)
    finally:
        client.delete("/rdf-graphs", params={"graph": run.graph}, headers=auth())


def test_reads_of_the_live_store_go_on_while_the_writer_reopens_it(tmp_path):
    # The writer reopens the embedded store every few writes (store.py, RocksDB's MANIFEST); the
    # Graph Store reads and the dumps read the live store, not a snapshot. Here it reopens every
    # 2 writes while readers fetch graphs, test for graphs and download dumps: no 5xx, nothing lost.
    server = start(tmp_path, environment(TOKEN, GROS_STORE_REOPEN_EVERY="2"))
    graph = f"{GRAPH_BASE}reopen-{uuid.uuid4().hex[:8]}"
    statuses: list[int] = []
    problems: list[str] = []
    writing = threading.Event()
    writing.set()

    def read_live() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            turn = 0
            while writing.is_set():
                turn += 1
                for response in (http.get("/rdf-graphs", params={"graph": graph}, headers={"Accept": "application/n-triples"}),
                                 http.head("/rdf-graphs", params={"default": ""}),
                                 http.get("/dumps/gros.nq") if turn % 3 == 0 else None):
                    if response is not None:
                        statuses.append(response.status_code)
                        if response.status_code >= 500:
                            problems.append(f"{response.request.url}: {response.status_code} {response.text[:200]}")

    try:
        readers = [threading.Thread(target=read_live) for _ in range(3)]
        for thread in readers:
            thread.start()
        written = []
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for i in range(20):
                response = http.post("/sparql", content=f'INSERT DATA {{ GRAPH <{graph}> {{ <https://example.org/reopen/{i}> '
                                                        f'<https://example.org/n> "{i}" }} }}'.encode(),
                                     headers={"Content-Type": "application/sparql-update", **auth()})
                assert response.status_code == 200, response.text
                written.append(i)
            writing.clear()
            for thread in readers:
                thread.join(timeout=60)
            assert not problems, problems[:5]
            assert len(statuses) > 20 and set(statuses) <= {200, 404}  # 404: the graph before the first write
            lines = http.get("/rdf-graphs", params={"graph": graph}, headers={"Accept": "application/n-triples"}).text
            assert sorted(int(line.split('"')[1]) for line in lines.splitlines() if line.strip()) == written
        assert "Traceback" not in server.output()
    finally:
        writing.clear()
        server.stop()
