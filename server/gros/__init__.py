"""gros: the GROS knowledge graph of cross-border cooperation (NL-BE-DE) as a Python library.

    import gros
    dataset = gros.load()                       # rdflib Dataset, one named graph per file
    rows = gros.query("bodies-covering-region", region="https://w3id.org/gros/id/region/limburg-nl")

Neither needs a server: both read the content files of the checkout (or GROS_ROOT).
"""
from __future__ import annotations

__version__ = "0.1.0"


def load(settings=None):
    """The whole graph (ontology + data) as an rdflib Dataset, one named graph per file."""
    from rdflib import Dataset, URIRef

    from .settings import Settings
    from .sources import find_files, read_files, to_rdflib

    settings = settings or Settings.from_env()
    dataset = Dataset()
    for content in read_files(find_files(settings)):
        graph = dataset.graph(URIRef(content.graph))
        for t in content.triples:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return dataset


def query(name: str, settings=None, **params) -> list[dict]:
    """Rows of a named query of queries/ (values as strings), run over the content files."""
    from . import queries
    from .settings import Settings
    from .sources import find_files, read_files
    from .store import memory_store

    settings = settings or Settings.from_env()
    named = queries.find_query(settings.queries_dir, name)
    store = memory_store(read_files(find_files(settings)))
    return queries.rows(queries.run(store, named, {k: str(v) for k, v in params.items()}))
