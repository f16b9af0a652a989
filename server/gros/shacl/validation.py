"""SHACL validation of ontology + data, and the checks SHACL cannot express.

`gros validate` and the server's start-up check both call `validate_content`; the
update gate calls `validate_graph`. A report lists, per result: severity, shape, focus
node, path, value, the messages (nl, en) and the files where the focus node is described.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import (DCAT, DCTERMS, FOAF, GEO, ORG, OWL, PROV, RDF, RDFS, SDO, SH,
                              SKOS, TIME, VANN, VOID, XSD)

from gros import patches
from gros.namespaces import GROS, GSHAPE
from gros.settings import Settings
from gros.content.files import ContentFile, find_files, read_files, subject_files, to_graph

#: Vocabularies whose terms rdflib knows; a term of theirs that rdflib does not know is a typo.
KNOWN_VOCABULARIES = (RDF, RDFS, OWL, XSD, SKOS, DCTERMS, PROV, ORG, SDO, GEO, TIME, FOAF, VANN, DCAT, VOID, SH)

#: rdf:type values that declare a term in the ontology.
DECLARING_TYPES = {OWL.Class, RDFS.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                   RDF.Property, OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.FunctionalProperty,
                   RDFS.Datatype}


UNDEFINED_TERM = GSHAPE.UndefinedTerm
UNDESCRIBED_IRI = GSHAPE.UndescribedResource

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass
class Result:
    severity: str
    focus: str
    shape: str | None = None
    path: str | None = None
    value: str | None = None
    messages: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    constraint: str | None = None
    rule: str | None = None  # the named SPARQL constraint or property shape that failed, if any

    def message(self, lang: str = "en") -> str:
        return self.messages.get(lang) or self.messages.get("en") or next(iter(self.messages.values()), "")

    def as_dict(self) -> dict:
        return {"severity": self.severity, "focusNode": self.focus, "shape": self.shape, "path": self.path,
                "value": self.value, "message": self.messages, "files": self.files,
                "constraint": self.constraint, "rule": self.rule}


@dataclass
class Report:
    results: list[Result]
    triples: int = 0
    files: int = 0
    shapes: int = 0

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Warning"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        state = "conforms" if self.conforms else "does NOT conform"
        return (f"{self.files} files, {self.triples} triples, {self.shapes} shapes: {state} "
                f"({len(self.violations)} violations, {len(self.warnings)} warnings)")


# --- whole-content validation -------------------------------------------------------------

def load_shapes(settings: Settings) -> tuple[Graph, int]:
    shape_files = read_files(find_files(settings, ("shapes",)))
    shapes = to_graph(shape_files)
    count = len(set(shapes.subjects(RDF.type, SH.NodeShape)))
    return shapes, count


def validate_content(settings: Settings, files: list[ContentFile] | None = None) -> Report:
    """Validate all of ontology/ and data/ against shapes/ (raises ContentErrors on parse errors)."""
    patches.apply()  # as validate_graph: each SPARQL constraint parsed once, not once per focus node
    if files is None:
        files = read_files(find_files(settings))
    shapes, shape_count = load_shapes(settings)
    graph = to_graph(files)
    where = subject_files(files)
    results = shacl_results(graph, shapes)
    results += undefined_terms(files)
    results += undescribed_resources(files, settings.id_base)
    root = settings.root
    for result in results:
        result.files = [_relative(p, root) for p in (result.files or where.get(result.focus, []))]
    results.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.files, r.focus, r.shape or "", r.path or ""))
    return Report(results, triples=len(graph), files=len(files), shapes=shape_count)


def validate_graph(graph: Graph, shapes: Graph, focus_nodes=None, inplace: bool = False) -> list[Result]:
    """SHACL results for one rdflib graph (optionally only for some focus nodes). `inplace`:
    the graph is the caller's to throw away, so pyshacl need not copy it first (a quarter of
    the write gate's time)."""
    patches.apply()
    return shacl_results(graph, shapes, focus_nodes=focus_nodes, inplace=inplace)


