"""The changes gros makes to rdflib's behaviour, in one place, applied explicitly at start-up.

`apply()` is called by the app factory, the CLI, each query worker and the library functions that
depend on a patch (validation, the write gate); it is idempotent. Each patch has a test in
tests/core/test_patches.py that shows the behaviour it prevents.
"""
from __future__ import annotations

import urllib.error
import urllib.request
from functools import lru_cache

_applied = False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error, not a new request: an allow-listed SERVICE endpoint cannot send
    the server on to an address that is not on the list (sparql/guards.py)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {newurl} not followed", headers, fp)


def _no_graph_loading() -> None:
    # rdflib would otherwise fetch from the web any IRI named in FROM, USING or LOAD.
    import rdflib.plugins.sparql

    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False


def _no_redirects_for_service() -> None:
    # rdflib evaluates SERVICE (in updates, which rdflib runs) with urllib's urlopen, which follows redirects.
    import rdflib.plugins.sparql.evaluate

    rdflib.plugins.sparql.evaluate.urlopen = urllib.request.build_opener(_NoRedirects()).open


def _reuse_prepared_queries() -> None:
    """Make rdflib parse each SPARQL text once instead of once per evaluation.

    pyshacl evaluates a SPARQL constraint once per focus node and passes rdflib the query *text*
    each time; rdflib parses it anew every time, which was 80-90% of the validation time of our data
    (2 minutes). A translated query is reusable (that is what rdflib's prepareQuery is for), so it is
    cached by text, base and namespaces. Results are unchanged.
    """
    from rdflib.plugins.sparql import processor

    @lru_cache(maxsize=2048)
    def prepared(text, base, namespaces):
        return processor.translateQuery(processor.parseQuery(text), base, dict(namespaces) or None)

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: N803
        if isinstance(strOrQuery, str):
            strOrQuery = prepared(strOrQuery, base, frozenset((initNs or {}).items()))
        return processor.evalQuery(self.graph, strOrQuery, initBindings, base)

    processor.SPARQLProcessor.query = query


def _targets():
    import rdflib.plugins.sparql
    import rdflib.plugins.sparql.evaluate
    from rdflib.plugins.sparql import processor

    return [(rdflib.plugins.sparql, "SPARQL_LOAD_GRAPHS"), (rdflib.plugins.sparql.evaluate, "urlopen"),
            (processor.SPARQLProcessor, "query")]


_originals: list[tuple[object, str, object]] = []


def apply() -> None:
    global _applied
    if _applied:
        return
    if not _originals:
        _originals.extend((owner, name, getattr(owner, name)) for owner, name in _targets())
    _no_graph_loading()
    _no_redirects_for_service()
    _reuse_prepared_queries()
    _applied = True


def revert() -> None:
    """rdflib as it comes (for the tests that show what each patch prevents)."""
    global _applied
    for owner, name, value in _originals:
        setattr(owner, name, value)
    _applied = False
