"""Dumps and registry profiles: the library behind `gros export`, `gros release` and the HTTP
downloads (/dumps/..., /export/...).

A *dump* is the whole graph in one RDF syntax. N-Quads and TriG keep the named graphs (one per
file of ontology/ and data/, and at run time any graph added by updates); Turtle, N-Triples,
RDF/XML and JSON-LD hold the union of all graphs. JSON-LD is compacted with the @context of
`static/context.jsonld`, the document the service publishes at /context.jsonld, and carries it
inline, so a dump reads the same offline.

A *profile* is what a registry harvests: a SPARQL CONSTRUCT in `queries/export/{name}.rq`
(dcat-ap, cpov, eli, void), run over the union of all graphs, plus whatever fixed metadata
the data holds (data/catalog.ttl). Profiles are content, not code: this module only runs them.

Output is reproducible: statements are sorted, and blank nodes from the content files get labels
derived from their file (`regions-1`, ...) rather than the parser's random ones, so the same
content gives byte-identical dumps.
"""
from __future__ import annotations

import io
import json
import uuid
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from gros import formats
from gros.content import named_queries as queries
from gros.settings import Settings
from gros.content.files import ContentFile, to_rdflib
from gros.content.quads import content_files, content_quads, content_store, quad_order, store_quads  # noqa: F401 (the export API)
from gros.errors import GrosError

CONTEXT_FILE = Path(__file__).parents[1] / "web" / "static" / "context.jsonld"

#: What `gros export --format` offers, named as formats.py names them.
DUMP_FORMATS = [formats.TURTLE, formats.NTRIPLES, formats.NQUADS, formats.TRIG, formats.JSONLD, formats.RDFXML]
#: Formats that keep named graphs.
QUAD_FORMATS = {formats.NQUADS.name, formats.TRIG.name}
#: Dumps are called gros.ttl, gros.nq, ... (data/catalog.ttl gives their download URLs).
DUMP_STEM = "gros"
RDF_FIRST = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#first")


class UnknownProfile(GrosError, LookupError):

    status = 404
    exit_code = 2

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"no export profile {name!r}; known profiles: {', '.join(known)}",
                         [{"profiles": ", ".join(known)}])


class UnknownDumpFormat(GrosError, LookupError):

    status = 400
    exit_code = 2

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown dump format {name!r}; use one of {', '.join(f.name for f in DUMP_FORMATS)}")


# --- formats and file names -------------------------------------------------------------------

def dump_format(name: str) -> formats.Format:
    """The dump format for a name (turtle, ntriples, ...), an extension or a media type."""
    fmt = formats.lookup(name, DUMP_FORMATS)
    if fmt is None:
        raise UnknownDumpFormat(name)
    return fmt


def dump_name(fmt: formats.Format) -> str:
    return DUMP_STEM + fmt.extension


def format_of_file(name: str) -> formats.Format | None:
    """The format of a dump file name such as gros.ttl (None if it is not one)."""
    for fmt in DUMP_FORMATS:
        if name == dump_name(fmt):
            return fmt
    return None


# --- profiles ---------------------------------------------------------------------------------

def profiles_dir(settings: Settings) -> Path:
    return settings.queries_dir / "export"


def profile_names(settings: Settings) -> list[str]:
    folder = profiles_dir(settings)
    return sorted(p.stem for p in folder.glob("*.rq") if queries.NAME_PATTERN.match(p.stem)) if folder.is_dir() else []


def profile_query(settings: Settings, name: str) -> queries.NamedQuery:
    path = profiles_dir(settings) / f"{name}.rq"
    if not queries.NAME_PATTERN.match(name) or not path.is_file():
        raise UnknownProfile(name, profile_names(settings))
    return queries.read_query(path)


def run_profile(store: ox.Store, query: queries.NamedQuery, bindings: dict[str, ox.Literal] | None = None
                ) -> list[ox.Triple]:
    """The triples the profile's CONSTRUCT gives over the union of all graphs, sorted, once each.

    `bindings` fix variables of the query before it runs (a release binds ?version and ?issued).
    """
    substitutions = {ox.Variable(name): value for name, value in (bindings or {}).items()}
    result = store.query(query.text, substitutions=substitutions, use_default_graph_as_union=True)
    if not isinstance(result, ox.QueryTriples):
        raise ValueError(f"{query.path}: an export profile is a CONSTRUCT query")
    return sorted(set(result), key=str)


