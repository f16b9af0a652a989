"""Real SPARQL 1.1 stores on loopback, for the remote-store tests and benchmarks.

Plain functions, no pytest fixtures, so bench scripts can use them too:

    with start_oxigraph(folder) as store:        # `oxigraph serve` (PyPI package oxigraph)
        httpx.post(store.update_url, data={"update": "INSERT DATA { ... }"})
    with start_virtuoso(folder) as store:        # Debian's virtuoso-opensource
        ...

Each store gets its own files in `folder`, listens on free loopback ports only, and uses the union
of its named graphs as the default graph of queries. `stop()` (or leaving the `with`) ends the
process and waits for it. What each store does differently is in docs/remote-stores.md.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx

from server_fixture import free_port, stop_process

HERE = Path(__file__).resolve().parent
VIRTUOSO_INI = HERE / "stores" / "virtuoso.ini"
VIRTUOSO_SETUP = HERE / "stores" / "virtuoso-setup.sql"

#: A fresh Virtuoso database takes about 5 s to create on a quiet machine; give it slack on a busy one.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
#: Ports are picked free, then bound by the child: another process may take one in between.
START_ATTEMPTS = 3


class StoreUnavailable(RuntimeError):
    """The store's program is not installed; the message says how to install it."""


@dataclass
class RunningStore:
    name: str
    query_url: str
    update_url: str
    graph_store_url: str | None  # SPARQL 1.1 Graph Store Protocol endpoint, None where unusable
    process: subprocess.Popen
    folder: Path
    log: Path
    started_in: float = 0.0  # seconds from launch until the store answered (setup included)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT)

    def __enter__(self) -> "RunningStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def find_program(name: str, how_to_install: str, next_to_python: bool = False) -> str:
    """The program's path: in the running venv first (where pip puts it), else on PATH."""
    if next_to_python:
        candidate = Path(sys.executable).with_name(name)
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise StoreUnavailable(f"`{name}` was not found (looked next to {sys.executable} and on PATH): {how_to_install}")
    return found


def answers(query_url: str) -> bool:
    try:
        return httpx.get(query_url, params={"query": "ASK {}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_answering(store: RunningStore, began: float, timeout: float) -> None:
    while not answers(store.query_url):
        if store.process.poll() is not None:
            raise RuntimeError(f"{store.name} exited with {store.process.returncode} before answering:\n{store.output()}")
        if time.monotonic() - began > timeout:
            store.stop()
            raise RuntimeError(f"{store.name} did not answer within {timeout:g} s:\n{store.output()}")
        time.sleep(0.1)


def launch(start_once, folder: Path) -> RunningStore:
    """start_once(folder) with retries for the rare port taken between free_port() and the bind."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return start_once(folder)
        except RuntimeError as error:
            if isinstance(error, StoreUnavailable) or attempt == START_ATTEMPTS or "exited with" not in str(error):
                raise
    raise AssertionError("unreachable")


# --- oxigraph serve ------------------------------------------------------------------------------

OXIGRAPH_INSTALL = "install the PyPI package `oxigraph` (it is in the test extra: .venv/bin/pip install -e '.[test]')"


def start_oxigraph(folder: Path, timeout: float = START_TIMEOUT) -> RunningStore:
    """`oxigraph serve` on a free loopback port, its database in folder/oxigraph, union default graph."""
    program = find_program("oxigraph", OXIGRAPH_INSTALL, next_to_python=True)

    def once(folder: Path) -> RunningStore:
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = folder / "oxigraph.log"
        command = [program, "serve", "--location", str(folder / "oxigraph"), "--bind", f"127.0.0.1:{port}",
                   "--union-default-graph"]
        began = time.monotonic()
        with log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        store = RunningStore("oxigraph", f"{base}/query", f"{base}/update", f"{base}/store", process, folder, log)
        wait_until_answering(store, began, timeout)
        store.started_in = time.monotonic() - began
        return store

    return launch(once, folder)


# --- Virtuoso (Debian's virtuoso-opensource) -----------------------------------------------------

VIRTUOSO_INSTALL = ("install Debian's virtuoso-opensource (as root: apt-get update && "
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource), or run `make test-virtuoso`")
#: The database's administrator as a fresh Debian database creates it; only reachable on loopback.
VIRTUOSO_DBA = ("dba", "dba")


def start_virtuoso(folder: Path, timeout: float = START_TIMEOUT) -> RunningStore:
    """virtuoso-t in the foreground with its own database in folder, HTTP and ISQL on free loopback ports.

    After it answers, tests/stores/virtuoso-setup.sql runs through isql-vt as dba: it lets the
    anonymous SPARQL user update, which is what /sparql (update) and /sparql-graph-crud (Graph Store
    Protocol, no authentication) run as.
    """
    program = find_program("virtuoso-t", VIRTUOSO_INSTALL)
    isql = find_program("isql-vt", VIRTUOSO_INSTALL)

    def once(folder: Path) -> RunningStore:
        folder.mkdir(parents=True, exist_ok=True)
        http_port, isql_port = free_port(), free_port()
        config = folder / "virtuoso.ini"
        config.write_text(Template(VIRTUOSO_INI.read_text()).substitute(
            folder=str(folder.resolve()), http_port=http_port, isql_port=isql_port))
        log = folder / "virtuoso.out"
        base = f"http://127.0.0.1:{http_port}"
        began = time.monotonic()
        with log.open("ab") as out:
            # cwd: Virtuoso resolves relative paths (DirsAllowed = .) against it.
            process = subprocess.Popen([program, "+foreground", "+configfile", str(config)], stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder)
        store = RunningStore("virtuoso", f"{base}/sparql", f"{base}/sparql", f"{base}/sparql-graph-crud",
                             process, folder, log)
        wait_until_answering(store, began, timeout)
        try:
            run_isql(isql, isql_port, VIRTUOSO_SETUP, began + timeout)
        except Exception:
            store.stop()
            raise
        store.started_in = time.monotonic() - began
        return store

    return launch(once, folder)


def run_isql(isql: str, port: int, script: Path, deadline: float) -> None:
    """Run an SQL script as dba; isql-vt exits 0 even on SQL errors, so its output is checked too."""
    user, password = VIRTUOSO_DBA
    while True:
        result = subprocess.run([isql, f"127.0.0.1:{port}", user, password, str(script)], capture_output=True,
                                text=True, timeout=max(5.0, deadline - time.monotonic()), stdin=subprocess.DEVNULL)
        output = result.stdout + result.stderr
        if result.returncode == 0 and "*** Error" not in output:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"isql-vt {script.name} failed (exit {result.returncode}):\n{output}")
        time.sleep(0.2)
