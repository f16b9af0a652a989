"""A real `gros serve` for the HTTP tests: a subprocess on a free port, reached over real HTTP.

Registered in conftest.py (`pytest_plugins`). Fixtures:

- `server` (session): content of this checkout (ontology/, shapes/, queries/) with
  tests/fixtures/valid/minimal.ttl as the only data file, in a temporary root; started with
  `--query-timeout 30 --workers 2 --max-rows 50 --timeout-penalty 0` and GROS_UPDATE_TOKEN=test-token.
  The time limit is generous: on a loaded machine ordinary requests must never meet it.
- `readonly_server` (session, started only by the tests that ask for it): the same without a token.
- `scratch_server` (one test): the same as `server`, for a test that may break the store.
- `limited_server` (session, started only by the tests of the time limit): the same without a token and
  with `--query-timeout 3`; only RUNAWAY queries (which never end on their own) and trivial ones go there.
- `client`: an httpx.Client for `server`; `fresh_graph`: a graph IRI no other test uses.
- `empty_server` (one module): a server on a content root with no content files at all (empty
  ontology/, data/, shapes/): the store holds only what the tests write, as the W3C suites expect.

Helpers used by several test modules: `select`, `ask`, `update`, `dump_store`, `wait_for_workers`,
`query_workers` (a server's worker processes, from /proc).
"""
from __future__ import annotations

import json
import sys
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl"
GROS = Path(sys.executable).with_name("gros")  # the venv running the tests
TOKEN = "test-token"
BASE = "https://w3id.org/gros/"
GRAPH_BASE = BASE + "graph/"
MINIMAL_GRAPH = GRAPH_BASE + "minimal"
START_TIMEOUT = 240.0  # a generous deadline: a loaded 2-core machine validates and loads slowly

#: The server's flags; tests of the limits rely on them.
#: Generous: the shared servers serve ordinary work (W3C suites, pages, updates), which must never be
#: stopped at the time limit however loaded the machine is. The time limit itself is tested on
#: `limited_server`, with SHORT_TIMEOUT and queries that never end.
QUERY_TIMEOUT = 30.0
SHORT_TIMEOUT = 3.0
#: A query that never ends on its own: a seven-fold cross product of the whole store (thousands of
#: triples to the seventh power). Whatever the machine, only the time limit stops it.
RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n1 ?o . ?p ?q ?r . ?s ?t ?u }")
WORKERS = 2
MAX_ROWS = 50
#: Off: every test reaches its server from 127.0.0.1, so one test's stopped query would make the
#: next tests wait (the penalty has its own tests, tests/ops/test_penalties.py, on servers of their own).
TIMEOUT_PENALTY = 0


@dataclass
class RunningServer:
    url: str
    token: str | None
    root: Path
    store: Path
    process: subprocess.Popen
    log: Path
    started_in: float = 0.0  # seconds from launch to the first 200 on /health

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    @property
    def graphs(self) -> str:
        return self.url + "/rdf-graphs"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Terminate a server we started and wait for it; kill it when it does not end in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def free_port() -> int:
    """A port nothing listens on now, for a server that binds it a few seconds later.

    When pytest-xdist runs the tests in several processes (`make test`), each process takes only
    ports of its own share (port // 2 modulo the number of processes: Linux hands out ports of
    one parity to bind(0)), so that two processes of a run never pick the same port in the time
    between asking and binding."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = int(worker[2:]) % count if worker.startswith("gw") and count > 1 else None
    for _ in range(1000):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if share is None or (port // 2) % count == share:
            return port
    return port  # the ports of this share are all in use: any free one will do


def content_root(folder: Path, data: Path | None = None) -> Path:
    """A content root: this checkout's ontology, shapes and queries, and minimal.ttl as data (or
    the Turtle files of the folder `data`, such as this checkout's data/)."""
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "data").mkdir()
    if data is not None:
        for path in sorted(data.glob("*.ttl")):
            shutil.copy(path, folder / "data" / path.name)
        return folder
    if not MINIMAL.is_file():
        pytest.fail(f"{MINIMAL} is missing: the HTTP tests serve it as their only data file")
    shutil.copy(MINIMAL, folder / "data" / "minimal.ttl")
    return folder