def shacl_results(graph: Graph, shapes: Graph, focus_nodes=None, inplace: bool = False) -> list[Result]:
    options = dict(shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True,
                   allow_infos=True, inplace=inplace)
    if focus_nodes is not None:
        options["focus_nodes"] = list(focus_nodes)
    _conforms, report_graph, _text = pyshacl.validate(graph, **options)
    return parse_report(report_graph, shapes)


def _named_shape(node, shapes: Graph | None):
    """A property shape written as a blank node is reported as 'NodeShape (property shape)'."""
    if not isinstance(node, BNode) or shapes is None:
        return _term(node)
    parent = shapes.value(predicate=SH.property, object=node)
    path = shapes.value(node, SH.path)
    if parent is not None and not isinstance(parent, BNode):
        return f"{parent}" + (f" (property {path})" if path is not None and not isinstance(path, BNode) else "")
    return _term(node)


def parse_report(report: Graph, shapes: Graph | None = None) -> list[Result]:
    """Our Result objects for the top-level results of a pyshacl report.

    Results nested under sh:detail (from sh:node) are part of their parent, not results of
    their own. pyshacl drops the language tags of messages from SPARQL constraints, so the
    language is recovered from the tagged sh:message literals of the shapes.
    """
    languages: dict[str, str] = {}
    if shapes is not None:
        for message in shapes.objects(None, SH.message):
            if isinstance(message, Literal) and message.language:
                languages.setdefault(str(message), message.language)
    results = []
    for top in report.subjects(RDF.type, SH.ValidationReport):
        for node in report.objects(top, SH.result):
            severity = report.value(node, SH.resultSeverity)
            messages: dict[str, str] = {}
            for message in report.objects(node, SH.resultMessage):
                lang = (message.language if isinstance(message, Literal) and message.language
                        else languages.get(str(message), "en"))
                messages.setdefault(lang, str(message))
            results.append(Result(
                severity=_local(severity) if severity else "Violation",
                focus=_term(report.value(node, SH.focusNode)),
                shape=_named_shape(report.value(node, SH.sourceShape), shapes),
                path=_term(report.value(node, SH.resultPath)),
                value=_term(report.value(node, SH.value)),
                messages=messages,
                constraint=_local(report.value(node, SH.sourceConstraintComponent)),
                rule=_named(report.value(node, SH.sourceConstraint)),
            ))
    return results


def _named(node) -> str | None:
    return str(node) if isinstance(node, URIRef) else None


# --- checks SHACL does not make -------------------------------------------------------------

def declared_terms(files: list[ContentFile]) -> set[str]:
    graph = to_graph([f for f in files if f.kind == "ontology"])
    return {str(s) for t in DECLARING_TYPES for s in graph.subjects(RDF.type, t) if isinstance(s, URIRef)}


def _known_elsewhere(term: URIRef) -> bool:
    for vocabulary in KNOWN_VOCABULARIES:
        if str(term).startswith(str(vocabulary)):
            return term in vocabulary
    return False


def undefined_terms(files: list[ContentFile]) -> list[Result]:
    """Classes and properties used but declared nowhere (a typo such as gros:memberof).

    Our own namespace is checked everywhere; in data/ every term must be ours, declared in
    ontology/reused-terms.ttl, or a term rdflib knows for its vocabulary.
    """
    declared = declared_terms(files)
    rdf_type = str(RDF.type)
    found: dict[tuple[str, str], set[str]] = {}
    for content in files:
        strict = content.kind == "data"
        for t in content.triples:
            terms = [("property", t.predicate.value)]
            if t.predicate.value == rdf_type and hasattr(t.object, "value") and t.object.__class__.__name__ == "NamedNode":
                terms.append(("class", t.object.value))
            for role, term in terms:
                if term == rdf_type or term in declared:
                    continue
                if term.startswith(str(GROS)) or (strict and not _known_elsewhere(URIRef(term))):
                    found.setdefault((role, term), set()).add(str(content.path))
    results = []
    for (role, term), paths in sorted(found.items()):
        results.append(Result(
            severity="Violation", focus=term, shape=str(UNDEFINED_TERM), value=term,
            messages={"nl": f"De {'klasse' if role == 'class' else 'eigenschap'} {term} wordt gebruikt maar "
                            f"is nergens in ontology/ gedefinieerd (tikfout?).",
                      "en": f"The {role} {term} is used but defined nowhere in ontology/ (a typo?)."},
            files=sorted(paths), constraint="UndefinedTerm"))
    return results


