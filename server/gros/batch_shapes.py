"""Our SHACL shapes over many resources at once, for `gros load --bulk`: the focus nodes in
batches, each batch validated by pyshacl on its neighbourhood (never the whole store), in a
bounded number of worker processes, each opening a read-only checkpoint of the staged store.

The neighbourhood of a batch is what our shapes can look at from its focus nodes: all their
own triples; the triples of the nodes they link to, 2 links deep, and of gros:partOf chains to
the top; and the links *into* a focus node by the predicates the shapes follow backwards
(sh:inversePath, sh:targetObjectsOf, `?x p $this` in SPARQL constraints), with the linking
resources' links 2 deep. Beyond the focus nodes only triples whose predicate the shapes name
are taken: a shape cannot look at any other (ours use a variable predicate only on the focus
node itself), and without that rule a body's members pull in every other body they belong to
(org:memberOf, which no shape names). The write gate (changes.py) follows 3 links and every
predicate. Checked against pyshacl over the whole graph on a generated 100k-triple file with 5
violations and 4 warnings: 3 links and every predicate gave exactly its results on all 10,600
resources, and this rule gave the same as that one on 3 of the violating resources and on 600
resources drawn at random. pyshacl computes a shape's targets over the whole data graph it
is given before filtering them by focus node, which is why it gets a neighbourhood and never
the store.
"""
from __future__ import annotations

import multiprocessing
import re
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from . import validation
from .progress import Progress
from .settings import Settings
from .sources import find_files, read_files, to_graph, to_rdflib

#: Focus nodes per SHACL batch: big enough to share neighbourhoods (sources, regions, concepts),
#: small enough for a quick pyshacl run each.
BATCH = 200
#: Stop validating after this many violations: nothing will be loaded anyway.
MAX_VIOLATIONS = 1000
#: Links followed out of a focus node, and out of a resource linking into one. Two is what our
#: shapes look at: a membership's body's events' dates; an EGTC's memberships' members' countries.
DEPTH = 2
PART_OF = ox.NamedNode("https://w3id.org/gros/def#partOf")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def backward_predicates(shapes: Graph) -> set[str]:
    """Predicates along which some shape looks *into* its focus node: sh:inversePath,
    sh:targetObjectsOf, and `?x p $this` patterns in SPARQL constraints (prefixed or <full>)."""
    found = {str(p) for p in shapes.objects(None, SH.inversePath) if isinstance(p, URIRef)}
    found |= {str(p) for p in shapes.objects(None, SH.targetObjectsOf) if isinstance(p, URIRef)}
    prefixes = {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
                for d in shapes.objects(None, SH.declare)}
    pattern = re.compile(r"(<[^<>\s]+>|[A-Za-z][\w.-]*:[\w.-]+)\s+\$this\b")
    for select in shapes.objects(None, SH.select):
        for term in pattern.findall(str(select)):
            if term.startswith("<"):
                found.add(term[1:-1])
            else:
                prefix, local = term.split(":", 1)
                if prefix in prefixes:
                    found.add(prefixes[prefix] + local)
    return found


def mentioned_predicates(shapes: Graph) -> set[str]:
    """Every IRI the shapes name (in paths, values, SPARQL text): a shape can only look at a
    predicate it names, except through a variable, which ours use on the focus node alone. So
    beyond its focus nodes a neighbourhood needs no other triples (over-inclusive is harmless)."""
    found = {str(term) for triple in shapes for term in triple if isinstance(term, URIRef)}
    prefixes = {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
                for d in shapes.objects(None, SH.declare)}
    for select in shapes.objects(None, SH.select):
        for term in re.findall(r"<([^<>\s]+)>|\b([A-Za-z][\w-]*):([\w-]+)", str(select)):
            if term[0]:
                found.add(term[0])
            elif term[1] in prefixes:
                found.add(prefixes[term[1]] + term[2])
    return found | {RDF_TYPE, "http://www.w3.org/2000/01/rdf-schema#subClassOf"}


def neighbourhood(store: ox.Store, focus: list[ox.NamedNode], backward: list[ox.NamedNode],
                  mentioned: set[ox.NamedNode], depth: int = DEPTH) -> Graph:
    """The triples the shapes may look at from the focus nodes (see the module's docstring):
    all of the focus nodes' own, and beyond them those whose predicate the shapes name."""
    graph = Graph()
    seen: set = set()
    own = set(focus)

    def take(quad: ox.Quad) -> None:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))

    frontier = {node: 0 for node in focus}
    for node in focus:
        for predicate in backward:
            for quad in store.quads_for_pattern(None, predicate, node, None):
                take(quad)
                frontier.setdefault(quad.subject, 0)
    while frontier:
        following: dict = {}
        for node, distance in frontier.items():
            if node in seen:
                continue
            seen.add(node)
            for quad in store.quads_for_pattern(node, None, None, None):
                if node not in own and quad.predicate not in mentioned:
                    continue
                take(quad)
                if isinstance(quad.object, (ox.NamedNode, ox.BlankNode)) and quad.object not in seen and (
                        distance < depth or quad.predicate == PART_OF):
                    following.setdefault(quad.object, distance + 1)
        frontier = following
    return graph


_WORKER: dict = {}


def _start_worker(snapshot: str, settings: Settings) -> None:
    shapes, _ = validation.load_shapes(settings)
    _WORKER.update(store=ox.Store.read_only(snapshot), shapes=shapes,
                   ontology=to_graph(read_files(find_files(settings, ("ontology",)))),
                   backward=[ox.NamedNode(p) for p in sorted(backward_predicates(shapes))],
                   mentioned={ox.NamedNode(p) for p in mentioned_predicates(shapes)})


def _validate_batch(focus: list[str]) -> list[validation.Result]:
    graph = neighbourhood(_WORKER["store"], [ox.NamedNode(f) for f in focus], _WORKER["backward"],
                          _WORKER["mentioned"])
    graph += _WORKER["ontology"]
    return validation.validate_graph(graph, _WORKER["shapes"], focus_nodes=focus)


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
