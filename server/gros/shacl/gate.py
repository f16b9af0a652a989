"""Work out what a write would change, and whether the result still passes the shapes,
without touching the store.

Oxigraph applies an update directly and offers no rollback, so the SHACL gate cannot run
"inside" its transaction. Instead a worker evaluates the update with rdflib's SPARQL Update
engine over an *overlay*: reads come from the (read-only) store, writes are collected as
quads added and removed. The touched resources are then validated on the store-plus-overlay;
only when they conform does the writer commit the change, in one Oxigraph transaction.

Which resources are validated, and on what graph, comes from what the shapes can read
(shape_reach.py): the subjects of the changed triples, plus every resource one of whose shapes
reads a changed triple (a membership, when its body's founding event changes date; not when the
body gets a label); each validated on the triples its shapes can read, plus the ontology. So
the gate's cost grows with the size of the change and what the shapes look at, not with the
store or with how many resources link to a touched one. Should the shapes ever use something
shape_reach cannot bound, the gate falls back to its shape-blind rule: the touched resources
and all that link to them, on everything DEPTH links around them.
"""
from __future__ import annotations

from types import SimpleNamespace

import logging
import re
import warnings
from functools import lru_cache

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from oxrdflib._converter import from_ox, to_ox, to_ox_quad_pattern
from rdflib import ConjunctiveGraph, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Update

from gros import patches
from gros.shacl import reach as shape_reach
from gros.shacl import validation
from gros.content.files import find_files, read_files, to_graph
from gros.content.skolem import Skolemizer
from gros.errors import GrosError
from gros.namespaces import XSD


log = logging.getLogger(__name__)

PART_OF = ox.NamedNode("https://w3id.org/gros/def#partOf")
SOURCE_FILE = ox.NamedNode("https://w3id.org/gros/def#sourceFile")
#: The shape-blind fallback: how far it follows links out of a touched resource.
DEPTH = 3


class UpdateRefused(GrosError, ValueError):
    """The update cannot be evaluated (syntax, or a protocol rule such as USING twice)."""

    status = 400
    exit_code = 2

    def __init__(self, message: str, position: dict | None = None):
        self.position = position
        super().__init__(message)


XSD_STRING = str(XSD.string)


def _rdflib(term):
    """Oxigraph term → rdflib term; xsd:string literals become plain literals, as rdflib writes
    them in queries (otherwise a graph copied for USING would not match "old" against "old")."""
    if isinstance(term, ox.Literal) and term.language is None and term.datatype.value == XSD_STRING:
        return Literal(term.value)
    return from_ox(term)


