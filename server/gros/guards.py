"""What a query or update may make the server do on the network: SERVICE and LOAD.

Both Oxigraph and rdflib fetch the IRI named by SERVICE (and LOAD) themselves, which would
make a public endpoint an open proxy into the server's network. Neither lets us switch that
off, so requests are screened before they run: SERVICE and LOAD are refused unless every IRI
they name is on the allow-list (`--allow-service`, empty by default).

The screen works on tokens, not on a full parse (see sparql_text.py), so the keywords are only
found where they are keywords ("service" in a string, an IRI or ex:service does not count).
"""
from __future__ import annotations

import re

from .sparql_text import blank

_KEYWORD = re.compile(r'(?<![\w:?$])(SERVICE|LOAD)(?![\w:-])', re.IGNORECASE)
_TARGET = re.compile(r'\s*(?:SILENT\s+)?(<[^>]*>|\S+)', re.IGNORECASE)


class NetworkAccessRefused(ValueError):
    """The request names SERVICE or LOAD with a target that is not allowed."""


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
        if iri is None:
            raise NetworkAccessRefused(
                f"{keyword} with a variable or prefixed name is not allowed on this endpoint; "
                f"name the endpoint with a full IRI from the allow-list")
        if not any(iri == prefix or iri.startswith(prefix.rstrip("/") + "/") for prefix in allowed):
            listed = ", ".join(allowed) if allowed else "none (federated queries are off)"
            raise NetworkAccessRefused(
                f"{keyword} <{iri}> is not allowed: this endpoint only contacts allow-listed endpoints "
                f"(allowed: {listed}; set them with gros serve --allow-service IRI)")