def empty_root(folder: Path) -> Path:
    """A content root without any content file."""
    for name in ("ontology", "shapes", "data"):
        (folder / name).mkdir(parents=True)
    return folder


def start_server(folder: Path, token: str | None, *extra_args: str, env: dict[str, str] | None = None,
                 data: Path | None = None, content: bool = True, query_timeout: float = QUERY_TIMEOUT,
                 start_timeout: float = START_TIMEOUT) -> RunningServer:
    """`env`: GROS_* settings of this server's own (the caller's GROS_* are never passed on);
    `data`: a folder of Turtle files to serve instead of minimal.ttl; `content`: False for a root
    without content files; `query_timeout`: --query-timeout; `start_timeout`: longer for a server of
    the whole data/, whose first start validates it all."""
    extra_env = env or {}
    root = content_root(folder / "root", data) if content else empty_root(folder / "root")
    store = root / "var" / "store"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")} | extra_env
    if token:
        env["GROS_UPDATE_TOKEN"] = token
    log = folder / "server.log"
    command = [str(GROS), "serve", "--root", str(root), "--store", str(store), "--port", str(port),
               "--query-timeout", f"{query_timeout:g}", "--workers", str(WORKERS), "--max-rows", str(MAX_ROWS),
               "--timeout-penalty", f"{TIMEOUT_PENALTY:g}", *extra_args]
    began = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder)
    running = RunningServer(f"http://127.0.0.1:{port}", token, root, store, process, log)
    deadline = began + start_timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"gros serve exited with {process.returncode} before it was ready:\n"
                        f"{' '.join(command)}\n{running.output()}")
        try:
            if httpx.get(running.url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            running.stop()
            pytest.fail(f"gros serve did not answer GET /health with 200 within {start_timeout:g} s:\n"
                        f"{' '.join(command)}\n{running.output()}")
        time.sleep(0.2)
    running.started_in = time.monotonic() - began
    return running


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("gros-server"), TOKEN)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def readonly_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("gros-readonly"), None)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory):
    """A server with a short time limit (SHORT_TIMEOUT), for the tests that run into it."""
    running = start_server(tmp_path_factory.mktemp("gros-limited"), None, query_timeout=SHORT_TIMEOUT)
    yield running
    running.stop()


@pytest.fixture
def scratch_server(tmp_path):
    """A server of its own, for a test whose failure would damage the store that the others share."""
    running = start_server(tmp_path, TOKEN)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("gros-empty"), TOKEN, content=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def empty_client(empty_server):
    with httpx.Client(base_url=empty_server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture
def fresh_graph() -> str:
    return f"{GRAPH_BASE}test-{uuid.uuid4().hex}"


@dataclass
class Known:
    """A resource that minimal.ttl describes, found by asking the server (so the tests follow the fixture)."""
    resource: str
    label_nl: str
    label_en: str
    type: str
    triples: int  # triples with the resource as subject in the minimal graph
    source: str  # a gros:Source of minimal.ttl


@pytest.fixture(scope="session")
def known(client) -> Known:
    rows = select(client, f"""
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?s ?type ?nl ?en WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{
            ?s a ?type ; rdfs:label ?nl , ?en .
            FILTER(LANG(?nl) = "nl" && LANG(?en) = "en" && STRSTARTS(STR(?type), "https://w3id.org/gros/def#"))
        }} }} ORDER BY ?s ?type LIMIT 1""")
    assert rows, "minimal.ttl describes no resource of a gros: class with labels in nl and en"
    row = rows[0]
    count = select(client, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{ <{row['s']}> ?p ?o }} }}")
    sources = select(client, f"""SELECT ?s WHERE {{ GRAPH <{MINIMAL_GRAPH}> {{
        ?s a <https://w3id.org/gros/def#Source> }} }} ORDER BY ?s LIMIT 1""")
    assert sources, "minimal.ttl describes no gros:Source"
    return Known(row["s"], row["nl"], row["en"], row["type"], int(count[0]["n"]), sources[0]["s"])