class OverlayStore(OxigraphStore):
    """An rdflib store that reads an Oxigraph store and keeps its own writes aside."""

    def __init__(self, base: ox.Store):
        super().__init__(store=base)
        self.added: set[ox.Quad] = set()
        self.removed: set[ox.Quad] = set()
        self.dropped: set[str] = set()  # graphs named by DROP: dropped by name on commit
        self.visible: set | None = None  # USING NAMED: the only graphs GRAPH ?g may range over
        # Triples an update asked to delete from the default graph that are not in it: the
        # named graphs that hold them (at most one example each), see `elsewhere`.
        self.elsewhere: dict[str, str] = {}

    def _base_has(self, quad: ox.Quad) -> bool:
        return quad in self._inner

    def add(self, triple, context, quoted=False):
        quad = to_ox(triple, context)
        if quad in self.removed:
            self.removed.discard(quad)
        elif not self._base_has(quad):
            self.added.add(quad)

    def addN(self, quads):  # noqa: N802 (rdflib's name)
        for s, p, o, g in quads:
            self.add((s, p, o), g)

    def remove(self, triple, context=None):
        # rdflib's ConjunctiveGraph removes "DELETE DATA { t }" and "CLEAR DEFAULT" from every
        # graph (context None). In SPARQL they act on the default graph only, as inserts do.
        s, p, o, g = to_ox_quad_pattern(triple, context)
        if g is None:
            g = ox.DefaultGraph()
        found = False
        for quad in list(self._quads((s, p, o, g))):
            found = True
            if quad in self.added:
                self.added.discard(quad)
            else:
                self.removed.add(quad)
        if not found and isinstance(g, ox.DefaultGraph) and None not in (s, p, o):
            # Reads see the union of all graphs, so a client may ask to delete a triple it found
            # there that lives only in a named graph: note where, so that a read-only graph can
            # refuse the change instead of it answering 200 for nothing (service._write).
            for quad in self._inner.quads_for_pattern(s, p, o, None):
                if isinstance(quad.graph_name, ox.NamedNode) and len(self.elsewhere) < 1000:
                    self.elsewhere.setdefault(quad.graph_name.value, str(quad.triple))

    def _quads(self, pattern):
        s, p, o, g = pattern
        for quad in self._inner.quads_for_pattern(s, p, o, g):
            if quad not in self.removed:
                yield quad
        for quad in self.added:
            if ((s is None or quad.subject == s) and (p is None or quad.predicate == p)
                    and (o is None or quad.object == o) and (g is None or quad.graph_name == g)):
                yield quad

    def quads(self, pattern):
        """Oxigraph quads of store-plus-overlay that match (s, p, o, g); None is a wildcard."""
        return self._quads(pattern)

    def quads_about(self, nodes, position: str = "subject"):
        """Quads of store-plus-overlay whose subject (or object) is one of `nodes`. A remote
        store answers for all of them in a few requests (remote.py), not one per node."""
        nodes = list(nodes)
        wanted = set(nodes)
        batched = getattr(self._inner, "quads_for_terms", None)
        if batched is not None:
            base = batched(nodes, position)
        else:
            base = (quad for node in nodes for quad in self._inner.quads_for_pattern(
                *((node, None, None, None) if position == "subject" else (None, None, node, None))))
        for quad in base:
            if quad not in self.removed:
                yield quad
        for quad in self.added:
            if (quad.subject if position == "subject" else quad.object) in wanted:
                yield quad

    def lookup(self, requests):
        """shape_reach's Lookup over store-plus-overlay: an exact index read per request on the
        embedded store; on a remote store, all quads about each ring's nodes in a few requests
        (quads_about), kept when their predicate is the one asked for."""
        if getattr(self._inner, "quads_for_terms", None) is None:
            added: dict = {"subject": {}, "object": {}}  # an upload may add thousands: index them once
            for quad in self.added:
                added["subject"].setdefault(quad.subject, []).append(quad)
                added["object"].setdefault(quad.object, []).append(quad)
            for (node, predicate, position), quad in shape_reach.store_lookup(self._inner.quads_for_pattern)(requests):
                if quad not in self.removed:
                    yield (node, predicate, position), quad
            for request in requests:
                node, predicate, position = request
                for quad in added[position].get(node, ()):
                    if predicate is None or quad.predicate.value == predicate:
                        yield request, quad
            return
        wanted: dict = {}
        for request in requests:
            wanted.setdefault((request[0], request[2]), []).append(request)
        for position in ("subject", "object"):
            nodes = [node for node, where in wanted if where == position]
            for quad in self.quads_about(nodes, position) if nodes else ():
                for request in wanted[(quad.subject if position == "subject" else quad.object, position)]:
                    if request[1] is None or request[1] == quad.predicate.value:
                        yield request, quad

    def triples(self, triple_pattern, context=None):
        try:
            pattern = to_ox_quad_pattern(triple_pattern, context)
        except (TypeError, ValueError):
            return iter(())
        return (((_rdflib(q.subject), _rdflib(q.predicate), _rdflib(q.object)),
                 iter((Graph(store=self, identifier=from_ox(q.graph_name))
                       if not isinstance(q.graph_name, ox.DefaultGraph) else None,)))
                for q in self._quads(pattern))

    def __len__(self, context=None):
        return sum(1 for _ in self.triples((None, None, None), context))

    def contexts(self, triple=None):
        graphs = {q.graph_name for q in self.added if not isinstance(q.graph_name, ox.DefaultGraph)}
        graphs |= set(self._inner.named_graphs())
        if self.visible is not None:
            graphs &= self.visible
        for graph in graphs:
            yield Graph(store=self, identifier=from_ox(graph))

    def add_graph(self, graph):
        pass  # graphs exist by having triples; empty graphs are not kept

    def remove_graph(self, graph):
        self.remove((None, None, None), graph)
        identifier = getattr(graph, "identifier", graph)
        if isinstance(identifier, URIRef):
            self.dropped.add(str(identifier))

    def emptied_graphs(self) -> list[str]:
        """Named graphs this change leaves without triples: they are dropped by name on commit."""
        touched = {q.graph_name.value for q in self.removed if isinstance(q.graph_name, ox.NamedNode)}
        touched |= self.dropped
        return sorted(g for g in touched if not any(True for _ in self._quads((None, None, None, ox.NamedNode(g)))))

    def query(self, *args, **kwargs):
        raise NotImplementedError  # makes rdflib use its own engine, over this overlay

    def update(self, *args, **kwargs):
        raise NotImplementedError


