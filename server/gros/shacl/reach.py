"""What our SHACL shapes can read around a focus node, worked out once from the shapes graph.

A shape looks at its focus node and at what that node reaches through links: sh:path
(sequences, inverses, alternatives, repetition), the class of a value (sh:class), nested shapes
(sh:property, sh:node, sh:qualifiedValueShape, sh:and/or/xone/not), the triple patterns of its
SPARQL constraints, and what its targets test. All of that is compiled into one small automaton
whose transitions are *steps* (follow predicate p, or any predicate, forward `x p ?` or
backward `? p x`) and whose start states are the shapes that have targets.

Its two uses:
* `neighbourhood(focus)`: the triples pyshacl can look at when it validates those focus nodes,
  found by running the automaton forward over the store. This is the graph the write gate
  (changes.py) and bulk loading (batch_shapes.py) hand pyshacl: never "N links of everything",
  which at 10M triples pulls in every member of every body a member belongs to.
* `affected(quads)`: the resources whose shapes read one of the changed triples, found by
  running the automaton backwards from each triple to the start state of a shape that targets
  the resource. A label added to a body is read by no shape of the body's memberships, so they
  are not validated again; a changed founding date is read by the membership rule through
  membership → body → event, so the body's memberships are.

SPARQL constraints and targets are read with rdflib's parser. Their triple patterns form a small
graph around $this; the automaton follows every simple path through it from $this (so UNION
branches and FILTER NOT EXISTS are covered), and reads an edge that closes a cycle from its
subject's side. When the shapes use something this module cannot bound (a pattern not joined
to $this in its scope, a triple of two constants, GRAPH or SERVICE, BIND or VALUES feeding a
pattern, a custom constraint component, SHACL rules, an unknown sh: parameter), `analyse`
raises Unanalysable, and the caller falls back to its old, shape-blind neighbourhood.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.algebra import translateGroupGraphPattern
from rdflib.plugins.sparql.parserutils import CompValue
from gros.errors import GrosError

RDF_TYPE = str(RDF.type)
SUBCLASS = str(RDFS.subClassOf)
#: Stands for $PATH in a SPARQL constraint of a property shape (replaced by the shape's sh:path).
PATH_PLACEHOLDER = URIRef("urn:x-gros:shape-path")
#: Parameters that constrain a value node by itself, or only count or compare the values of the
#: path: they read nothing beyond what the path and the focus node already read.
VALUE_ONLY = {SH[name] for name in (
    "datatype nodeKind minCount maxCount minLength maxLength pattern flags languageIn uniqueLang in "
    "hasValue minInclusive maxInclusive minExclusive maxExclusive qualifiedMinCount qualifiedMaxCount "
    "ignoredProperties targetNode name description message severity order group deactivated "
    "defaultValue path sparql property node qualifiedValueShape not and or xone class equals disjoint "
    "lessThan lessThanOrEquals closed qualifiedValueShapesDisjoint targetClass targetSubjectsOf "
    "targetObjectsOf target prefixes declare select ask").split()}
#: Whole-graph machinery no automaton over links can bound.
UNBOUNDED = {SH.rule, SH.expression, SH.ConstraintComponent, SH.SPARQLFunction, SH.JSConstraint,
             SH.TripleRule, SH.SPARQLRule, SH.SPARQLConstraintComponent, SH.entailment}


class Unanalysable(GrosError, ValueError):
    """The shapes use something whose reads cannot be bounded by links from the focus node."""

    status = 500
    exit_code = 1


@dataclass(frozen=True)
class Step:
    predicate: str | None  # None: any predicate
    forward: bool          # True: `node p ?next`; False: `?next p node`


@dataclass
class TopShape:
    """A shape with targets: where it starts in the automaton, and which nodes it targets."""
    shape: str
    state: int
    classes: frozenset
    nodes: frozenset
    subjects_of: frozenset
    objects_of: frozenset
    other_targets: bool  # a SPARQL target: taken to target every node


#: Looks up quads: (node, predicate or None, "subject" or "object") → the quads where `node` is in
#: that position (and the predicate matches). changes.OverlayStore and Oxigraph stores give one.
Lookup = Callable[[list[tuple]], Iterator[tuple[tuple, ox.Quad]]]


class Reach:
    """The compiled automaton (see the module docstring) and the two walks over it."""

    def __init__(self, transitions: list[list[tuple]], top: list[TopShape], superclasses: dict[str, set]):
        closure = [_epsilon_closure(transitions, q) for q in range(len(transitions))]
        self.moves: list[list[tuple[Step, int]]] = [
            sorted({(step, dst) for r in closure[q] for step, dst in transitions[r] if step is not None},
                   key=repr) for q in range(len(transitions))]
        self.before: list[list[tuple[int, Step]]] = [[] for _ in transitions]
        for src, moves in enumerate(self.moves):
            for step, dst in moves:
                self.before[dst].append((src, step))
        self.top = top
        self.top_at: dict[int, list[TopShape]] = defaultdict(list)
        for shape in top:
            self.top_at[shape.state].append(shape)
        self.superclasses = superclasses
        # Where a changed triple with predicate p is read: states with a step on p (or on any).
        self.reading: dict[tuple, list[int]] = defaultdict(list)
        for q, moves in enumerate(self.moves):
            for step in {step for step, _ in moves}:
                self.reading[(step.predicate, step.forward)].append(q)

    # --- what the shapes follow ---------------------------------------------------------------

    def predicates(self, forward: bool) -> set[str]:
        """Predicates some shape follows in that direction (None, if any: a wildcard step)."""
        return {step.predicate for moves in self.moves for step, _ in moves if step.forward == forward}

    # --- targets ---------------------------------------------------------------------------------

    def targets(self, nodes: Iterable, lookup: Lookup) -> dict:
        """For each node, the top-level shapes that target it in the store as it is now."""
        nodes = [n for n in nodes if not isinstance(n, ox.Literal)]
        types: dict = defaultdict(set)
        has_subject: dict = defaultdict(set)
        has_object: dict = defaultdict(set)
        requests = [(n, RDF_TYPE, "subject") for n in nodes]
        subjects_of = {p for t in self.top for p in t.subjects_of}
        objects_of = {p for t in self.top for p in t.objects_of}
        requests += [(n, p, "subject") for n in nodes for p in subjects_of]
        requests += [(n, p, "object") for n in nodes for p in objects_of]
        for (node, predicate, position), quad in lookup(requests):
            if predicate == RDF_TYPE and position == "subject":
                types[node].add(quad.object.value)
            if position == "subject" and predicate in subjects_of:
                has_subject[node].add(predicate)
            if position == "object":
                has_object[node].add(predicate)
        found = {}
        for node in nodes:
            classes = set()
            for cls in types[node]:
                classes |= self.superclasses.get(cls, {cls})
            value = node.value if isinstance(node, ox.NamedNode) else None
            found[node] = [t for t in self.top if t.other_targets or classes & t.classes or value in t.nodes
                           or has_subject[node] & t.subjects_of or has_object[node] & t.objects_of]
        return found

    # --- the two walks ---------------------------------------------------------------------------

    def neighbourhood(self, focus: Iterable, lookup: Lookup) -> Iterator[ox.Quad]:
        """The quads the shapes that target `focus` can read from it (with repeats)."""
        targeted = self.targets(focus, lookup)
        seeds = {(node, t.state) for node, shapes in targeted.items() for t in shapes}
        for _, quad in self._walk(seeds, lookup, backwards=False):
            yield quad

    def affected(self, quads: Iterable[ox.Quad], lookup: Lookup) -> set:
        """The nodes whose shapes read one of `quads` (each quad added or removed)."""
        seeds = set()
        for quad in quads:
            for predicate in (quad.predicate.value, None):
                seeds |= {(quad.subject, q) for q in self.reading.get((predicate, True), ())}
                seeds |= {(quad.object, q) for q in self.reading.get((predicate, False), ())}
        reached = {seed for seed in seeds if seed[1] in self.top_at}
        reached |= {(node, state) for node, state in self._walk(seeds, lookup, backwards=True)
                    if state in self.top_at}
        candidates: dict = defaultdict(set)
        for node, state in reached:
            candidates[node].add(state)
        targeted = self.targets(candidates, lookup)
        return {node for node, states in candidates.items()
                if any(t.state in states for t in targeted.get(node, ()))}

    def _walk(self, seeds: set, lookup: Lookup, backwards: bool) -> Iterator:
        """Breadth-first over (node, state), one ring of lookups at a time. Forward it yields
        (request, quad) for each quad read; backwards it yields each (node, state) reached."""
        seen = set(seeds)
        frontier = seeds
        while frontier:
            requests: dict[tuple, list[int]] = defaultdict(list)
            for node, state in frontier:
                for src_or_dst, step in (self.before[state] if backwards else
                                         ((dst, step) for step, dst in self.moves[state])):
                    # Forward, a step reads `node p ?` (subject) or `? p node`; backwards, the same
                    # step is undone: the node it reached is the object (or the subject).
                    position = "subject" if step.forward != backwards else "object"
                    if position == "subject" and isinstance(node, ox.Literal):
                        continue
                    requests[(node, step.predicate, position)].append(src_or_dst)
            following = set()
            for request, quad in lookup(list(requests)):
                if not backwards:
                    yield request, quad
                other = quad.object if request[2] == "subject" else quad.subject
                for state in requests[request]:
                    if (other, state) not in seen:
                        seen.add((other, state))
                        following.add((other, state))
                        if backwards:
                            yield other, state
            frontier = following


def store_lookup(match: Callable) -> Lookup:
    """A Lookup over anything with quads_for_pattern-like `match(s, p, o)`: one exact index
    read per request, so a body with thousands of linkers is only asked for the links a shape
    follows."""
    def lookup(requests):
        for request in requests:
            node, predicate, position = request
            p = ox.NamedNode(predicate) if predicate is not None else None
            pattern = (node, p, None) if position == "subject" else (None, p, node)
            for quad in match(*pattern):
                yield request, quad
    return lookup


# --- compiling the shapes ------------------------------------------------------------------------

def analyse(shapes: Graph, ontology: Graph | None = None) -> Reach:
    """The automaton for `shapes`; raises Unanalysable (see the module docstring)."""
    for term in UNBOUNDED:
        if (None, None, term) in shapes or (None, term, None) in shapes:
            raise Unanalysable(f"the shapes use {term}")
    builder = _Builder(shapes)
    top = []
    for shape in sorted(builder.top_level(), key=str):
        state = builder.shape_state(shape)
        classes = set(shapes.objects(shape, SH.targetClass))
        if (shape, RDF.type, RDFS.Class) in shapes:
            classes.add(shape)
        if classes:
            builder.read_class(state)
        for p in shapes.objects(shape, SH.targetSubjectsOf):
            builder.link(state, builder.new(), Step(str(p), True))
        for p in shapes.objects(shape, SH.targetObjectsOf):
            builder.link(state, builder.new(), Step(str(p), False))
        other = False
        for target in shapes.objects(shape, SH.target):
            select = shapes.value(target, SH.select)
            if select is None:
                raise Unanalysable(f"{shape}: a target that is not a SPARQL target")
            builder.sparql(state, str(select), builder.prefixes(target), None)
            other = True
        top.append(TopShape(str(shape), state, frozenset(str(c) for c in classes),
                            frozenset(str(n) for n in shapes.objects(shape, SH.targetNode)),
                            frozenset(str(p) for p in shapes.objects(shape, SH.targetSubjectsOf)),
                            frozenset(str(p) for p in shapes.objects(shape, SH.targetObjectsOf)), other))
    return Reach(builder.transitions, top, _superclasses(ontology))


def _superclasses(ontology: Graph | None) -> dict[str, set]:
    parents: dict[str, set] = defaultdict(set)
    for sub, sup in (ontology.subject_objects(RDFS.subClassOf) if ontology is not None else ()):
        parents[str(sub)].add(str(sup))
    closure = {}
    for cls in list(parents):
        found, todo = {cls}, [cls]
        while todo:
            for sup in parents.get(todo.pop(), ()):
                if sup not in found:
                    found.add(sup)
                    todo.append(sup)
        closure[cls] = found
    return closure


def _epsilon_closure(transitions, start: int) -> set[int]:
    found, todo = {start}, [start]
    while todo:
        for step, dst in transitions[todo.pop()]:
            if step is None and dst not in found:
                found.add(dst)
                todo.append(dst)
    return found


class _Builder:
    def __init__(self, shapes: Graph):
        self.shapes = shapes
        self.transitions: list[list[tuple]] = []
        self.states: dict = {}

    def new(self) -> int:
        self.transitions.append([])
        return len(self.transitions) - 1

    def link(self, src: int, dst: int, step: Step | None = None) -> None:
        self.transitions[src].append((step, dst))

    def top_level(self) -> set:
        g = self.shapes
        found = set()
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            found |= set(g.subjects(p, None))
        found |= {s for s in g.subjects(RDF.type, SH.NodeShape) if (s, RDF.type, RDFS.Class) in g}
        return found

    def prefixes(self, node) -> dict[str, str]:
        found = {}
        for source in self.shapes.objects(node, SH.prefixes):
            for declaration in self.shapes.objects(source, SH.declare):
                found[str(self.shapes.value(declaration, SH.prefix))] = str(self.shapes.value(declaration, SH.namespace))
        return found

    def read_class(self, state: int) -> None:
        """sh:class and class targets read the node's types and their superclasses."""
        types = self.new()
        self.link(state, types, Step(RDF_TYPE, True))
        self.link(types, types, Step(SUBCLASS, True))

    def shape_state(self, shape) -> int:
        """The state of a node being validated against `shape` (its focus node)."""
        if shape in self.states:
            return self.states[shape]
        g = self.shapes
        focus = self.states[shape] = self.new()
        for predicate in set(g.predicates(shape, None)):
            if str(predicate).startswith(str(SH)) and predicate not in VALUE_ONLY:
                raise Unanalysable(f"{shape} uses {predicate}")
        path = g.value(shape, SH.path)
        value = self.path(focus, path) if path is not None else focus
        for nested in g.objects(shape, SH.property):
            self.link(value, self.shape_state(nested))
        for parameter in (SH.node, SH.qualifiedValueShape, SH["not"]):
            for nested in g.objects(shape, parameter):
                self.link(value, self.shape_state(nested))
        for parameter in (SH["and"], SH["or"], SH.xone):
            for members in g.objects(shape, parameter):
                for nested in Collection(g, members):
                    self.link(value, self.shape_state(nested))
        if (shape, SH.qualifiedValueShapesDisjoint, Literal(True)) in g:
            for parent in g.subjects(SH.property, shape):
                for sibling in g.objects(parent, SH.property):
                    for nested in g.objects(sibling, SH.qualifiedValueShape):
                        self.link(value, self.shape_state(nested))
        if any(True for _ in g.objects(shape, SH["class"])):
            self.read_class(value)
        for parameter in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
            for p in g.objects(shape, parameter):
                self.link(focus, self.new(), Step(str(p), True))
        if (shape, SH.closed, Literal(True)) in g:
            self.link(value, self.new(), Step(None, True))
        for constraint in g.objects(shape, SH.sparql):
            text = g.value(constraint, SH.select) or g.value(constraint, SH.ask)
            if text is None:
                raise Unanalysable(f"{shape}: a SPARQL constraint without sh:select or sh:ask")
            self.sparql(focus, str(text), self.prefixes(constraint), path)
        return focus

    # --- paths -----------------------------------------------------------------------------------

    def path(self, src: int, path, inverse: bool = False, shape_path=None) -> int:
        """States for following `path` (a SHACL path node, or an rdflib SPARQL path) from src;
        returns the state reached."""
        g = self.shapes
        if path == PATH_PLACEHOLDER:
            return self.path(src, shape_path, inverse)
        if isinstance(path, URIRef):
            dst = self.new()
            self.link(src, dst, Step(str(path), not inverse))
            return dst
        if isinstance(path, Variable):
            dst = self.new()
            self.link(src, dst, Step(None, not inverse))
            return dst
        if isinstance(path, SequencePath):
            for part in (reversed(path.args) if inverse else path.args):
                src = self.path(src, part, inverse, shape_path)
            return src
        if isinstance(path, AlternativePath):
            return self._alternatives(src, path.args, inverse, shape_path)
        if isinstance(path, InvPath):
            return self.path(src, path.arg, not inverse, shape_path)
        if isinstance(path, MulPath):
            return self._repeat(src, path.path, path.mod, inverse, shape_path)
        if isinstance(path, NegatedPath):
            dst = self.new()
            self.link(src, dst, Step(None, True))
            self.link(src, dst, Step(None, False))
            return dst
        if isinstance(path, Path):
            raise Unanalysable(f"a SPARQL path of an unknown kind: {path!r}")
        if isinstance(path, BNode):
            if (path, RDF.first, None) in g:
                parts = list(Collection(g, path))
                for part in (reversed(parts) if inverse else parts):
                    src = self.path(src, part, inverse)
                return src
            for kind, mod in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
                inner = g.value(path, kind)
                if inner is not None:
                    return self._repeat(src, inner, mod, inverse, None)
            inner = g.value(path, SH.inversePath)
            if inner is not None:
                return self.path(src, inner, not inverse)
            inner = g.value(path, SH.alternativePath)
            if inner is not None:
                return self._alternatives(src, list(Collection(g, inner)), inverse, None)
        raise Unanalysable(f"a path that cannot be followed: {path!r}")

    def _alternatives(self, src, parts, inverse, shape_path) -> int:
        dst = self.new()
        for part in parts:
            self.link(self.path(src, part, inverse, shape_path), dst)
        return dst

    def _repeat(self, src, inner, mod: str, inverse, shape_path) -> int:
        loop = self.new()
        if mod in ("*", "?"):
            self.link(src, loop)
        self.link(self.path(src, inner, inverse, shape_path), loop)
        if mod in ("*", "+"):
            self.link(self.path(loop, inner, inverse, shape_path), loop)
        return loop

    # --- SPARQL ----------------------------------------------------------------------------------

    def sparql(self, this: int, text: str, prefixes: dict, shape_path) -> None:
        """States for the triple patterns of a SPARQL constraint or target, from $this (?this)."""
        if "$PATH" in text:
            if shape_path is None:
                raise Unanalysable("$PATH in a SPARQL constraint of a node shape")
            text = text.replace("$PATH", f"<{PATH_PLACEHOLDER}>")
        try:
            algebra = prepareQuery(text, initNs=prefixes).algebra
        except Exception as err:  # pyparsing's and rdflib's own errors
            raise Unanalysable(f"a SPARQL query that does not parse: {err}") from None
        edges = _check_scopes(algebra)
        this_var = Variable("this")
        for s, _, o in edges:
            for term in (s, o):
                if isinstance(term, Variable) and term.n3() in ("?shapesGraph", "?currentShape"):
                    raise Unanalysable("a SPARQL query that reads the shapes graph")
        # Every simple path through the pattern graph from $this; an edge back to a node already
        # on the path is read from its subject's side and not followed further.
        def unfold(node, state: int, on_path: dict) -> None:
            for edge in edges:
                s, p, o = edge
                for here, there, inverse in ((s, o, False), (o, s, True)):
                    if here != node:
                        continue
                    if not _is_node_variable(there):  # a constant: read the edge, go no further
                        self.path(state, p, inverse, shape_path)
                    elif there in on_path:
                        if not inverse:  # read once, from the subject's side
                            self.path(state, p, False, shape_path)
                    else:
                        reached = self.path(state, p, inverse, shape_path)
                        unfold(there, reached, {**on_path, there: reached})
                    if s == o:
                        break
        unfold(this_var, this, {this_var: this})