# --- helpers --------------------------------------------------------------------------------------

def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def select(http: httpx.Client, query: str, **params) -> list[dict[str, str]]:
    """The rows of a SELECT (values only), asserting the request succeeded."""
    response = http.get("/sparql", params={"query": query, **params},
                        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    data = response.json()
    return [{k: v["value"] for k, v in row.items()} for row in data["results"]["bindings"]]


def ask(http: httpx.Client, query: str, **params) -> bool:
    response = http.get("/sparql", params={"query": query, **params},
                        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return response.json()["boolean"]


def update(http: httpx.Client, text: str, token: str | None = TOKEN, **params) -> httpx.Response:
    """POST an update (application/sparql-update); returns the response unchecked."""
    headers = {"Content-Type": "application/sparql-update"}
    if token:
        headers.update(auth(token))
    return http.post("/sparql", content=text.encode("utf-8"), headers=headers, params=params)


def named_graphs(http: httpx.Client) -> list[str]:
    """Every named graph in the store, from the service description (which the row limit does not cut)."""
    from rdflib import Graph, Namespace

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    response = http.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.text
    graph = Graph().parse(data=response.text, format="turtle")
    return sorted(str(name) for name in graph.objects(None, sd.name))


def dump_store(http: httpx.Client) -> dict[str, list[str]]:
    """The whole store, every graph as sorted N-Triples lines, read through the Graph Store Protocol.

    The store holds no blank nodes (they are skolemised), so equal stores give equal dumps.
    """
    dump = {}
    for name in [None, *named_graphs(http)]:
        params = {"default": ""} if name is None else {"graph": name}
        response = http.get("/rdf-graphs", params=params, headers={"Accept": "application/n-triples"})
        assert response.status_code == 200, (name, response.text)
        dump[name or "DEFAULT"] = sorted(line for line in response.text.splitlines() if line.strip())
    return dump


def revision(http: httpx.Client) -> int:
    response = http.get("/health")
    assert response.status_code == 200, response.text
    return response.json()["revision"]


def wait_for_workers(url: str, workers: int = WORKERS, timeout: float = 30.0) -> None:
    """Wait until `workers` workers are idle and simple queries run (killed workers were replaced)."""
    import concurrent.futures

    def one() -> int:
        try:
            return httpx.get(url + "/sparql", params={"query": "ASK {}"}, timeout=10).status_code
        except httpx.HTTPError:
            return 0

    def idle() -> int:
        try:
            return httpx.get(url + "/health", timeout=10).json().get("workers_idle", 0)
        except (httpx.HTTPError, ValueError):
            return 0

    deadline = time.monotonic() + timeout
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        while time.monotonic() < deadline:
            # A replacement joins the pool only once it has started (workers.py), so two quick
            # queries may both run on the one worker left: count the idle ones too.
            if idle() >= workers and all(code == 200 for code in pool.map(lambda _: one(), range(workers))):
                return
            time.sleep(0.2)
    raise AssertionError(f"the server at {url} did not get {workers} free workers back within {timeout:g} s")


def problem(response: httpx.Response) -> dict:
    """The JSON error body, checked for the shape docs/contracts.md fixes."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = json.loads(response.text)
    assert set(body) == {"error", "status", "details"}, body
    assert body["status"] == response.status_code
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], list)
    return body


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid` (Linux /proc): a server's query workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def query_workers(server: RunningServer) -> set[int]:
    """The process ids of a server's serving processes, which run the read queries: the children
    of `gros serve` (the arbiter) that it forked, not those started by multiprocessing's spawn
    (the writer process, the resource tracker)."""
    found = set()
    for pid in children(server.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if not any(b"multiprocessing" in part for part in command):
            found.add(pid)
    return found


def worker_restarts(server: RunningServer) -> int:
    """How many query workers the server has killed and replaced (/health)."""
    response = httpx.get(server.url + "/health", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["worker_restarts"]


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a killed worker that was reaped is gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
