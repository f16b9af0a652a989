"""The one writer of `gros serve`: a process of its own that owns the store.

It validates and loads the content on start (service.Service.prepare), then takes writes from
the serving processes over a Unix socket (multiprocessing.connection, with a key only the
processes of this `gros serve` know): each write goes through Service.write, which checks it
with the SHACL gate, commits it and publishes the new revision before the answer goes back.
Writes are sequential (Service.writer), whichever serving process received them.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import threading
from multiprocessing.connection import Client, Listener

from gros.errors import GrosError
from gros.runtime.service import WriteOutcome

log = logging.getLogger("gros.writer")


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the process that started it ends (kill -9 of
    `gros serve` must not leave a writer holding the store)."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _problem(err: GrosError) -> dict:
    return {**err.to_dict(), "headers": dict(err.headers or {})}


def writer_main(settings, address: str, authkey: bytes, report) -> None:
    """The writer process: prepare, then serve writes until the parent goes."""
    die_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from gros import patches
    from gros.content.files import ContentErrors
    from gros.runtime.service import InvalidContent, Service
    from gros.shacl import validation

    patches.apply()
    service = None
    try:
        service = Service(settings)
        service.prepare()
    except InvalidContent as err:
        report.send(("failed", (1, validation.render_text(err.report)
                     + "\nThe shipped data is not valid; the server does not start.")))
        return
    except ContentErrors as errors:
        report.send(("failed", (2, "\n".join(str(e) for e in errors.errors))))
        return
    except (OSError, RuntimeError) as err:
        if settings.remote:
            report.send(("failed", (2, f"error: the remote store could not be used: {err}")))
        else:
            report.send(("failed", (2, f"error: the store at {settings.store_path or settings.default_store} could not be read "
                                      f"({err}); it may be damaged: restore a backup into a new folder "
                                      f"(gros restore) and start on that")))
        return
    except GrosError as err:  # a token file or a store that cannot be used: say what, as `gros` does
        report.send(("failed", (err.exit_code, f"error: {err}")))
        return
    asyncio.run(_serve(service, address, authkey, report))


async def _serve(service, address: str, authkey: bytes, report) -> None:
    await service.start()
    loop = asyncio.get_running_loop()
    listener = Listener(address, family="AF_UNIX", authkey=authkey)
    names = list(service.tokens.names) if service.tokens.enabled else []
    report.send(("ready", {"revision": service.revision, "store": str(service.settings.store_path), "tokens": names}))

    def handle(conn) -> None:
        with conn:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            try:
                outcome = asyncio.run_coroutine_threadsafe(service.write(job), loop).result()
                conn.send(("ok", outcome))
            except GrosError as err:
                conn.send(("error", _problem(err)))
            except Exception:  # a bug: the serving process answers 500, the traceback stays here
                log.exception("write failed")
                conn.send(("error", _problem(GrosError("the write could not be completed because of an internal "
                                                       "error; nothing was written", status=500))))

    def accept() -> None:
        while True:
            try:
                conn = listener.accept()
            except OSError:  # a client that did not know the key, or the listener closed
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True, name="gros-write").start()

    threading.Thread(target=accept, daemon=True, name="gros-writer-accept").start()
    while True:  # checkpoints that serving processes stopped reading are removed now and then
        await asyncio.sleep(2.0)
        await loop.run_in_executor(None, service.sweep)


class RemoteWriter:
    """A serving process's way to the writer process."""

    def __init__(self, address: str, authkey: bytes):
        self.address = address
        self.authkey = authkey

    def _call(self, job):
        try:
            with Client(self.address, family="AF_UNIX", authkey=self.authkey) as conn:
                conn.send(job)
                return conn.recv()
        except (OSError, EOFError) as err:
            raise GrosError(f"the writer process cannot be reached ({err}); the write was not made", status=503,
                            headers={"Retry-After": "1"}) from None

    async def write(self, job) -> WriteOutcome:
        kind, payload = await asyncio.get_running_loop().run_in_executor(None, self._call, job)
        if kind == "ok":
            return payload
        problem = GrosError.from_dict(payload)
        problem.headers = dict(payload.get("headers") or {})
        raise problem


class LocalWriter:
    """The writer in this very process (the app run in process, without `gros serve`)."""

    def __init__(self, service):
        self.service = service

    async def write(self, job) -> WriteOutcome:
        return await self.service.write(job)


def socket_path() -> str:
    """A Unix socket path short enough for the 108-byte limit, wherever the store is."""
    import tempfile
    import uuid

    return os.path.join(tempfile.gettempdir(), f"gros-writer-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock")
