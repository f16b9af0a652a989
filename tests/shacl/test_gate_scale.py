"""The SHACL gate validates what a change can affect, and no more.

The gate (changes.compute_update, as a query worker runs it) works on a real in-memory Oxigraph
store holding the ontology, tests/fixtures/valid/minimal.ttl and a small file made by
bench/generate.py (bodies with many memberships). A label added to a body is read by no shape
of its memberships, so only the body is validated; a change that a membership's shape does read
(its body's founding date, its body's class) is refused with the membership as focus node.
"""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from gros.shacl import gate as changes
from gros.shacl import reach as shape_reach
from gros.settings import Settings
from gros.content.files import find_files, read_files, to_graph
from oxrdflib._converter import to_ox
from gros.runtime.jobs import UpdateJob

ROOT = Path(__file__).resolve().parents[2]
GROS = "https://w3id.org/gros/def#"
ORG = "http://www.w3.org/ns/org#"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
GRAPH = "https://example.org/graph/synth"
# The generator also places municipalities in Luxembourg, which minimal.ttl does not describe.
LUXEMBOURG = (ROOT / "tests" / "fixtures" / "support" / "luxembourg.ttl").read_text("utf-8")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(root=ROOT)


@pytest.fixture(scope="module")
def store(settings) -> ox.Store:
    return synthetic_store(settings)


