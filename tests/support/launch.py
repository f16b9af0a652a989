"""Starting `gros serve` the way the reliability tests need it, next to server_fixture.py:
with extra environment (a token file), again on a store that an earlier process left behind
(after a kill), or expecting it to fail.

The content root and flags are those of server_fixture.start_server, so these servers answer
like the shared one.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from server_fixture import GROS, MAX_ROWS, QUERY_TIMEOUT, START_TIMEOUT, TIMEOUT_PENALTY, WORKERS, RunningServer, content_root, free_port


def command(root: Path, store: Path, port: int, *extra: str) -> list[str]:
    return [str(GROS), "serve", "--root", str(root), "--store", str(store), "--port", str(port),
            "--query-timeout", f"{QUERY_TIMEOUT:g}", "--workers", str(WORKERS), "--max-rows", str(MAX_ROWS),
            "--timeout-penalty", f"{TIMEOUT_PENALTY:g}", *extra]


def environment(token: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROS_")}
    if token:
        env["GROS_UPDATE_TOKEN"] = token
    env.update(extra)
    return env


def spawn(folder: Path, root: Path, store: Path, env: dict[str, str], *extra: str,
          log_name: str = "server.log") -> RunningServer:
    """Start gros serve without waiting for it."""
    port = free_port()
    log = folder / log_name
    with log.open("ab") as out:
        process = subprocess.Popen(command(root, store, port, *extra), stdout=out, stderr=subprocess.STDOUT,
                                   env=env, cwd=folder)
    return RunningServer(f"http://127.0.0.1:{port}", env.get("GROS_UPDATE_TOKEN"), root, store, process, log)


def wait_ready(running: RunningServer, timeout: float = START_TIMEOUT) -> RunningServer:
    began = time.monotonic()
    while True:
        if running.process.poll() is not None:
            raise AssertionError(f"gros serve exited with {running.process.returncode}:\n{running.output()}")
        try:
            if httpx.get(running.url + "/health", timeout=2).status_code == 200:
                running.started_in = time.monotonic() - began
                return running
        except httpx.HTTPError:
            pass
        if time.monotonic() - began > timeout:
            running.stop()
            raise AssertionError(f"gros serve was not ready within {timeout:g} s:\n{running.output()}")
        time.sleep(0.2)


def start(folder: Path, env: dict[str, str], *extra: str) -> RunningServer:
    """A fresh content root and store in `folder`, served; like server_fixture.start_server."""
    root = content_root(folder / "root")
    return wait_ready(spawn(folder, root, root / "var" / "store", env, *extra))


def restart(previous: RunningServer, *extra: str) -> RunningServer:
    """The same root and store again, on a new port (after the previous process ended)."""
    folder = previous.log.parent
    env = environment(previous.token)
    return wait_ready(spawn(folder, previous.root, previous.store, env, *extra))


def run_to_exit(folder: Path, root: Path, store: Path, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Start gros serve where it is expected to refuse to start: (exit code, output)."""
    result = subprocess.run(command(root, store, free_port()), capture_output=True, text=True, env=env,
                            cwd=folder, timeout=timeout)
    return result.returncode, result.stdout + result.stderr