def _apply_protocol_dataset(update, using: list[str], using_named: list[str]) -> None:
    """`using-graph-uri` / `using-named-graph-uri` act as USING clauses (SPARQL 1.1 Protocol §2.2.3)."""
    if not using and not using_named:
        return
    for operation in update.algebra:
        if operation.name != "Modify":
            continue
        if operation.using or operation.withClause:
            raise UpdateRefused("an update that has USING, USING NAMED or WITH cannot be combined with "
                                "the using-graph-uri or using-named-graph-uri parameters")
        clauses = [CompValue("UsingClause", default=URIRef(g)) for g in using]
        clauses += [CompValue("UsingClause", named=URIRef(g)) for g in using_named]
        operation["using"] = clauses


EMPTY_GRAPH = URIRef("urn:x-gros:empty-graph")  # names no graph: USING it gives an empty default graph


def _scope_using(update) -> None:
    """USING NAMED without USING: the default graph of the WHERE clause is empty (SPARQL 1.1
    Update §3.1.3.1); rdflib would keep the whole dataset, so an empty one is named."""
    for operation in update.algebra:
        if operation.name == "Modify" and operation.using:
            if not any(clause.default for clause in operation.using):
                operation["using"] = [*operation.using, CompValue("UsingClause", default=EMPTY_GRAPH)]


def _missing_graphs(update, store: ox.Store) -> None:
    """DROP or CLEAR of a graph that does not exist fails unless SILENT (SPARQL 1.1 Update §3.2)."""
    for operation in update.algebra:
        if operation.name in ("Drop", "Clear") and isinstance(operation.graphiri, URIRef) and not operation.silent:
            if not store.contains_named_graph(ox.NamedNode(str(operation.graphiri))):
                raise UpdateRefused(f"{operation.name.upper()} GRAPH <{operation.graphiri}>: there is no such "
                                    f"graph (add SILENT to ignore this)")


def _create_graphs(update, store: ox.Store) -> None:
    """CREATE GRAPH: rdflib refuses it ("not implemented"). In a store where a graph exists by
    having triples, creating an absent graph changes nothing; creating an existing one is an
    error unless SILENT (SPARQL 1.1 Update §3.2.1)."""
    for operation in update.algebra:
        if operation.name == "Create":
            if store.contains_named_graph(ox.NamedNode(str(operation.graphiri))) and not operation.silent:
                raise UpdateRefused(f"CREATE GRAPH <{operation.graphiri}>: the graph already exists")
            operation["silent"] = True  # rdflib then skips it without an error


def check_syntax(text: str, base_iri=None) -> None:
    """Oxigraph's parser on an empty in-memory store: the same grammar the store speaks, and
    errors with line and column (rdflib's parser reports most errors at 1:1). Running it on an
    empty store is cheap; network access (LOAD, SERVICE) was refused before this point."""
    try:
        ox.Store().update(text, base_iri=base_iri)
    except SyntaxError as err:
        message = str(err)
        match = re.search(r"at (\d+):(\d+)", message)
        position = {"line": int(match.group(1)), "column": int(match.group(2))} if match else None
        where = f" at line {position['line']}, column {position['column']}" if position else ""
        raise UpdateRefused(f"the update does not parse{where}: {message}", position) from None
    except (OSError, ValueError, RuntimeError):
        pass  # not a syntax problem: the real evaluation below reports it