def undescribed_resources(files: list[ContentFile], id_base: str) -> list[Result]:
    """IRIs in our instance namespace that are linked to but never described."""
    described = {t.subject.value for f in files for t in f.triples if t.subject.__class__.__name__ == "NamedNode"}
    linked: dict[str, set[str]] = {}
    for content in files:
        for t in content.triples:
            obj = t.object
            if obj.__class__.__name__ == "NamedNode" and obj.value.startswith(id_base) and obj.value not in described:
                linked.setdefault(obj.value, set()).add(str(content.path))
    return [Result(severity="Violation", focus=iri, shape=str(UNDESCRIBED_IRI), value=iri,
                   messages={"nl": f"{iri} wordt gebruikt als waarde maar nergens beschreven.",
                             "en": f"{iri} is linked to but never described."},
                   files=sorted(paths), constraint="UndescribedResource")
            for iri, paths in sorted(linked.items())]


# --- rendering ------------------------------------------------------------------------------

def render_text(report: Report, root: Path | None = None) -> str:
    lines = []
    for r in report.results:
        lines.append(f"{r.severity}: {', '.join(r.files) or '(file unknown)'}")
        lines.append(f"  focus node: {r.focus}")
        if r.shape:
            lines.append(f"  shape:      {r.shape}")
        if r.rule and r.rule != r.shape:
            lines.append(f"  rule:       {r.rule}")
        if r.path:
            lines.append(f"  path:       {r.path}")
        if r.value is not None and r.value != r.focus:
            lines.append(f"  value:      {r.value}")
        for lang in ("nl", "en"):
            if lang in r.messages:
                lines.append(f"  {lang}: {r.messages[lang]}")
        for lang, text in r.messages.items():
            if lang not in ("nl", "en"):
                lines.append(f"  {lang}: {text}")
    lines.append(report.summary())
    return "\n".join(lines)


def render_json(report: Report) -> dict:
    return {"conforms": report.conforms, "summary": report.summary(),
            "counts": {"files": report.files, "triples": report.triples, "shapes": report.shapes,
                       "violations": len(report.violations), "warnings": len(report.warnings)},
            "results": [r.as_dict() for r in report.results]}


def render_graph(report: Report) -> Graph:
    """The report as a SHACL validation report graph (sh:ValidationReport)."""
    g = Graph()
    g.bind("sh", SH)
    g.bind("gshape", GSHAPE)
    top = BNode()
    g.add((top, RDF.type, SH.ValidationReport))
    g.add((top, SH.conforms, Literal(report.conforms)))
    for r in report.results:
        node = BNode()
        g.add((top, SH.result, node))
        g.add((node, RDF.type, SH.ValidationResult))
        g.add((node, SH.resultSeverity, SH[r.severity]))
        g.add((node, SH.focusNode, _node(r.focus)))
        if r.shape:
            g.add((node, SH.sourceShape, _node(r.shape)))
        if r.path:
            g.add((node, SH.resultPath, _node(r.path)))
        if r.value is not None:
            g.add((node, SH.value, _node(r.value)))
        for lang, text in r.messages.items():
            g.add((node, SH.resultMessage, Literal(text, lang=lang)))
        for path in r.files:
            g.add((node, RDFS.seeAlso, Literal(path)))
    return g


def _term(node) -> str | None:
    return None if node is None else str(node)


def _node(text: str):
    return URIRef(text) if text.startswith(("http://", "https://", "urn:")) else Literal(text)


def _local(node) -> str | None:
    if node is None:
        return None
    text = str(node)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path