def _is_node_variable(term) -> bool:
    return isinstance(term, (Variable, BNode))


def _triples(node) -> list[tuple]:
    return [tuple(t) for t in node.triples] if node.name == "BGP" else []


def _check_scopes(algebra) -> list[tuple]:
    """All triple patterns of a query, after checking that each is joined to $this in every
    solution of its scope (through the patterns of that scope, of the scopes it is joined to,
    and of the scopes an OPTIONAL, MINUS or EXISTS extends); raises Unanalysable if not."""
    edges: dict[tuple, None] = {}

    def anchored(node, known: frozenset, problems: list) -> frozenset:
        """The variables joined to $this in every solution of `node`, given those of `known`."""
        if isinstance(node, (list, tuple)):
            for item in node:
                known = anchored(item, known, problems)
            return known
        if not isinstance(node, CompValue):
            return known
        name = node.name
        if name in ("Graph", "ServiceGraphPattern", "GraphGraphPattern", "Service"):
            raise Unanalysable(f"a SPARQL query with {name}")
        if name == "GroupGraphPatternSub":  # the pattern of an EXISTS, left untranslated by rdflib
            return anchored(translateGroupGraphPattern(node), known, problems)
        if name == "BGP":
            return _bgp(_triples(node), known, problems)
        if name == "Join":
            found = known
            while True:  # each side may join the other's patterns to $this
                grown = anchored(node.p1, found, []) | anchored(node.p2, found, [])
                if grown <= found:
                    break
                found = found | grown
            anchored(node.p1, found, problems)
            anchored(node.p2, found, problems)
            return found
        if name in ("LeftJoin", "Minus"):
            left = anchored(node.p1, known, problems)
            anchored(node.p2, left, problems)
            if "expr" in node:
                anchored(node.expr, left, problems)
            return left
        if name == "Union":
            return anchored(node.p1, known, problems) & anchored(node.p2, known, problems)
        if name == "Filter":
            inner = anchored(node.p, known, problems)
            anchored(node.expr, inner, problems)
            return inner
        if name == "ToMultiSet":  # a sub-select: evaluated on its own
            return known | anchored(node.p, frozenset({Variable("this")}), problems)
        inner = anchored(node["p"], known, problems) if "p" in node else known
        for key, value in node.items():
            if key not in ("p", "_vars"):
                anchored(value, inner, problems)
        return inner

    def _bgp(triples, known, problems) -> frozenset:
        for s, p, o in triples:
            edges[(s, p, o)] = None
            if not _is_node_variable(s) and not _is_node_variable(o):
                raise Unanalysable(f"a triple pattern of two constants: {s} {p} {o}")
        found = set(known) | {Variable("this")}
        grew = True
        while grew:
            grew = False
            for s, _, o in triples:
                ends = [t for t in (s, o) if _is_node_variable(t)]
                if any(t in found for t in ends) and not all(t in found for t in ends):
                    found |= set(ends)
                    grew = True
        problems += [(s, o) for s, _, o in triples if not any(t in found for t in (s, o))]
        return frozenset(found)

    problems: list = []
    anchored(algebra, frozenset({Variable("this")}), problems)
    if problems:
        s, o = problems[0]
        raise Unanalysable(f"a triple pattern not joined to $this: {s} … {o}")
    found = list(edges)
    for s, p, o in found:
        if isinstance(p, Variable) and any(p in (s2, o2) for s2, _, o2 in found):
            raise Unanalysable("a variable used both as a predicate and as a node")
    return found