def evaluate_update(store: ox.Store, text: str, using=(), using_named=(), base_iri=None) -> OverlayStore:
    """The overlay holding what `text` would add and remove; raises UpdateRefused on bad input."""
    check_syntax(text, base_iri)
    try:
        update = translateUpdate(parseUpdate(text), base=base_iri)
    except Exception as err:  # pyparsing's ParseException and rdflib's own errors
        position = None
        if getattr(err, "lineno", None) is not None:
            position = {"line": err.lineno, "column": getattr(err, "col", None)}
        message = getattr(err, "msg", None) or str(err)
        raise UpdateRefused(f"the update does not parse: {message}", position) from None
    _apply_protocol_dataset(update, list(using), list(using_named))
    _scope_using(update)
    _missing_graphs(update, store)
    _create_graphs(update, store)
    overlay = OverlayStore(store)
    # ConjunctiveGraph, not Dataset: rdflib's INSERT DATA fails on a union-default Dataset, and
    # a ConjunctiveGraph has exactly our semantics (reads: union of all graphs; writes without
    # GRAPH: the default graph). It is deprecated in rdflib 7, hence the silenced warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = ConjunctiveGraph(store=overlay, identifier=DATASET_DEFAULT_GRAPH_ID)
    try:
        # One operation at a time, so that each sees only the named graphs its USING NAMED lists.
        for operation in update.algebra:
            clauses = (operation.using or []) if operation.name == "Modify" else []
            named = [c.named for c in clauses if c.named]
            overlay.visible = {ox.NamedNode(str(n)) for n in named} if named else None
            dataset.update(Update(update.prologue, [operation]), use_store_provided=False)
        overlay.visible = None
    except UpdateRefused:
        raise
    except Exception as err:
        raise UpdateRefused(f"the update cannot be applied: {err}") from None
    return overlay


# --- the SHACL gate --------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _shapes(settings) -> Graph:
    return validation.load_shapes(settings)[0]


@lru_cache(maxsize=1)
def _ontology(settings) -> Graph:
    return to_graph(read_files(find_files(settings, ("ontology",))))