def synthetic_store(settings: Settings) -> ox.Store:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    store = ox.Store()
    for file in to_graph(read_files(find_files(settings, ("ontology",)))):
        store.add(ox.Quad(*(to_ox(term) for term in file), ox.NamedNode("https://example.org/graph/ontology")))
    for name, text in (("minimal", (ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl").read_text("utf-8")),
                       ("luxembourg", LUXEMBOURG)):
        store.load(text.encode(), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(f"https://example.org/graph/{name}"))
    out = io.StringIO()
    generator.generate(out, 20_000)
    store.load(out.getvalue().encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH))
    return store


def rows(store: ox.Store, query: str) -> list[dict]:
    found = store.query(query, use_default_graph_as_union=True)
    return [{v.value: row[v].value for v in found.variables if row[v] is not None} for row in found]


def busiest_body(store: ox.Store, cls: str = "CrossBorderBody", egtc: bool = False) -> tuple[str, int]:
    """The body of `cls` with the most memberships (an EGTC or not), and how many it has."""
    no_egtc = "" if egtc else f"FILTER NOT EXISTS {{ ?body a <{GROS}EGTC> }}"
    found = rows(store, f"""SELECT ?body (COUNT(?m) AS ?n) WHERE {{
        ?body a <{GROS}{cls}> . ?m <{ORG}organization> ?body . {no_egtc} }}
        GROUP BY ?body ORDER BY DESC(?n) ?body LIMIT 1""")[0]
    return found["body"], int(found["n"])


def gate(store, settings, update: str) -> dict:
    return changes.compute_update(store, UpdateJob(text=update), settings)


def violations_of(result: dict) -> list[tuple[str, str]]:
    return [(r["focusNode"], (r.get("rule") or r.get("shape") or "").rsplit("#", 1)[-1])
            for r in result["results"] if r["severity"] == "Violation"]


def test_a_label_on_a_body_with_many_memberships_validates_only_the_body(store, settings):
    body, memberships = busiest_body(store)
    assert memberships >= 10
    result = gate(store, settings, f'INSERT DATA {{ GRAPH <https://example.org/graph/edits> {{ '
                                   f'<{body}> <{RDFS_LABEL}> "Corpo transfrontaliero"@it }} }}')
    assert result["ok"], violations_of(result)
    assert result["focus"] == [body]
    assert result["counts"]["focus"] == 1


def test_the_neighbourhood_of_a_body_skips_its_memberships_unless_a_shape_reads_them(store, settings):
    reach = changes._reach(settings)
    overlay = changes.OverlayStore(store)
    for egtc in (False, True):
        body, memberships = busiest_body(store, "EGTC" if egtc else "CrossBorderBody", egtc=egtc)
        node = ox.NamedNode(body)
        linking = {q.subject for q in reach.neighbourhood({node}, overlay.lookup)
                   if q.predicate.value == ORG + "organization" and q.object == node}
        # The EGTC rule counts the member states of the body's memberships; no other body shape
        # looks at the resources that link to it.
        assert len(linking) == (memberships if egtc else 0)


def test_a_label_on_memberships_validates_only_them(store, settings):
    chosen = [r["m"] for r in rows(store, f"SELECT ?m WHERE {{ ?m a <{GROS}Membership> }} ORDER BY ?m LIMIT 10")]
    triples = " ".join(f'<{m}> <{RDFS_LABEL}> "Adesione"@it .' for m in chosen)
    result = gate(store, settings, f"INSERT DATA {{ GRAPH <https://example.org/graph/edits> {{ {triples} }} }}")
    assert result["ok"], violations_of(result)
    assert result["focus"] == sorted(chosen)


def test_a_later_founding_date_is_refused_for_the_memberships_it_breaks(store, settings):
    """The membership rule reads membership → body → founding event → date: moving the date
    after a membership's start breaks the membership, two links away from the changed event."""
    body, _ = busiest_body(store)
    found = rows(store, f"""SELECT ?event ?date (MIN(?from) AS ?first) WHERE {{
        <{body}> <{GROS}hasEvent> ?event . ?event <{GROS}eventType> <https://w3id.org/gros/id/concept/event-founded> ;
        <{GROS}date> ?date . ?m <{ORG}organization> <{body}> ; <{GROS}memberFrom> ?from }} GROUP BY ?event ?date""")[0]
    first_year = int(found["first"][:4])
    earliest = [r["m"] for r in rows(store, f"""SELECT ?m WHERE {{ ?m <{ORG}organization> <{body}> ;
        <{GROS}memberFrom> ?from FILTER(YEAR(?from) = {first_year}) }}""")]
    later = f'"{first_year + 1}"^^<http://www.w3.org/2001/XMLSchema#gYear>'
    result = gate(store, settings, f"""DELETE {{ GRAPH ?g {{ <{found['event']}> <{GROS}date> ?d }} }}
        INSERT {{ GRAPH ?g {{ <{found['event']}> <{GROS}date> {later} }} }}
        WHERE {{ GRAPH ?g {{ <{found['event']}> <{GROS}date> ?d }} }}""")
    assert not result["ok"] and result["status"] == 422
    refused = violations_of(result)
    assert {(m, "MembershipShape-notBeforeFounding") for m in earliest} <= set(refused), refused
    assert set(earliest) <= set(result["focus"])


def test_a_body_that_stops_being_a_body_is_refused_for_its_memberships(store, settings):
    """MembershipShape-organization is sh:class gros:CooperationBody on org:organization: it
    reads the class of the body, so a change of that class validates the memberships again."""
    body, memberships = busiest_body(store)
    result = gate(store, settings, f"""DELETE {{ GRAPH ?g {{ <{body}> a ?class }} }}
        INSERT {{ GRAPH ?g {{ <{body}> a <{GROS}Organisation> }} }}
        WHERE {{ GRAPH ?g {{ <{body}> a ?class }} }}""")
    assert not result["ok"]
    broken = {focus for focus, rule in violations_of(result) if rule == "MembershipShape-organization"}
    assert len(broken) == memberships


def test_a_membership_that_leaves_an_egtc_with_one_member_state_is_refused_for_the_egtc(store, settings):
    """The EGTC rule reads the body's memberships backwards (?m org:organization $this)."""
    body, _ = busiest_body(store, "EGTC", egtc=True)
    result = gate(store, settings, f"""DELETE {{ GRAPH ?g {{ ?m ?p ?o }} }} WHERE {{
        GRAPH ?g {{ ?m <{ORG}organization> <{body}> ; ?p ?o }} }};
        DELETE {{ GRAPH ?g {{ <{body}> <{ORG}hasMember> ?member }} }}
        WHERE {{ GRAPH ?g {{ <{body}> <{ORG}hasMember> ?member }} }}""")
    assert not result["ok"]
    assert (body, "EGTCShape-twoMemberStates") in violations_of(result)


SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:select "{select}" ] ;
    sh:property [ sh:path ( ex:a [ sh:inversePath ex:b ] [ sh:zeroOrMorePath ex:c ] ) ; sh:class ex:D ] ."""


def analyse(select: str) -> shape_reach.Reach:
    return shape_reach.analyse(Graph().parse(data=SHAPES.replace("{select}", select), format="turtle"))


def test_the_analysis_follows_paths_and_sparql_patterns():
    reach = analyse("SELECT $this WHERE { ?x <https://example.org/p> $this . "
                    "FILTER NOT EXISTS { ?x <https://example.org/q>/^<https://example.org/r> ?y } }")
    assert {"https://example.org/p", "https://example.org/b", "https://example.org/r"} <= reach.predicates(False)
    assert {"https://example.org/a", "https://example.org/c", "https://example.org/q",
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"} <= reach.predicates(True)


@pytest.mark.parametrize("select", [
    "SELECT $this WHERE { ?x a <https://example.org/C> }",              # not joined to $this
    "SELECT $this WHERE { GRAPH ?g { $this ?p ?o } }",                   # a graph of its own
    "SELECT $this WHERE { BIND(<https://example.org/x> AS ?x) ?x <https://example.org/p> ?y }",  # by BIND
    "SELECT $this WHERE { <https://example.org/x> <https://example.org/p> 1 }",  # two constants
])
def test_what_the_analysis_cannot_bound_is_refused(select):
    with pytest.raises(shape_reach.Unanalysable):
        analyse(select)


def test_the_overlay_answers_lookups_with_its_own_writes():
    store = ox.Store()
    a, b, c, p, q = (ox.NamedNode(f"https://example.org/{x}") for x in "abcpq")
    store.add(ox.Quad(a, p, b))
    store.add(ox.Quad(a, q, c))
    overlay = changes.OverlayStore(store)
    overlay.removed.add(ox.Quad(a, p, b))
    overlay.added.add(ox.Quad(a, p, c))
    requests = [(a, p.value, "subject"), (a, None, "subject"), (c, p.value, "object"), (b, None, "object")]
    found = sorted((requests.index(request), quad.predicate.value[-1], quad.object.value[-1])
                   for request, quad in overlay.lookup(requests))
    # (a p b) is removed: neither `a p ?` nor `? * b` sees it; the added (a p c) is seen by both.
    assert found == [(0, "p", "c"), (1, "p", "c"), (1, "q", "c"), (2, "p", "c")]