def export_profile(settings: Settings, name: str, files: list[ContentFile] | None = None,
                   bindings: dict[str, ox.Literal] | None = None) -> list[ox.Triple]:
    """A profile over the content files (no server needed)."""
    query = profile_query(settings, name)
    store = content_store(files if files is not None else content_files(settings))
    return run_profile(store, query, bindings)


# --- serialising ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def context() -> dict:
    """The JSON-LD @context (the whole document: {"@context": {...}})."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))


def prefixes() -> dict[str, str]:
    """The namespace prefixes of the @context, for Turtle and TriG."""
    return {key: value for key, value in context()["@context"].items()
            if isinstance(value, str) and not key.startswith("@") and value.endswith(("/", "#"))}


def serialize(items, fmt: formats.Format) -> bytes:
    """Triples or quads in `fmt`. Quads in a triple format become the union of their graphs;
    triples in a quad format are the default graph."""
    items = list(items)
    if fmt.name in QUAD_FORMATS:
        quads = [i if isinstance(i, ox.Quad) else ox.Quad(i.subject, i.predicate, i.object, ox.DefaultGraph())
                 for i in items]
        return ox.serialize(sorted(set(quads), key=quad_order), format=fmt.oxigraph, prefixes=prefixes()) or b""
    triples = sorted({i.triple if isinstance(i, ox.Quad) else i for i in items}, key=str)
    if fmt.name == formats.JSONLD.name:
        return _jsonld(triples)
    return ox.serialize(triples, format=fmt.oxigraph, prefixes=prefixes()) or b""


def _jsonld(triples: list[ox.Triple]) -> bytes:
    """JSON-LD compacted with our @context (rdflib compacts; Oxigraph writes expanded JSON-LD only),
    with nodes and values in a fixed order."""
    from rdflib import Graph, URIRef

    # rdflib writes a blank node only where it meets it as a value, and then not at all when the
    # term has "@type": "@id" (rdfs:seeAlso in our @context) or when only blank nodes refer to it:
    # its statements would be lost. So every blank node but the cells of RDF lists (which rdflib
    # writes as @list) goes in as an IRI made for this call, and comes out as `_:label` again.
    stand_in = f"urn:uuid:{uuid.uuid4()}#"
    cells = {t.subject for t in triples if t.predicate == RDF_FIRST}

    def term(node):
        if isinstance(node, ox.BlankNode) and node not in cells:
            return URIRef(stand_in + node.value)
        return to_rdflib(node)

    graph = Graph()
    for t in triples:
        graph.add((term(t.subject), to_rdflib(t.predicate), term(t.object)))
    local_context = context()["@context"]
    document = json.loads(graph.serialize(format="json-ld", context=local_context, auto_compact=True))
    document = _blank_again(document, stand_in)
    if isinstance(document, list):  # rdflib writes a bare list for an empty graph
        document = {"@graph": document}
    if "@graph" not in document:  # a single node is written without @graph
        node = {k: v for k, v in document.items() if k != "@context"}
        document = {"@graph": [node] if node else []}
    nodes = sorted((_ordered(n) for n in document["@graph"]), key=lambda n: (str(n.get("@id", "")), _key(n)))
    out = io.StringIO()
    json.dump({"@context": local_context, "@graph": nodes}, out, ensure_ascii=False, indent=1, sort_keys=True)
    out.write("\n")
    return out.getvalue().encode("utf-8")


def _blank_again(value, stand_in: str):
    """The stand-in IRIs of _jsonld back to blank nodes, wherever rdflib wrote them."""
    if isinstance(value, dict):
        return {k: _blank_again(v, stand_in) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank_again(v, stand_in) for v in value]
    if isinstance(value, str) and value.startswith(stand_in):
        return "_:" + value[len(stand_in):]
    return value


def _key(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _ordered(value, parent_key: str | None = None):
    """Arrays of values are sets in JSON-LD (except @list): sort them, for a stable file."""
    if isinstance(value, dict):
        return {k: _ordered(v, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_ordered(v) for v in value]
        return items if parent_key == "@list" else sorted(items, key=_key)
    return value