@lru_cache(maxsize=1)
def _ontology_store(settings) -> ox.Store:
    """The ontology files in an in-memory store, read beside the store by the gate's walk: what
    the shapes read of it (a class's superclasses, a concept's scheme) then joins the validated
    graph, without copying all of the ontology into it for each write."""
    store = ox.Store()
    store.extend(ox.Quad(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in _ontology(settings))
    return store


@lru_cache(maxsize=1)
def _reach(settings) -> shape_reach.Reach | None:
    """What the shapes read (shapes are fixed for a process); None: fall back to the blind rule."""
    try:
        return shape_reach.analyse(_shapes(settings), _ontology(settings))
    except shape_reach.Unanalysable as err:
        log.warning("SHACL gate: %s; validating every resource that links to a changed one", err)
        return None


def warm_up(settings) -> None:
    """Load what the gate needs (and rdflib's SPARQL machinery) before the first write arrives:
    one throw-away update through the whole gate on an empty store halves the first write's time."""
    patches.apply()
    _shapes(settings)
    _ontology(settings)
    _ontology_store(settings)
    _reach(settings)
    thing = ox.NamedNode(settings.id_base + "warm-up")
    text = f"INSERT DATA {{ {thing} a <https://w3id.org/gros/def#Goal> }}"
    compute_update(ox.Store(), SimpleNamespace(text=text, using=(), using_named=(), base_iri=None), settings)


def touched_nodes(removed, added) -> set:
    nodes = set()
    for quad in [*removed, *added]:
        nodes.add(quad.subject)
        if isinstance(quad.object, ox.NamedNode):
            nodes.add(quad.object)
    return nodes


def neighbourhood(overlay: OverlayStore, focus: set) -> Graph:
    """The shape-blind fallback: triples within DEPTH links of the focus nodes (following gros:partOf all the way up).
    Read one ring of nodes at a time, so a remote store is asked once per ring."""
    graph = Graph()
    seen = set()
    frontier = set(focus)
    for depth in range(DEPTH + 1):
        ring = frontier - seen
        seen |= ring
        frontier = set()
        for quad in overlay.quads_about(ring):
            graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
            if isinstance(quad.object, ox.NamedNode) and (depth < DEPTH or quad.predicate == PART_OF):
                frontier.add(quad.object)
    # partOf chains may be longer than DEPTH: follow them to the top.
    while frontier - seen:
        ring = frontier - seen
        seen |= ring
        frontier = set()
        for quad in overlay.quads_about(ring):
            graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
            if quad.predicate == PART_OF:
                frontier.add(quad.object)
    return graph


def gate(overlay: OverlayStore, settings) -> tuple[list, list[str]]:
    """SHACL results for the resources the change can affect: the subjects of the changed
    triples, and the resources one of whose shapes reads a changed triple (see the docstring)."""
    reach = _reach(settings)
    if reach is None:
        return _blind_gate(overlay, settings)
    changed = [*overlay.removed, *overlay.added]
    focus = {quad.subject for quad in changed} | reach.affected(changed, overlay.lookup)
    focus = {n for n in focus if isinstance(n, ox.NamedNode)}
    ontology = shape_reach.store_lookup(_ontology_store(settings).quads_for_pattern)

    def lookup(requests):  # the store and the ontology files (which the store may not hold)
        yield from overlay.lookup(requests)
        yield from ontology(requests)

    graph = Graph()
    # The focus nodes' own triples too: cheap, and what a report may quote about them.
    for quad in (*reach.neighbourhood(focus, lookup), *overlay.quads_about(focus)):
        graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    return _validate(graph, focus, settings)


def _blind_gate(overlay: OverlayStore, settings) -> tuple[list, list[str]]:
    """The fallback: the touched resources and everything linking to them, DEPTH links around."""
    touched = touched_nodes(overlay.removed, overlay.added)
    focus = set(touched)
    for quad in overlay.quads_about(touched, position="object"):
        focus.add(quad.subject)
    focus = {n for n in focus if isinstance(n, ox.NamedNode)}
    graph = neighbourhood(overlay, focus)
    graph += _ontology(settings)
    return _validate(graph, focus, settings)


def _validate(graph: Graph, focus: set, settings) -> tuple[list, list[str]]:
    # Plain strings: pyshacl tries to expand focus nodes that do not start with http:, https:,
    # urn: or file: as CURIEs, which fails with a TypeError for a URIRef (mailto:, javascript:).
    focus_refs = [n.value for n in focus]
    results = validation.validate_graph(graph, _shapes(settings), focus_nodes=focus_refs,
                                        inplace=True) if focus_refs else []
    return results, sorted(n.value for n in focus)


def compute_update(store: ox.Store, job, settings) -> dict:
    """Runs in a worker: the change an update (or a given delta) makes, and the gate's verdict.
    `job` is a runtime.jobs.UpdateJob (this layer reads its fields, it does not import it)."""
    patches.apply()
    try:
        if job.text is not None:
            overlay = evaluate_update(store, job.text, job.using, job.using_named, job.base_iri)
        else:
            overlay = OverlayStore(store)
            if job.clear_default:
                for quad in list(overlay.quads((None, None, None, ox.DefaultGraph()))):
                    overlay.removed.add(quad)
            for graph in job.drop_graphs:
                for quad in list(overlay.quads((None, None, None, ox.NamedNode(graph)))):
                    overlay.removed.add(quad)
            for quad in ox.parse(job.added, format=ox.RdfFormat.N_QUADS):
                if quad not in overlay.removed and quad not in store:
                    overlay.added.add(quad)
                else:
                    overlay.removed.discard(quad)
    except UpdateRefused as err:
        return {"ok": False, "status": 400, "message": str(err), "position": err.position}
    skolem = Skolemizer(settings)
    overlay.added = {skolem.quad(q) for q in overlay.added}
    results, focus = gate(overlay, settings)
    violations = [r for r in results if r.severity == "Violation"]
    return {
        "ok": not violations,
        "status": 200 if not violations else 422,
        "removed": ox.serialize(sorted(overlay.removed, key=str), format=ox.RdfFormat.N_QUADS) or b"",
        "added": ox.serialize(sorted(overlay.added, key=str), format=ox.RdfFormat.N_QUADS) or b"",
        "focus": focus,
        "emptied": overlay.emptied_graphs(),
        "elsewhere": overlay.elsewhere,
        "results": [r.as_dict() for r in results],
        "counts": {"removed": len(overlay.removed), "added": len(overlay.added), "focus": len(focus)},
    }
