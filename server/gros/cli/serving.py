"""`gros serve`: the writer process, then the serving processes under gunicorn's arbiter.

This process validates nothing and opens no store itself: it starts the writer
(runtime/writer.py, a fresh interpreter), which validates, loads and then owns the store, and
waits for it to say it is ready. Only then does it become gunicorn's arbiter, which forks the
serving processes (runtime/supervisor.py): forking is safe because this process holds no
RocksDB handle and runs no thread of its own at that point.
"""
from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import secrets
import shutil
import sys

import click

from gros.settings import Settings

#: Seconds the arbiter allows a serving process's oldest query past the time limit before it
#: kills the process (a process ends by itself, see supervisor.py; this is for one that cannot).
ARBITER_MARGIN = 2


def serve_processes(settings: Settings) -> None:
    if settings.store_path is None:
        settings = settings.with_(store_path=settings.default_store)
    # As runtime.service.run_folder, which cannot be imported yet: it imports prometheus_client.
    run_dir = settings.store_path.with_name(settings.store_path.name + ".run")
    shutil.rmtree(run_dir, ignore_errors=True)  # left over from an earlier run
    (run_dir / "metrics").mkdir(parents=True)
    # prometheus_client reads this when it is first imported (by a serving process or the
    # writer), so every process writes its samples where /metrics adds them up.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir / "metrics")

    from gros.runtime.service import run_folder
    from gros.runtime.writer import socket_path, writer_main

    assert run_folder(settings) == run_dir

    address, authkey = socket_path(), secrets.token_bytes(32)
    context = mp.get_context("spawn")
    report, child_end = context.Pipe(duplex=False)
    writer = context.Process(target=writer_main, args=(settings, address, authkey, child_end),
                             name="gros-writer", daemon=False)
    writer.start()
    child_end.close()
    try:
        kind, info = report.recv()
    except EOFError:
        writer.join()
        click.echo(f"error: the writer process ended before it was ready (exit code {writer.exitcode})", err=True)
        sys.exit(1)
    if kind == "failed":
        code, text = info
        writer.join()
        click.echo(text, err=True)
        sys.exit(code)

    writers = f"updates enabled for {', '.join(info['tokens'])}" if info["tokens"] else "read-only"
    where = f", on the remote store {settings.remote_query}" if settings.remote else ""
    click.echo(f"Content: {settings.content_in_use}", err=True)
    if not settings.remote:
        click.echo(f"Store: {info['store']}", err=True)
    click.echo(f"Serving the GROS knowledge graph on http://{settings.host}:{settings.port}/sparql "
               f"({writers}{where}; {settings.workers} serving processes)", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    arbiter = os.getpid()
    try:
        Application(settings, address, authkey, run_dir).run()
    except SystemExit as leaving:
        # gunicorn ends a serving process (forked from here) with sys.exit: it leaves with its
        # code, and never runs the arbiter's clean-up below (which would kill the writer).
        if os.getpid() != arbiter:
            os._exit(leaving.code if isinstance(leaving.code, int) else 1)
        raise
    finally:
        writer.kill()
        writer.join(timeout=5)
        try:
            os.unlink(address)
        except OSError:
            pass


def _application_base():
    from gunicorn.app.base import BaseApplication

    return BaseApplication


class Application(_application_base()):
    """gunicorn run from Python (its documented custom application): our settings, our worker."""

    def __init__(self, settings: Settings, address: str, authkey: bytes, run_dir):
        self.settings = settings
        self.address = address
        self.authkey = authkey
        self.run_dir = run_dir
        super().__init__()

    def load_config(self) -> None:
        host = self.settings.host
        bind = f"[{host.strip('[]')}]:{self.settings.port}" if ":" in host else f"{host}:{self.settings.port}"
        run_dir = self.run_dir

        def child_exit(server, worker) -> None:
            # A serving process ended: count it for /health and /metrics unless we are stopping.
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)
            (run_dir / "ready" / str(worker.pid)).unlink(missing_ok=True)
            with open(run_dir / "restarts", "ab") as counter:
                counter.write(b".")

        options = {
            "bind": [bind],
            "workers": self.settings.workers,
            "worker_class": "gros.runtime.supervisor.ServingWorker",
            # the heartbeat carries the start of the oldest query (supervisor.py)
            "timeout": math.ceil(self.settings.query_timeout) + ARBITER_MARGIN,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,  # our own access log has the timing (ops/observability.py)
            "errorlog": "-",
            "loglevel": "info",
            "proc_name": "gros-serve",
            "control_socket_disable": True,  # gunicorn's control socket: one per user, not per server
            "child_exit": child_exit,
            # Trust X-Forwarded-For from a proxy on this machine, as uvicorn did by default.
            "forwarded_allow_ips": "127.0.0.1",
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from gros.http.app import create_app
        from gros.runtime.serving import Serving
        from gros.runtime.writer import RemoteWriter

        return create_app(self.settings, Serving(self.settings, RemoteWriter(self.address, self.authkey)))
