"""What a worker process does with a job (see workers.py): run a query and stream its
serialised results back, or work out what an update would change.

This module runs inside worker processes only. Workers never open the live store: opening
it read-only while the service writes is unsafe (compaction deletes table files under the
reader). They open the snapshot of the current revision that the job names.
"""
from __future__ import annotations

import gc
import logging
import traceback
from itertools import islice

import pyoxigraph as ox

from gros import formats
from gros.content.skolem import BlankNodes
from gros.runtime.jobs import Kind, QueryJob, UpdateJob
from gros.sparql import results
from gros.sparql.guards import network_targets
from gros.errors import GrosError

log = logging.getLogger("gros.execution")

CHUNK = 64 * 1024

#: format= values that clients (SPARQLWrapper among them) also send for CONSTRUCT/DESCRIBE,
#: meaning the RDF serialisation of the same family.
GRAPH_SYNONYMS = {"xml": "rdfxml", "json": "jsonld"}
#: Names clients use for formats that formats.py names otherwise. N3 is answered with Turtle,
#: which is N3 (every Turtle document is an N3 document).
FORMAT_SYNONYMS = {"json-ld": "jsonld", "application/x-json+ld": "jsonld", "n3": "turtle", "text/n3": "turtle", "text/rdf+n3": "turtle",
                   "rdf+xml": "rdfxml", "rdf/xml": "rdfxml", "n-triples": "ntriples", "nt": "ntriples"}


class FormatConflict(GrosError, ValueError):
    """Format parameters that name different formats."""

    status = 400
    exit_code = 2


def requested_format(choices, offered, kind: str) -> str | None:
    """The one format the format parameters (format=, output=, results=) ask for, as a name for
    formats.negotiate; None when there are none. Raises FormatConflict when they disagree, and
    formats.negotiate's errors for an unknown or unavailable format."""
    if isinstance(choices, str):  # a single value (named queries pass one)
        choices = [("format", choices)]
    picked: dict = {}
    for name, value in choices or []:
        # A value may list alternatives (SPARQLWrapper: "application/ld+json,application/x-json+ld"):
        # the first one offered here counts; when none is, the first one's error is the answer.
        found, first_error = None, None
        for alternative in [part.strip() for part in value.split(",") if part.strip()]:
            token = FORMAT_SYNONYMS.get(alternative.lower(), alternative)
            if kind == "graph":
                token = GRAPH_SYNONYMS.get(token.lower(), token)
            try:
                found = (formats.negotiate(None, offered, token), token)
                break
            except formats.FormatError as err:
                first_error = first_error or err
        if found is None:
            raise first_error
        picked.setdefault(found[0], (found[1], []))[1].append(f"{name}={value}")
    if len(picked) > 1:
        sides = "; ".join(f"{' and '.join(given)} means {fmt.label or fmt.name}" for fmt, (_, given) in picked.items())
        raise FormatConflict(f"the format parameters contradict each other: {sides}; send one format")
    return next(iter(picked.values()))[0] if picked else None


class PipeWriter:
    """A binary file-like object that sends what is written as ("chunk", bytes) messages, after
    the ("head", ...) message it is given.

    A result that fits in one chunk goes as a single ("whole", {head, body, end}) message: each
    message costs the service a hop between threads, which for small results was a third of
    the time of a request (bench/RESULTS.md, profile).
    """

    def __init__(self, send, head: dict):
        self.send = send
        self.head = head
        self.head_sent = False
        self.buffer = bytearray()

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.head_sent:
            self.send((Kind.HEAD, self.head))
            self.head_sent = True
        if self.buffer:
            self.send((Kind.CHUNK, bytes(self.buffer)))
            self.buffer.clear()

    def finish(self, end: dict) -> None:
        if self.head_sent:
            self.flush()
            self.send((Kind.END, end))
        else:
            self.send((Kind.WHOLE, {"head": self.head, "body": bytes(self.buffer), "end": end}))
            self.buffer.clear()


def error(status: int, message: str, details: list[dict] | None = None) -> tuple:
    """An error message for the service: a GrosError as data (errors.GrosError.from_dict reads it)."""
    return (Kind.ERROR, GrosError(message, details, status=status).to_dict())


class Executor:
    """What a worker process runs: the jobs it is sent, on the snapshot each names."""

    def __init__(self, settings, warm: bool = True):
        self.settings = settings
        self.store: ox.Store | None = None
        self.snapshot: str | None = None
        if warm:
            # Parse the shapes and ontology now, while the worker starts, not in the first write.
            from gros.shacl.gate import warm_up

            warm_up(settings)

    def _store(self, snapshot: str | None) -> ox.Store:
        """The read-only snapshot the job names (the service makes one per revision), or the
        remote store, which has no snapshots."""
        if self.settings.remote:
            if self.store is None:
                from gros.store.remote import RemoteStore

                self.store = RemoteStore.from_settings(self.settings)
            return self.store
        if self.store is None or snapshot != self.snapshot:
            self.store = None
            # The write gate's rdflib graphs and pyshacl's objects form reference cycles that can hold
            # an old snapshot's store; only a full collection frees them, and with them the files of
            # the snapshot, which the service deletes once no worker holds it.
            gc.collect()
            self.store = ox.Store.read_only(snapshot)
            self.snapshot = snapshot
        return self.store

    def handle(self, job: QueryJob | UpdateJob, send) -> None:
        guarded(job, send, lambda: self._handle(job, send))

    def _handle(self, job, send) -> None:
        if isinstance(job, QueryJob):
            run_query(self._store(job.snapshot), job, send, self.settings.base_iri)
        elif isinstance(job, UpdateJob):
            from gros.shacl.gate import compute_update

            send((Kind.END, compute_update(self._store(job.snapshot), job, self.settings)))
        else:
            send(error(500, f"unknown job {type(job).__name__}"))


