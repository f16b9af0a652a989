"""What a query or update may make the server do on the network: SERVICE and LOAD.

Both Oxigraph and rdflib fetch the IRI named by SERVICE (and LOAD) themselves, which would
make a public endpoint an open proxy into the server's network. Neither lets us switch that
off, so requests are screened before they run: SERVICE is refused unless every IRI it names
is on the allow-list (`--allow-service`, empty by default), and LOAD always is (data comes in
through the Graph Store Protocol). Redirects are not followed: Oxigraph's limit is 0, and
rdflib's SERVICE client is given one that refuses them (changes.py).

The screen works on tokens, not on a full parse (see sparql_text.py), so the keywords are only
found where they are keywords ("service" in a string, an IRI or ex:service does not count).

The same blanked text bounds the shape of a request (`check_shape`): Oxigraph's parser and
planner recurse over the query, and a query nested some thousands of levels deep, or with
thousands of UNIONs, overflows the stack of the worker (measured with pyoxigraph 0.5.13:
10,000 nested groups or 50,000 UNIONs crash it; 5,000 UNIONs take seconds just to plan).
Such requests are refused before they reach a worker.
"""
from __future__ import annotations

import re

from gros.sparql.text import blank
from gros.errors import GrosError

_KEYWORD = re.compile(r'(?<![\w:?$])(SERVICE|LOAD)(?![\w:-])', re.IGNORECASE)
_TARGET = re.compile(r'\s*(?:SILENT\s+)?(<[^>]*>|\S+)', re.IGNORECASE)


class NetworkAccessRefused(GrosError, ValueError):
    """The request names SERVICE or LOAD with a target that is not allowed."""

    status = 403
    exit_code = 2


def network_targets(text: str) -> list[tuple[str, str | None]]:
    """(keyword, target IRI or None when not a plain IRI) for each SERVICE/LOAD in the text."""
    blanked, iris = blank(text)
    found = []
    for match in _KEYWORD.finditer(blanked):
        keyword = match.group(1).upper()
        target = _TARGET.match(blanked, match.end())
        iri = None
        if target and target.group(1).startswith("<") and target.group(1)[1:-1].isdigit():
            iri = iris[int(target.group(1)[1:-1])]
        found.append((keyword, iri))
    return found


def check(text: str, allowed: tuple[str, ...] = ()) -> None:
    """Raise NetworkAccessRefused unless every SERVICE/LOAD target is allowed."""
    for keyword, iri in network_targets(text):
        if keyword == "LOAD":
            # rdflib (which evaluates updates here) would not load it, and fetching it behind the
            # SHACL gate's back is what the Graph Store Protocol already does in the open.
            raise NetworkAccessRefused(
                "LOAD is not allowed on this endpoint, whatever --allow-service lists: fetch the document "
                "yourself and send it with PUT or POST /rdf-graphs?graph=IRI, where it passes the same checks")
        if iri is None:
            raise NetworkAccessRefused(
                f"{keyword} with a variable or prefixed name is not allowed on this endpoint; "
                f"name the endpoint with a full IRI from the allow-list")
        if not any(iri == prefix or iri.startswith(prefix.rstrip("/") + "/") for prefix in allowed):
            listed = ", ".join(allowed) if allowed else "none (federated queries are off)"
            raise NetworkAccessRefused(
                f"{keyword} <{iri}> is not allowed: this endpoint only contacts allow-listed endpoints "
                f"(allowed: {listed}; set them with gros serve --allow-service IRI)")


#: Deepest nesting of { ( [ a request may have; real queries stay under 20.
MAX_DEPTH = 100
#: Most group patterns { } in one request: each UNION, OPTIONAL, MINUS, GRAPH or sub-query adds one.
MAX_GROUPS = 1000
#: Most brackets of all kinds (VALUES rows and function calls count here).
MAX_BRACKETS = 200_000
_BRACKET = re.compile(r"[{}()\[\]]")


class TooComplex(GrosError, ValueError):
    """The request is nested too deeply or has too many groups to be run safely."""

    status = 400
    exit_code = 2


def check_shape(text: str, what: str = "request") -> None:
    """Raise TooComplex when `text` passes MAX_DEPTH, MAX_GROUPS or MAX_BRACKETS."""
    blanked, _ = blank(text)
    groups = blanked.count("{")
    if groups > MAX_GROUPS:
        raise TooComplex(f"the {what} has {groups} groups {{ }} (each UNION, OPTIONAL, MINUS, GRAPH and "
                         f"sub-query adds one); this endpoint runs at most {MAX_GROUPS}: split it into "
                         f"several requests, or use VALUES instead of a chain of UNIONs")
    openers = groups + blanked.count("(") + blanked.count("[")
    if openers > MAX_BRACKETS:
        raise TooComplex(f"the {what} has {openers} brackets; this endpoint runs at most {MAX_BRACKETS}")
    if openers <= MAX_DEPTH:
        return
    depth = 0
    for match in _BRACKET.finditer(blanked):
        depth += 1 if match.group(0) in "{([" else -1
        if depth > MAX_DEPTH:
            raise TooComplex(f"the {what} is nested more than {MAX_DEPTH} levels deep; this endpoint does not "
                             f"run it (deeper nesting can exhaust the query engine's stack)")
