"""Find the content files and parse them; a parse error names file, line and column.

Files are parsed with Oxigraph (about ten times faster than rdflib's parser, and its
errors carry positions). Each file becomes one named graph,
`{base}graph/{file-stem}`; the rdflib view that pyshacl needs is built from the same triples.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef

from gros.settings import Settings
from gros.errors import GrosError

#: File suffixes we read, and the Oxigraph format of each.
FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".trig": ox.RdfFormat.TRIG,
    ".nq": ox.RdfFormat.N_QUADS,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".jsonld": ox.RdfFormat.JSON_LD,
}


class SourceError(GrosError):
    """A content file is missing or does not parse. Carries file, line and column."""

    status = 400
    exit_code = 2

    def __init__(self, path: Path | str, message: str, line: int | None = None, column: int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self), [{"file": self.path, "line": line, "column": column}])

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.path, "line": self.line, "column": self.column, "message": self.message}


@dataclass
class ContentFile:
    path: Path
    kind: str  # "ontology", "data" or "shapes"
    graph: str  # named graph IRI
    triples: list[ox.Triple] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.path.stem


def parse_file(path: Path, base_iri: str | None = None) -> list[ox.Triple]:
    """Parse one RDF file into Oxigraph triples, or raise SourceError with the position."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SourceError(path, f"unknown file type {path.suffix!r}; expected one of {', '.join(FORMATS)}")
    try:
        return [q.triple for q in ox.parse(path=str(path), format=fmt, base_iri=base_iri)]
    except SyntaxError as err:
        raise _positioned(path, err) from None
    except (OSError, ValueError) as err:
        raise SourceError(path, str(err)) from None


def _positioned(where, err: SyntaxError) -> SourceError:
    """Oxigraph says "Parser error between line 4 column 11 and line 5 column 1: <message>";
    the position is also in err.lineno/err.offset, so keep only the message."""
    message = str(err.msg if hasattr(err, "msg") else err)
    if ": " in message and message.startswith("Parser error"):
        message = message.split(": ", 1)[1]
    return SourceError(where, message, err.lineno, err.offset)


def parse_text(text: str | bytes, media_type: str, label: str = "request body", base_iri: str | None = None) -> list[ox.Triple]:
    """Parse an uploaded document; errors carry line and column as for files."""
    fmt = ox.RdfFormat.from_media_type(media_type.split(";")[0].strip())
    if fmt is None:
        raise SourceError(label, f"unsupported RDF media type {media_type!r}")
    try:
        return [q.triple for q in ox.parse(text, format=fmt, base_iri=base_iri)]
    except SyntaxError as err:
        raise _positioned(label, err) from None


def find_files(settings: Settings, kinds=("ontology", "data")) -> list[ContentFile]:
    """The content files of the given kinds, sorted, each with its named-graph IRI."""
    folders = {"ontology": settings.ontology_dir, "data": settings.data_dir, "shapes": settings.shapes_dir}
    found: list[ContentFile] = []
    seen: dict[str, Path] = {}
    for kind in kinds:
        folder = folders[kind]
        if not folder.is_dir():
            raise SourceError(folder, f"the {kind} folder does not exist")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in FORMATS or not path.is_file():
                continue
            if path.stem in seen and kind != "shapes":
                raise SourceError(path, f"file stem {path.stem!r} is also used by {seen[path.stem]}; "
                                        "named graphs are named after file stems, so stems must be unique")
            if kind != "shapes":
                seen[path.stem] = path
            found.append(ContentFile(path, kind, settings.graph_base + path.stem))
    return found


def read_files(files: list[ContentFile]) -> list[ContentFile]:
    """Parse every file; collect every parse error, then raise them together.

    Reporting all broken files at once lets the user fix them in one go.
    """
    errors: list[SourceError] = []
    for content in files:
        try:
            content.triples = parse_file(content.path)
        except SourceError as err:
            errors.append(err)
    if errors:
        raise ContentErrors(errors)
    return files


class ContentErrors(GrosError):
    """One or more content files did not parse."""

    status = 400
    exit_code = 2

    def __init__(self, errors: list[SourceError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors), [d for e in errors for d in e.details])


# --- conversion to rdflib, for pyshacl and for users who want rdflib graphs -------------

def to_rdflib(term):
    """An Oxigraph term as the equal rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"cannot convert {term!r}")


def to_graph(files: list[ContentFile], graph: Graph | None = None) -> Graph:
    """All triples of the files in one rdflib Graph."""
    graph = graph if graph is not None else Graph()
    for content in files:
        for t in content.triples:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


def subject_files(files: list[ContentFile]) -> dict[str, list[str]]:
    """For each subject IRI, the files that describe it (so reports can say where to look)."""
    where: dict[str, set[str]] = defaultdict(set)
    for content in files:
        for t in content.triples:
            if isinstance(t.subject, ox.NamedNode):
                where[t.subject.value].add(str(content.path))
    return {k: sorted(v) for k, v in where.items()}
