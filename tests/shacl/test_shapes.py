"""The SHACL shapes in shapes/ against the fixtures in tests/fixtures/.

* every file in tests/fixtures/invalid/ fails, and is reported by the shape its first line names:
      # expect: <node shape IRI> [<path IRI> | sparql | node] [<detail IRI>]
  <path IRI> is the sh:resultPath (for a complex path, an IRI in it); "sparql" means a SPARQL
  constraint; "node" a node-level constraint without a path; <detail IRI> names the property
  shape, SPARQL constraint or constraint component, for shapes with several rules on one path.
  Nothing else about the fixture's own resources may be reported;
* tests/fixtures/valid/minimal.ttl conforms (no result at all, warnings included);
* every node shape, and every named SPARQL rule, is named by at least one fixture;
* every property shape and SPARQL constraint has sh:name and sh:message in nl and en;
* ontology/, once it exists, has the subclass chains that the shapes' targets rely on.

The data graph is ontology/*.ttl (when present) + tests/fixtures/support/vocabulary.ttl (only the
triples whose subject and predicate ontology/ does not already give) + the fixture. Plain rdflib
and pyshacl, on purpose: this test does not import the gros package.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import contextlib

import pyshacl
import pytest
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.plugins.sparql import processor as sparql_processor

ROOT = Path(__file__).resolve().parents[2]
SHAPES_DIR = ROOT / "shapes"
ONTOLOGY_DIR = ROOT / "ontology"
FIXTURES = ROOT / "tests" / "fixtures"
INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))
MINIMAL = FIXTURES / "valid" / "minimal.ttl"
SUPPORT = FIXTURES / "support" / "vocabulary.ttl"

GROS = Namespace("https://w3id.org/gros/def#")
ORG = Namespace("http://www.w3.org/ns/org#")

EXPECT = re.compile(r"^#\s*expect:\s*(.+?)\s*$")


# --- graphs, parsed once per test session ------------------------------------------------------

@functools.cache
def shapes() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@functools.cache
def ontology() -> Graph:
    graph = Graph()
    for path in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@functools.cache
def base_graph() -> Graph:
    """ontology/ plus the support triples it does not already give (same subject and predicate)."""
    graph = Graph()
    graph += ontology()
    support = Graph().parse(SUPPORT, format="turtle")
    given = {(s, p) for s, p, _ in ontology()}
    graph += ((s, p, o) for s, p, o in support if (s, p) not in given)
    return graph


def data_graph(fixture: Graph) -> Graph:
    graph = Graph()
    graph += base_graph()
    graph += fixture
    return graph


def validate(graph: Graph) -> tuple[bool, Graph]:
    with parsed_queries_cached():
        conforms, report, _text = pyshacl.validate(graph, shacl_graph=shapes(), inference="none",
                                                   advanced=True)
    return conforms, report


# pyshacl hands rdflib the text of a SPARQL constraint once per focus node, and rdflib parses it
# every time: parsing is most of the validation time. While the tests validate, the parsed and
# translated query is kept per text (what rdflib's prepareQuery does), which makes the suite
# several times faster and changes no result.
@functools.cache
def _translated(text: str, base, namespaces: tuple):
    return sparql_processor.translateQuery(sparql_processor.parseQuery(text), base,
                                           dict(namespaces) if namespaces else None)


@contextlib.contextmanager
def parsed_queries_cached():
    original = sparql_processor.SPARQLProcessor.query

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
        if isinstance(strOrQuery, str):
            strOrQuery = _translated(strOrQuery, base, tuple(sorted((initNs or {}).items())))
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)

    sparql_processor.SPARQLProcessor.query = query
    try:
        yield
    finally:
        sparql_processor.SPARQLProcessor.query = original


# --- reading the report --------------------------------------------------------------------------

def node_shape_of(shape) -> URIRef | BNode:
    """The node shape a result's sh:sourceShape belongs to (climbing sh:property / sh:node)."""
    g = shapes()
    seen = set()
    while (shape, RDF.type, SH.NodeShape) not in g and shape not in seen:
        seen.add(shape)
        parent = g.value(predicate=SH.property, object=shape) or g.value(predicate=SH.node, object=shape)
        if parent is None:
            break
        shape = parent
    return shape


