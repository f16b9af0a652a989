"""The named queries of queries/: their headers, parameters, and running them.

A named query is a `.rq` file that starts with a YAML header in comment lines between
`# ---` markers (title and description in nl and en, parameters). A parameter binds the
SPARQL variable of the same name before evaluation (Oxigraph substitutions), so a value
can never change the query's text: there is no string splicing and no injection.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import yaml
from gros.errors import GrosError

NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PARAMETER_TYPES = ("iri", "string", "date", "integer")


class QueryNotFound(GrosError, LookupError):

    status = 404
    exit_code = 2

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"no named query {name!r}; known queries: {', '.join(known)}",
                         [{"queries": ", ".join(known)}])


class ParameterError(GrosError, ValueError):
    """A parameter value is missing, unknown or of the wrong type."""

    status = 400
    exit_code = 2


class QueryFileError(GrosError, ValueError):
    """A .rq file has no valid header."""

    status = 500
    exit_code = 2


@dataclass
class Parameter:
    name: str
    type: str = "string"
    default: str | None = None
    description: dict[str, str] = field(default_factory=dict)
    required: bool = False

    def term(self, raw: str):
        """The RDF term for a raw (URL or CLI) value, or ParameterError."""
        try:
            if self.type == "iri":
                if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]*$", raw):
                    raise ValueError("not an absolute IRI")
                return ox.NamedNode(raw)
            if self.type == "date":
                dt.date.fromisoformat(raw)
                return ox.Literal(raw, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))
            if self.type == "integer":
                int(raw)
                return ox.Literal(raw, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
            return ox.Literal(raw)
        except ValueError as err:
            raise ParameterError(f"parameter {self.name!r} expects {self.type}, got {raw!r} ({err})") from None


@dataclass
class NamedQuery:
    name: str
    path: Path
    text: str
    title: dict[str, str]
    description: dict[str, str]
    parameters: dict[str, Parameter]

    def bindings(self, values: dict[str, str]) -> dict:
        """Oxigraph substitutions from raw values, with defaults; unknown names are refused."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise ParameterError(f"query {self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                                 f"its parameters: {', '.join(self.parameters) or 'none'}")
        substitutions = {}
        for name, parameter in self.parameters.items():
            raw = values.get(name, parameter.default)
            if raw in (None, ""):
                if parameter.required:
                    raise ParameterError(f"query {self.name!r} needs parameter {name!r}")
                continue
            substitutions[ox.Variable(name)] = parameter.term(str(raw))
        return substitutions


def parse_header(text: str, path: Path) -> dict:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "# ---":
        raise QueryFileError(f"{path}:1: a named query starts with a '# ---' header (title, description)")
    body = []
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "# ---":
            break
        if not line.startswith("#"):
            raise QueryFileError(f"{path}:{number}: header lines start with '#'")
        body.append(line[2:] if line.startswith("# ") else line[1:])
    else:
        raise QueryFileError(f"{path}: the header is not closed with '# ---'")
    try:
        header = yaml.safe_load("\n".join(body)) or {}
    except yaml.YAMLError as err:
        raise QueryFileError(f"{path}: the header is not valid YAML: {err}") from None
    for key in ("title", "description"):
        if not isinstance(header.get(key), dict) or not {"nl", "en"} <= set(header[key]):
            raise QueryFileError(f"{path}: the header needs {key} with nl and en")
    return header


def read_query(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    header = parse_header(text, path)
    parameters = {}
    for name, spec in (header.get("parameters") or {}).items():
        spec = spec or {}
        kind = spec.get("type", "string")
        if kind not in PARAMETER_TYPES:
            raise QueryFileError(f"{path}: parameter {name!r} has unknown type {kind!r} ({', '.join(PARAMETER_TYPES)})")
        default = spec.get("default")
        parameters[name] = Parameter(name, kind, None if default is None else str(default),
                                     spec.get("description") or {}, bool(spec.get("required", False)))
    return NamedQuery(path.stem, path, text, header["title"], header["description"], parameters)


def all_queries(folder: Path) -> dict[str, NamedQuery]:
    return {p.stem: read_query(p) for p in sorted(folder.glob("*.rq")) if NAME_PATTERN.match(p.stem)}


def find_query(folder: Path, name: str) -> NamedQuery:
    path = folder / f"{name}.rq"
    if not NAME_PATTERN.match(name) or not path.is_file():
        raise QueryNotFound(name, sorted(all_queries(folder)))
    return read_query(path)


def run(store: ox.Store, query: NamedQuery, values: dict[str, str] | None = None):
    """Run a named query over the union of all graphs; returns Oxigraph's result object."""
    return store.query(query.text, substitutions=query.bindings(values or {}),
                       use_default_graph_as_union=True)


def rows(solutions) -> list[dict[str, str | None]]:
    """SELECT results as plain dicts of strings (IRIs and literal values), for people and notebooks."""
    names = [v.value for v in solutions.variables]
    out = []
    for solution in solutions:
        out.append({name: (None if solution[name] is None else solution[name].value) for name in names})
    return out