def guarded(job, send, work) -> None:
    """Run `work`, turning what it raises into an ERROR message."""
    try:
        work()
    except Exception as exc:
        if isinstance(exc, GrosError):  # e.g. a remote store that is down, too slow, or answers an error
            send((Kind.ERROR, exc.to_dict()))
            return
        text = getattr(job, "text", None)
        if isinstance(exc, OSError) and text and network_targets(text):
            # An allow-listed SERVICE endpoint failed: it is down, answered an error, or answered
            # with a redirect, which Oxigraph does not follow (its redirection limit is 0).
            send(error(502, f"a SERVICE endpoint named in the query could not be used: {exc}"))
            return
        # A bug: plain message to the client, traceback to the log.
        log.error("job failed: %s\n%s", exc, traceback.format_exc())
        send(error(500, "the query could not be completed because of an internal error"))


def run_query(store, job: QueryJob, send, base_iri: str) -> None:
    """Run a query on `store` (a read-only snapshot, or a remote store) and send its answer; skolem
    IRIs under `base_iri` (the graph's base) go out as blank nodes."""
    options = {"base_iri": job.base_iri}
    if job.default_graphs or job.named_graphs:
        # The protocol's dataset wins over FROM (SPARQL 1.1 Protocol §2.1.4); named graphs
        # without default graphs leave the default graph empty.
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
        if job.named_graphs:
            options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    elif not job.has_from:
        # Our default: the union of all graphs. A query with FROM / FROM NAMED names its
        # own dataset, which the union option would override.
        options["use_default_graph_as_union"] = True
    try:
        substitutions = {ox.Variable(k): v for k, v in job.substitutions} if job.substitutions else None
        result = store.query(job.text, substitutions=substitutions, **options)
    except SyntaxError as err:
        position = _position(str(err))
        where = f" at line {position['line']}, column {position['column']}" if position else ""
        send(error(400, f"the query does not parse{where}: {err}", [position] if position else None))
        return
    except ValueError as err:  # e.g. an unsupported feature reported by the engine
        send(error(400, f"the query cannot be run: {err}"))
        return

    if isinstance(result, (ox.QuerySolutions, ox.QueryBoolean)):
        offered, kind = formats.RESULT_FORMATS, ("ask" if isinstance(result, ox.QueryBoolean) else "select")
    else:
        offered, kind = formats.GRAPH_FORMATS, "graph"
    try:
        requested = requested_format(job.format, offered, kind)
        fmt = formats.negotiate(job.accept, offered, requested)
    except FormatConflict as err:
        send(error(400, str(err)))
        return
    except formats.NotAcceptable as err:
        send(error(406, str(err), [{"acceptable": [f.media_type for f in offered]}]))
        return
    except formats.UnknownFormat as err:
        send(error(400, str(err), [{"acceptable": [f.name for f in offered]}]))
        return

    limit = job.limit or None
    # The store keeps blank nodes as skolem IRIs; clients get blank nodes (content.skolem).
    blank = BlankNodes(base_iri)
    if kind == "ask":
        out = PipeWriter(send, {"media_type": fmt.media_type, "kind": kind, "truncated": False})
        results.write_boolean(bool(result), fmt, out)
        out.finish({"rows": 1, "truncated": False})
        return
    if kind == "select":
        variables = [v.value for v in result.variables]
        rows, truncated = take(result, limit)
        out = PipeWriter(send, {"media_type": fmt.media_type, "kind": kind, "truncated": truncated})
        stats = results.write_solutions(variables, map(blank.row, rows), fmt, out)
    else:
        triples, truncated = take(result, limit)
        out = PipeWriter(send, {"media_type": fmt.media_type, "kind": kind, "truncated": truncated})
        stats = results.write_triples(map(blank.triple, triples), fmt, out)
    out.finish({"rows": stats.rows, "truncated": truncated})


def take(items, limit: int | None):
    """(iterator, truncated). With a limit, read up to limit+1 items first, so that the
    response head can say whether the result was cut; memory is bounded by the limit."""
    items = iter(items)
    if not limit:
        return items, False
    buffered = list(islice(items, limit + 1))
    return iter(buffered[:limit]), len(buffered) > limit


def _position(message: str) -> dict | None:
    """Oxigraph's syntax errors read 'error at LINE:COLUMN: ...'."""
    import re

    match = re.search(r"at (\d+):(\d+)", message)
    return {"line": int(match.group(1)), "column": int(match.group(2))} if match else None