def path_iris(report: Graph, path) -> set:
    """The IRIs in a result path: the path itself, or those inside a complex path."""
    if path is None:
        return set()
    if isinstance(path, URIRef):
        return {path}
    found = set()
    for _s, p, o in report.triples((path, None, None)):
        if p in (RDF.first, RDF.rest):
            continue
        if isinstance(o, BNode) and (o, RDF.first, None) in report:
            for item in Collection(report, o):
                found |= path_iris(report, item)
        else:
            found |= path_iris(report, o)
    return found


def results(report: Graph) -> list[dict]:
    out = []
    details = set(report.objects(predicate=SH.detail))  # nested results of sh:node, not results themselves
    for node in report.subjects(RDF.type, SH.ValidationResult):
        if node in details:
            continue
        source = report.value(node, SH.sourceShape)
        out.append({
            "focus": report.value(node, SH.focusNode),
            "shape": node_shape_of(source),
            "source": source,
            "constraint": report.value(node, SH.sourceConstraint),
            "component": report.value(node, SH.sourceConstraintComponent),
            "paths": path_iris(report, report.value(node, SH.resultPath)),
            "severity": report.value(node, SH.resultSeverity),
            "messages": [str(m) for m in report.objects(node, SH.resultMessage)],
        })
    return out


def describe(result: dict) -> str:
    return (f"{result['focus']} shape={result['shape']} source={result['source']} "
            f"paths={sorted(map(str, result['paths']))} component={result['component']} "
            f"{result['messages'][:1]}")


# --- the "# expect:" line ------------------------------------------------------------------------

def expectation(path: Path) -> tuple[URIRef, str | URIRef | None, URIRef | None]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.match(first)
    assert match, f"{path.name}: the first line must be '# expect: <shape IRI> [<path> | sparql | node] [<detail>]'"
    tokens = match.group(1).split()
    assert 1 <= len(tokens) <= 3, f"{path.name}: expected 1 to 3 tokens after 'expect:'"

    def term(token):
        if token in ("sparql", "node"):
            return token
        assert token.startswith("<") and token.endswith(">"), f"{path.name}: {token} is not <IRI>"
        return URIRef(token[1:-1])

    shape, *rest = [term(t) for t in tokens]
    return shape, (rest[0] if rest else None), (rest[1] if len(rest) > 1 else None)


def matches(result: dict, shape, where, detail) -> bool:
    if result["shape"] != shape:
        return False
    if where == "sparql" and result["component"] != SH.SPARQLConstraintComponent:
        return False
    if where == "node" and (result["paths"] or result["source"] != shape):
        return False
    if isinstance(where, URIRef) and where not in result["paths"]:
        return False
    if detail is not None and detail not in (result["source"], result["constraint"], result["component"]):
        return False
    return True


# --- tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_fails_its_rule(path):
    shape, where, detail = expectation(path)
    assert (shape, RDF.type, SH.NodeShape) in shapes(), f"{shape} is not a node shape in shapes/"
    fixture = Graph().parse(path, format="turtle")
    conforms, report = validate(data_graph(fixture))
    found = results(report)
    assert not conforms, f"{path.name} conforms, but should fail {shape} {where or ''}"
    assert any(matches(r, shape, where, detail) for r in found), (
        f"{path.name}: no result from {shape} {where or ''} {detail or ''}; got:\n"
        + "\n".join(describe(r) for r in found))
    # The fixture breaks exactly one rule: nothing else is said about its own resources.
    own = set(fixture.subjects()) | set(fixture.objects())
    others = [r for r in found if r["focus"] in own and not matches(r, shape, where, detail)]
    assert not others, f"{path.name} also fails other rules:\n" + "\n".join(describe(r) for r in others)


def test_minimal_valid_graph_conforms():
    conforms, report = validate(data_graph(Graph().parse(MINIMAL, format="turtle")))
    assert conforms, "valid/minimal.ttl does not conform:\n" + "\n".join(describe(r) for r in results(report))


def test_minimal_valid_graph_touches_every_class():
    """Every gros: class has an instance in valid/minimal.ttl, directly or through a subclass."""
    minimal = Graph().parse(MINIMAL, format="turtle")
    hierarchy = base_graph()
    touched = set()
    for cls in set(minimal.objects(predicate=RDF.type)):
        touched |= set(hierarchy.transitive_objects(cls, RDFS.subClassOf))
    classes = {s for s in hierarchy.subjects(RDFS.subClassOf, None) if str(s).startswith(str(GROS))}
    missing = sorted(str(c) for c in classes - touched)
    assert not missing, f"valid/minimal.ttl has no instance of {missing}"


