"""The properties that a reconciliation query may compare and that data extension adds as
columns: one SPARQL query per property in properties/ (rows ?s ?value), with a header that names
it in nl, en, de and fr, says what its values are (entity, string, date, integer) and which types
it applies to. A property can also be given by the full IRI of a predicate: its values are then
read from the triples as they are.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from gros.content.named_queries import parse_header
from gros.reconciliation.normalise import fold, query_form
from gros.errors import GrosError

FOLDER = Path(__file__).parent / "properties"
KINDS = ("entity", "string", "date", "integer")
_IRI = re.compile(r"^https?://\S+$")
_YEAR = re.compile(r"^-?\d{4}")


class PropertyError(GrosError, ValueError):
    """A property that is neither one of ours nor an IRI."""

    status = 400
    exit_code = 2


@dataclass(frozen=True)
class Property:
    id: str
    names: dict[str, str]
    description: dict[str, str]
    kind: str
    types: tuple[str, ...]
    text: str | None  # the query; None for a predicate given by its IRI

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or self.id


@lru_cache(maxsize=1)
def defined() -> dict[str, Property]:
    """Our properties, by id (the file's name)."""
    found = {}
    for path in sorted(FOLDER.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = parse_header(text, path)
        kind = header.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{path}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        found[path.stem] = Property(path.stem, dict(header["title"]), dict(header["description"]), kind,
                                    tuple(header.get("types") or ()), text)
    return found


def find(pid: str) -> Property:
    """The property `pid`: one of ours, or a predicate IRI; PropertyError otherwise."""
    known = defined()
    if pid in known:
        return known[pid]
    if _IRI.match(pid):
        return Property(pid, {"en": pid}, {}, "predicate", (), None)
    raise PropertyError(f"unknown property {pid!r}: use one of {', '.join(known)}, or the full IRI of a predicate")


def values(store: ox.Store, prop: Property) -> dict[str, list]:
    """subject IRI -> its values (terms), for every subject that has one."""
    out: dict[str, list] = {}
    if prop.text is not None:
        for row in store.query(prop.text, use_default_graph_as_union=True):
            subject, value = row["s"], row["value"]
            if isinstance(subject, ox.NamedNode) and value is not None:
                out.setdefault(subject.value, []).append(value)
        return out
    for quad in store.quads_for_pattern(None, ox.NamedNode(prop.id), None, None):
        if isinstance(quad.subject, ox.NamedNode):
            found = out.setdefault(quad.subject.value, [])
            if quad.object not in found:
                found.append(quad.object)
    return out


# --- comparing a query's value with a candidate's --------------------------------------------

def given(value) -> tuple[str | None, str]:
    """A query's property value as (IRI or None, text): {"id": ..., "name": ...}, a string, a
    number or a boolean (the forms the Reconciliation API allows)."""
    if isinstance(value, dict):
        return value.get("id"), str(value.get("name") or value.get("id") or "")
    if isinstance(value, bool):
        return None, "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return (text if _IRI.match(text) else None), text


def agrees(kind: str, wanted, term, names_of) -> bool:
    """Whether a candidate's value `term` is what the query's value `wanted` says. `names_of(iri)`
    gives the names and codes of an entity value (a country is "NL", "Nederland", "Germany" ...)."""
    iri, text = given(wanted)
    if isinstance(term, ox.NamedNode):
        if iri is not None and iri == term.value:
            return True
        if not text:
            return False
        want = query_form(_last_segment(text)).sorted
        return any(form == want for form in names_of(term.value))
    # A reconciled cell comes as {"id", "name"} (OpenRefine sends a cell of a reconciled column
    # so): a literal value (a QID, a code) may be what either of them says.
    return any(_same_literal(kind, term.value, said) for said in dict.fromkeys((text, iri or "")) if said)


def _same_literal(kind: str, value: str, text: str) -> bool:
    if kind in ("date", "integer") or _YEAR.match(value) and _YEAR.match(text):
        a, b = value.strip(), text.strip()
        return bool(a and b) and (a.startswith(b) or b.startswith(a))
    return fold(_last_segment(value)) == fold(_last_segment(text))


def _last_segment(text: str) -> str:
    """A Wikidata entity IRI stands for its QID: "http://www.wikidata.org/entity/Q55" -> "Q55"."""
    if text.startswith("http://www.wikidata.org/entity/") or text.startswith("https://www.wikidata.org/wiki/"):
        return text.rstrip("/").rsplit("/", 1)[-1]
    return text
