"""Why each change to rdflib in gros/patches.py exists: what rdflib does without it, and that with it
that no longer happens. A local HTTP server stands in for the web."""
from __future__ import annotations

import http.server
import threading
import urllib.error

import pytest
import rdflib
import rdflib.plugins.sparql
import rdflib.plugins.sparql.evaluate
from rdflib.plugins.sparql import processor

from gros import patches

TURTLE = b"<http://example.org/s> <http://example.org/p> <http://example.org/o> .\n"


@pytest.fixture
def web():
    """A server on loopback: /doc answers Turtle, /moved redirects to /doc; it counts the requests."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            if self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "/doc")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle")
            self.end_headers()
            self.wfile.write(TURTLE)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.fixture
def unpatched():
    """rdflib as it comes; gros's patches are applied again afterwards."""
    patches.apply()  # records rdflib's own functions, whatever ran before
    patches.revert()
    yield
    patches.apply()


def test_without_the_patch_rdflib_fetches_a_graph_named_in_load_and_with_it_it_does_not(web, unpatched):
    base, seen = web
    update = f"LOAD <{base}/doc>"
    rdflib.Dataset().update(update)
    assert seen == ["/doc"]  # rdflib went to the web for it
    patches.apply()
    rdflib.Dataset().update(update)
    assert seen == ["/doc"]  # and no longer does


def test_without_the_patch_service_follows_a_redirect_and_with_it_it_does_not(web, unpatched):
    base, seen = web
    update = f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{base}/moved> {{ ?s ?p ?o }} }}"
    try:
        rdflib.Graph().update(update)
    except Exception:
        pass  # the redirect target answers Turtle, not SPARQL results; what matters is that it was asked
    assert seen[0].startswith("/moved") and seen[1] == "/doc"  # the redirect was followed
    seen.clear()
    patches.apply()
    with pytest.raises(urllib.error.HTTPError, match="not followed"):
        rdflib.Graph().update(update)
    assert len(seen) == 1 and seen[0].startswith("/moved")  # the redirect target was never asked


def test_without_the_patch_each_evaluation_parses_the_query_again_and_with_it_once(monkeypatch, unpatched):
    calls = []
    real = processor.parseQuery
    monkeypatch.setattr(processor, "parseQuery", lambda *a, **k: calls.append(1) or real(*a, **k))
    graph = rdflib.Graph()
    text = "SELECT ?s WHERE { ?s ?p ?o } # parsed how often?"
    graph.query(text)
    graph.query(text)
    assert len(calls) == 2
    calls.clear()
    patches.apply()
    for _ in range(3):
        graph.query(text)
    assert len(calls) == 1