def test_minimal_valid_graph_links_only_to_described_resources():
    """What minimal.ttl points to in our namespace is described there or in ontology/."""
    minimal = Graph().parse(MINIMAL, format="turtle")
    described = set(minimal.subjects()) | set(base_graph().subjects())
    dangling = sorted(str(o) for o in minimal.objects() if isinstance(o, URIRef)
                      and str(o).startswith("https://w3id.org/gros/id/") and o not in described)
    assert not dangling, f"valid/minimal.ttl links to undescribed resources: {dangling}"


def test_every_invalid_fixture_names_a_rule():
    assert INVALID, "no fixtures in tests/fixtures/invalid/"
    for path in INVALID:
        expectation(path)


def _named() -> tuple[set, set]:
    shapes_named, details_named = set(), set()
    for path in INVALID:
        shape, _where, detail = expectation(path)
        shapes_named.add(shape)
        if detail is not None:
            details_named.add(detail)
    return shapes_named, details_named


def test_every_node_shape_has_a_failing_fixture():
    named, _details = _named()
    node_shapes = {s for s in shapes().subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}
    missing = sorted(str(s) for s in node_shapes - named)
    assert not missing, f"node shapes without a fixture in tests/fixtures/invalid/: {missing}"


def test_every_sparql_rule_has_a_failing_fixture():
    _shapes, details = _named()
    g = shapes()
    rules = set()
    for host, constraint in g.subject_objects(SH.sparql):
        # a named constraint is named itself; one inside a named property shape, by that shape
        rules.add(constraint if isinstance(constraint, URIRef) else host)
    missing = sorted(str(r) for r in rules if isinstance(r, URIRef) and r not in details)
    assert not missing, f"SPARQL rules without a fixture that names them: {missing}"


def test_every_rule_has_name_and_messages_in_nl_and_en():
    g = shapes()
    problems = []
    rules = set(g.objects(predicate=SH.property)) | set(g.objects(predicate=SH.sparql))
    for rule in rules:
        messages = list(g.objects(rule, SH.message))
        languages = {m.language for m in messages if isinstance(m, Literal)}
        if not {"nl", "en"} <= languages:
            problems.append(f"{rule}: sh:message languages {sorted(filter(None, languages))}")
        if (rule, SH.name, None) not in g:
            problems.append(f"{rule}: no sh:name")
    for subject in set(g.subjects(SH.message, None)):
        languages = {m.language for m in g.objects(subject, SH.message) if isinstance(m, Literal)}
        if not {"nl", "en"} <= languages:
            problems.append(f"{subject}: sh:message languages {sorted(filter(None, languages))}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_shape_iris_follow_the_naming_rule():
    node_shapes = {s for s in shapes().subjects(RDF.type, SH.NodeShape)}
    bad = sorted(str(s) for s in node_shapes
                 if not re.fullmatch(r"https://w3id\.org/gros/shape#[A-Z][A-Za-z]*Shape", str(s)))
    assert not bad, f"node shapes not named gshape:{{Class}}Shape: {bad}"


# The shapes target classes and check sh:class without inference, so the subclass chains must be
# in the data graph. (W3C ORG itself states org:FormalOrganization ⊑ org:Organization.)
REQUIRED_CHAINS = [
    (GROS.State, ORG.Organization), (GROS.Ministry, ORG.Organization),
    (GROS.InternationalOrganisation, ORG.Organization), (GROS.EUBody, ORG.Organization),
    (GROS.Organisation, ORG.Organization), (GROS.EGTC, ORG.Organization),
    (GROS.EGTC, GROS.CrossBorderBody), (GROS.Protocol, GROS.LegalInstrument),
    (GROS.Regulation, GROS.EUAct), (GROS.Municipality, GROS.Region),
]


@pytest.mark.parametrize("sub,sup", REQUIRED_CHAINS, ids=[f"{a.split('#')[1]}-{b.split('#')[1]}" for a, b in REQUIRED_CHAINS])
def test_ontology_has_the_class_hierarchy_the_shapes_need(sub, sup):
    chain = set(ontology().transitive_objects(sub, RDFS.subClassOf))
    assert sup in chain, f"ontology/: {sub} is not a subclass of {sup}"
