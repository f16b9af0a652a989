"""The selective named queries (an IRI parameter pins them to one resource) start from that resource
(constant time as the data grows), and no named query joins two parts that share no variable
(a cross product), checked on Oxigraph's own query plan, without timing.

pyoxigraph plans a query before it binds the parameters (substitutions), so the plan of a named query's
text with its parameters unbound is the plan the embedded store runs. `oxigraph query --explain-file`
(the `oxigraph` package of the test extra, the same 0.5 as pyoxigraph) writes that plan as JSON; an empty
store is enough, since the plan does not depend on the data.

What is checked: every part of the plan that Oxigraph evaluates on its own, with nothing but the
parameters bound (the first pattern, both sides of a hash join, the right side of a hash OPTIONAL, each
branch of such a UNION), starts from the parameter or from a constant. A pattern that starts from
neither reads every triple with its predicate, so its time grows with the store. Inside EXISTS, which
Oxigraph never reorders, every triple pattern runs on its own with the outer row: each must have a
constant, the parameter or a variable of the outer query as subject or object. Not checked: how many rows
a constant start gives (`?news a gros:NewsItem` reads every news item).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from gros.content import named_queries as queries
from server_fixture import ROOT

OXIGRAPH = Path(sys.executable).with_name("oxigraph")
NAMED = queries.all_queries(ROOT / "queries")
SELECTIVE = sorted(name for name, q in NAMED.items() if any(p.type == "iri" for p in q.parameters.values()))
#: Parts that start from neither the parameter nor a constant, and why that is accepted. Strict: when a
#: query is rewritten so that the part starts from its parameter, its entry goes.
KNOWN_SCANS = {
    "body-life-events": {"QuadPattern(?event <https://w3id.org/gros/def#legalBasis> ?legalBasis)":
                         "the legal bases are joined in a GROUP BY subquery, which Oxigraph evaluates on "
                         "its own; projecting ?body into it would clash with the parameter written into "
                         "the text for remote stores. It reads every gros:legalBasis, a curated few"},
}
#: Operators whose children Oxigraph evaluates each on its own (with only the outer bindings).
INDEPENDENT_CHILDREN = ("Join(HashBuild", "LeftJoin(HashBuild", "Union")
#: Operators that evaluate their right child once per row of their left child.
PER_ROW = ("Lateral", "ForLoopLeftJoin")


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory) -> Path:
    location = tmp_path_factory.mktemp("plans") / "store"
    ox.Store(str(location)).flush()
    return location


def plan(store: Path, name: str, folder: Path) -> dict:
    return plan_of(store, NAMED[name].path, folder)


def plan_of(store: Path, query: Path, folder: Path) -> dict:
    explanation = folder / f"{query.stem}.json"
    subprocess.run([str(OXIGRAPH), "query", "--location", str(store), "--query-file", str(query),
                    "--union-default-graph", "--explain-file", str(explanation), "--results-format", "csv"],
                   check=True, capture_output=True, timeout=120)
    return json.loads(explanation.read_text())["plan"]


def independent_leaves(node: dict, bound: frozenset[str]):
    """(leaf, variables bound when it runs) for the first leaf of every part of the plan that is evaluated
    on its own. The EXISTS of an expression (BIND, FILTER) are its operator's further children: they run
    with the row of its first child, so its variables are bound there too."""
    name, children = node["name"], node.get("children", [])
    if not children:
        yield name, bound
    elif name.startswith(PER_ROW):
        yield from independent_leaves(children[0], bound)  # the right side runs with the left side's row
    elif name.startswith(INDEPENDENT_CHILDREN):
        for child in children:
            yield from independent_leaves(child, bound)
    else:
        yield from independent_leaves(children[0], bound)
        for exists in children[1:]:
            yield from independent_leaves(exists, bound | outer_variables(children[0]))


def outer_variables(node: dict) -> set[str]:
    """The variables of the patterns of a part of the plan, outside its EXISTS."""
    name, children = node["name"], node.get("children", [])
    if not children:
        return set(re.findall(r"\?\w+", name))
    if name.startswith(PER_ROW + INDEPENDENT_CHILDREN):
        return set().union(*(outer_variables(child) for child in children))
    return outer_variables(children[0])


def starts_from(leaf: str, parameters: set[str]) -> bool:
    """Whether a leaf (QuadPattern(s p o), Path(s path o), StaticBindings) has its subject or object
    bound: one of the given variables or a constant (an IRI or a literal)."""
    if leaf.startswith("StaticBindings"):
        return True
    inner = leaf[leaf.index("(") + 1:-1]
    subject, end = inner.split(" ", 1)[0], inner.rsplit(" ", 1)[-1]
    return any(term in parameters or not term.startswith("?") for term in (subject, end))


@pytest.mark.parametrize("name", SELECTIVE)
def test_a_selective_query_starts_from_its_parameter(empty_store, tmp_path, name):
    parameters = {f"?{p}" for p in NAMED[name].parameters}
    leaves = list(independent_leaves(plan(empty_store, name, tmp_path), frozenset(parameters)))
    assert leaves, "no plan"
    scans = {leaf for leaf, bound in leaves if not starts_from(leaf, bound)}
    assert scans == set(KNOWN_SCANS.get(name, {})), f"parts of the plan that read a whole predicate: {scans}"


def test_the_check_sees_a_scan():
    """The old members-on-date (earlier) ran a NOT EXISTS; a pattern like its
    `?later gros:memberFrom ?laterFrom`, evaluated on its own, is what the check must catch."""
    hash_join = {"name": "Join(HashBuildLeftProbeRight, keys = )", "children": [
        {"name": "QuadPattern(?membership <http://www.w3.org/ns/org#organization> ?body)"},
        {"name": "QuadPattern(?later <https://w3id.org/gros/def#memberFrom> ?laterFrom)"}]}
    leaves = list(independent_leaves(hash_join, frozenset({"?body"})))
    assert [starts_from(leaf, bound) for leaf, bound in leaves] == [True, False]
    lateral = dict(hash_join, name="Lateral")
    assert all(starts_from(leaf, bound) for leaf, bound in independent_leaves(lateral, frozenset({"?body"})))


#: Oxigraph's hash joins name the variables they join on: `keys = ` with none is a cross product. Oxigraph
#: leaves out of the keys a variable that one side may leave unbound, so the classic mistake, a label
#: OPTIONAL on a variable bound only in an earlier OPTIONAL, shows here as a join without keys.
HASH_JOIN = re.compile(r"^(Join|LeftJoin)\(HashBuild\w+, keys = (?P<keys>[^,)]*)")


def cross_products(node: dict):
    """The hash joins without keys outside EXISTS (which runs with the outer row, so its variables are bound
    there), except those with a VALUES list on one side: that list is written in the query and does not
    grow with the data."""
    name, children = node["name"], node.get("children", [])
    found = HASH_JOIN.match(name)
    if found and not found.group("keys").strip() and not any(c["name"].startswith("StaticBindings") for c in children):
        yield name
    if name.startswith(("Filter", "Extend")):
        children = children[:1]  # the others are the EXISTS of its expression
    for child in children:
        yield from cross_products(child)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_no_query_joins_parts_that_share_no_variable(empty_store, tmp_path, name):
    assert list(cross_products(plan(empty_store, name, tmp_path))) == []


def test_the_check_sees_a_label_on_a_variable_that_may_be_unbound(empty_store, tmp_path):
    """`OPTIONAL { ?body gros:seat ?seat } OPTIONAL { ?seat rdfs:label ?seatLabel }`: every row without
    a seat gets every label of the store; the same OPTIONAL nested in the first is planned per row."""
    wrong, right = tmp_path / "wrong.rq", tmp_path / "right.rq"
    head = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX gros: <https://w3id.org/gros/def#> "
            "SELECT ?body ?seat ?seatLabel WHERE { ?body a gros:CooperationBody . ")
    wrong.write_text(head + "OPTIONAL { ?body gros:seat ?seat } OPTIONAL { ?seat rdfs:label ?seatLabel } }")
    right.write_text(head + "OPTIONAL { ?body gros:seat ?seat OPTIONAL { ?seat rdfs:label ?seatLabel } } }")
    assert list(cross_products(plan_of(empty_store, wrong, tmp_path)))
    assert not list(cross_products(plan_of(empty_store, right, tmp_path)))
