"""Our SHACL shapes over many resources at once, for `gros load --bulk`: the focus nodes in
batches, each batch validated by pyshacl on its neighbourhood (never the whole store), in a
bounded number of worker processes, each opening a read-only checkpoint of the staged store.

The neighbourhood of a batch is what the shapes that target its focus nodes can read from them,
worked out once from the shapes (shape_reach.py, which the write gate uses too): the focus
nodes' own triples, and beyond them only the links a shape follows, forwards or backwards (a
membership's body's events' dates; an EGTC's memberships' members' countries). So a body's
members do not pull in every other body they belong to (org:memberOf, which no shape reads),
and a body's memberships are read only for an EGTC, whose rule counts their member states.
pyshacl computes a shape's targets over the whole data graph it is given before filtering them
by focus node, which is why it gets a neighbourhood and never the store. Should the shapes use
something shape_reach cannot bound, a batch gets the write gate's shape-blind neighbourhood
instead (changes.neighbourhood: everything a few links around the focus nodes and the
resources linking to them).
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from gros.shacl import gate as changes
from gros.shacl import reach as shape_reach
from gros.shacl import validation
from gros.progress import Progress
from gros.settings import Settings
from gros.content.files import find_files, read_files, to_graph, to_rdflib

#: Focus nodes per SHACL batch: big enough to share neighbourhoods (sources, regions, concepts),
#: small enough for a quick pyshacl run each.
BATCH = 200
#: Stop validating after this many violations: nothing will be loaded anyway.
MAX_VIOLATIONS = 1000


def backward_predicates(shapes: Graph) -> set[str]:
    """Predicates along which some shape looks *into* a node (sh:inversePath, sh:targetObjectsOf,
    `?x p $this` in SPARQL constraints, ...); raises shape_reach.Unanalysable."""
    return {p for p in shape_reach.analyse(shapes).predicates(forward=False) if p is not None}


def neighbourhood(store: ox.Store, focus: list[ox.NamedNode], reach: shape_reach.Reach | None) -> Graph:
    """The triples the shapes may look at from the focus nodes (see the module's docstring)."""
    graph = Graph()
    if reach is None:
        overlay = changes.OverlayStore(store)
        linking = {q.subject for q in overlay.quads_about(focus, position="object")}
        return changes.neighbourhood(overlay, {*focus, *linking})
    lookup = shape_reach.store_lookup(lambda s, p, o: store.quads_for_pattern(s, p, o, None))
    own = (quad for node in focus for quad in store.quads_for_pattern(node, None, None, None))
    for quad in (*reach.neighbourhood(focus, lookup), *own):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


_WORKER: dict = {}


def _start_worker(snapshot: str, settings: Settings) -> None:
    shapes, _ = validation.load_shapes(settings)
    ontology = to_graph(read_files(find_files(settings, ("ontology",))))
    try:
        reach = shape_reach.analyse(shapes, ontology)
    except shape_reach.Unanalysable:
        reach = None  # the shape-blind neighbourhood (see the module's docstring)
    _WORKER.update(store=ox.Store.read_only(snapshot), shapes=shapes, ontology=ontology, reach=reach)


def _validate_batch(focus: list[str]) -> list[validation.Result]:
    graph = neighbourhood(_WORKER["store"], [ox.NamedNode(f) for f in focus], _WORKER["reach"])
    graph += _WORKER["ontology"]
    return validation.validate_graph(graph, _WORKER["shapes"], focus_nodes=focus, inplace=True)


def validate(settings: Settings, snapshot: Path, focus: list[str], workers: int, progress: Progress
                    ) -> tuple[list[validation.Result], int]:
    """SHACL results for the focus nodes, in batches over `workers` processes; and how many
    focus nodes were validated (fewer when MAX_VIOLATIONS stopped it early)."""
    batches = [focus[i:i + BATCH] for i in range(0, len(focus), BATCH)]
    results: list[validation.Result] = []
    done = violations = 0
    if workers <= 1 or len(batches) <= 1:  # not worth starting processes for
        _start_worker(str(snapshot), settings)
        try:
            for batch in batches:
                batch_results = _validate_batch(batch)
                results += batch_results
                violations += sum(1 for r in batch_results if r.severity == "Violation")
                done += len(batch)
                progress.update(done)
                if violations >= MAX_VIOLATIONS:
                    break
        finally:
            _WORKER.clear()  # closes the snapshot before its folder is removed
        return results, done
    # spawn: the parent holds RocksDB stores (and their threads), which a fork would copy mid-flight.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context, initializer=_start_worker,
                             initargs=(str(snapshot), settings)) as pool:
        pending = {}
        queue = iter(batches)
        try:
            for batch in queue:  # a few batches in flight per worker, not all of them at once
                pending[pool.submit(_validate_batch, batch)] = len(batch)
                if len(pending) >= 2 * workers:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    size = pending.pop(future)
                    batch_results = future.result()
                    results += batch_results
                    violations += sum(1 for r in batch_results if r.severity == "Violation")
                    done += size
                    progress.update(done)
                if violations >= MAX_VIOLATIONS:
                    for future in pending:
                        future.cancel()
                    break
                for batch in queue:
                    pending[pool.submit(_validate_batch, batch)] = len(batch)
                    if len(pending) >= 2 * workers:
                        break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return results, done
