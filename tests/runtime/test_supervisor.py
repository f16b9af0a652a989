"""runtime/supervisor.py in isolation: the coalescing transport and the answers of an ending
process (what they do over real HTTP is in tests/http/test_serving_core.py)."""
from __future__ import annotations

import asyncio

from gros.runtime import supervisor
from gros.runtime.serving import PROCESS


class Recording:
    """A transport that records its writes."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 8000) if name == "peername" else default


def test_what_one_turn_writes_goes_out_as_one_write():
    async def run():
        transport = Recording()
        writes = supervisor.CoalescingWrites(transport, asyncio.get_running_loop())
        writes.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        writes.write(b"body")
        assert transport.writes == []  # held until the end of this turn
        await asyncio.sleep(0)
        assert transport.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"]
        writes.write(b"next")
        await asyncio.sleep(0)
        assert transport.writes[-1] == b"next"

    asyncio.run(run())


def test_a_large_answer_is_not_held():
    async def run():
        transport = Recording()
        writes = supervisor.CoalescingWrites(transport, asyncio.get_running_loop())
        writes.write(b"head")
        writes.write(b"x" * supervisor.HOLD_LIMIT)
        assert transport.writes == [b"head" + b"x" * supervisor.HOLD_LIMIT]  # written at once
        await asyncio.sleep(0)
        assert len(transport.writes) == 1  # and not again

    asyncio.run(run())


def test_closing_sends_what_is_held_first():
    async def run():
        transport = Recording()
        writes = supervisor.CoalescingWrites(transport, asyncio.get_running_loop())
        writes.write(b"last answer")
        writes.close()
        assert transport.writes == [b"last answer"] and transport.closed
        await asyncio.sleep(0)  # the scheduled flush finds nothing to send
        assert transport.writes == [b"last answer"]
        assert writes.get_extra_info("peername") == ("127.0.0.1", 8000)  # the rest is the transport's

    asyncio.run(run())


def test_an_ending_process_tells_every_client_to_close(monkeypatch):
    sent = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"connection", b"keep-alive")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message):
        sent.append(message)

    serve = supervisor.closing_when_ending(app)
    asyncio.run(serve({"type": "http"}, None, send))
    assert (b"connection", b"keep-alive") in sent[0]["headers"]  # not ending: untouched
    monkeypatch.setattr(PROCESS, "tainted", True)
    sent.clear()
    asyncio.run(serve({"type": "http"}, None, send))
    assert sent[0]["headers"] == [(b"content-type", b"text/plain"), (b"connection", b"close")]
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
