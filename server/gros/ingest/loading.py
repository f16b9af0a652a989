"""A researcher's own data next to ours: `gros load --graph IRI FILE...` puts files into one named
graph of a local on-disk store that also holds the whole GROS graph, so that one query joins
both (`gros query --store PATH`, `gros serve --store PATH`, or `gros.query(..., store=PATH)`).

Nothing is written unless the files pass these checks, with the whole GROS graph beside them:
  * every file parses (errors name file, line and column);
  * terms in our namespace (gros:) exist in the ontology (a typo such as gros:nutscode);
  * links to our instance IRIs (https://w3id.org/gros/id/...) point at something we describe
    (a typo such as region/limburg-nll would join nothing, silently);
  * wherever the files use our classes, the resources pass our shapes: the same SHACL that the
    shipped data passes. Their own vocabulary is theirs and is not checked.

Loading replaces the graph's earlier content in one transaction, so running it again after
editing the files gives the new state, not the union of both. The store loads and validates
the GROS content itself the first time, exactly as `gros serve` does on start.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import URIRef

from gros.shacl import validation
from gros.settings import Settings
from gros.content.files import ContentFile, SourceError, parse_file, to_graph, to_rdflib
from gros.store.embedded import GraphStore
from gros.errors import GrosError

IRI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>\"{}|\\^`]+$")


class LoadRefused(GrosError):
    """Nothing was loaded. `exit_code`: 1 the data is invalid, 2 a usage or input error."""

    status = 400
    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2, results: list[validation.Result] | None = None):
        self.exit_code = exit_code
        self.results = results or []
        super().__init__(message)


@dataclass
class LoadOutcome:
    graph: str
    store: Path
    files: list[str]
    triples: int
    warnings: list[validation.Result] = field(default_factory=list)


def check_graph_name(settings: Settings, graph: str, content_graphs: set[str]) -> None:
    if not IRI.match(graph):
        raise LoadRefused(f"--graph {graph!r} is not an absolute IRI (for example https://example.org/graph/my-data)")
    if graph in content_graphs or graph == settings.graph_base + "meta":
        raise LoadRefused(f"the graph <{graph}> belongs to the GROS content itself; name your own graph, "
                          f"for example https://example.org/graph/my-data")


def read_research_files(paths: list[Path]) -> list[ContentFile]:
    files, errors = [], []
    for path in paths:
        content = ContentFile(path, "research", "")
        try:
            content.triples = parse_file(path)
        except SourceError as err:  # names file, line and column
            errors.append(str(err))
            continue
        files.append(content)
    if errors:
        raise LoadRefused("\n".join(errors) + f"\n{len(errors)} file(s) could not be read; nothing was loaded.")
    return files


def check_research_files(settings: Settings, content: list[ContentFile], research: list[ContentFile]
                         ) -> list[validation.Result]:
    """Every result (violations and warnings) for the research files, beside the whole content."""
    names = {str(f.path) for f in research}
    results = [r for r in validation.undefined_terms([*content, *research]) if set(r.files) & names]
    results += [r for r in validation.undescribed_resources([*content, *research], settings.id_base)
                if set(r.files) & names]
    graph = to_graph([*content, *research])
    focus = {to_rdflib(t.subject) for f in research for t in f.triples}
    focus = [node for node in focus if isinstance(node, URIRef)]
    if focus:
        shapes, _ = validation.load_shapes(settings)
        shacl = validation.validate_graph(graph, shapes, focus_nodes=focus)
        for result in shacl:
            result.files = sorted(str(f.path) for f in research
                                  if any(t.subject.value == result.focus for t in f.triples
                                         if isinstance(t.subject, ox.NamedNode)))
        results += shacl
    return results


def prepare_content(settings: Settings) -> None:
    """Validate the GROS content and load it into the on-disk store, as `gros serve` does on start
    (raises InvalidContent, ContentErrors, StoreError); the store is closed again afterwards."""
    from gros.runtime.service import Service

    service = Service(settings)
    service.prepare()
    shutil.rmtree(service.snapshots, ignore_errors=True)  # prepare() makes one for query workers
    # Validation can leave a traceback behind that keeps this call's frames (and so the service)
    # alive for a while; without the store the service holds no lock, and the store can be opened
    # again at once.
    service.store = None
    service.history = None  # the change log holds the store too


def load_research_data(settings: Settings, graph: str, paths: list[Path]) -> LoadOutcome:
    """Check the files, then replace the named graph `graph` of the store with their content."""
    from gros.content.quads import content_files

    if settings.store_path is None:
        settings = settings.with_(store_path=settings.default_store)
    content = content_files(settings)
    check_graph_name(settings, graph, {f.graph for f in content})
    research = read_research_files(paths)
    results = check_research_files(settings, content, research)
    violations = [r for r in results if r.severity == "Violation"]
    if violations:
        raise LoadRefused(f"{len(violations)} violation(s) in the files; nothing was loaded", 1, results)
    prepare_content(settings)
    store = GraphStore(settings)
    target = ox.NamedNode(graph)
    quads = [ox.Quad(t.subject, t.predicate, t.object, target) for f in research for t in f.triples]
    store.apply([], quads, drop_graphs=[graph])
    store.store.flush()
    del store  # releases the store's lock: the caller may open it next (gros.query(..., store=PATH))
    return LoadOutcome(graph, settings.store_path, [str(p) for p in paths], len(set(quads)),
                       [r for r in results if r.severity != "Violation"])
