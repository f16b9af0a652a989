"""gros: the GROS knowledge graph of cross-border cooperation (NL-BE-DE) as a Python library.

    import gros
    dataset = gros.load()                       # rdflib Dataset, one named graph per file
    rows = gros.query("bodies-covering-region", region="https://w3id.org/gros/id/region/limburg-nl")
    found = gros.reconcile(["Euregio Maas-Rijn", "Provincie Limburg"], type="gros:Region")
    table = gros.dataframe("region-codes")     # pandas DataFrame, typed columns (gros-kg[research])

None needs a server: they read the content files - those of the checkout you are in, of
GROS_ROOT, or else those packaged with gros (`gros --version` says which). With `store=PATH`
they read an on-disk store instead, for instance one that `gros load` filled with your own data
next to ours (docs/integrating-your-data.md).
"""
from __future__ import annotations

__version__ = "0.1.0"


def load(settings=None, store=None):
    """The whole graph as an rdflib Dataset, one named graph per file of ontology/ and data/.

    The Dataset's default graph is the union of its named graphs (as on the SPARQL endpoint), so
    `dataset.query("SELECT ...")` sees everything; `dataset.graph(IRI)` is one file's graph,
    `https://w3id.org/gros/graph/{file-stem}`.

    With `store=PATH` (a folder that `gros load` or `gros serve --store` wrote), the Dataset holds
    every graph of that store instead - the GROS graph and your own - without the server's
    bookkeeping graph.
    """
    from rdflib import Dataset, URIRef

    from gros.settings import Settings
    from gros.content.files import find_files, read_files, to_rdflib

    settings = settings or Settings.from_env()
    dataset = Dataset(default_union=True)
    if store is not None:
        import pyoxigraph as ox

        from gros.store.embedded import open_for_query

        meta = ox.NamedNode(settings.graph_base + "meta")
        for quad in open_for_query(_path(store)).quads_for_pattern(None, None, None, None):
            if quad.graph_name == meta:
                continue
            graph = (dataset.graph(URIRef(quad.graph_name.value)) if isinstance(quad.graph_name, ox.NamedNode)
                     else dataset.default_context)
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        return dataset
    for content in read_files(find_files(settings)):
        graph = dataset.graph(URIRef(content.graph))
        for t in content.triples:
            graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return dataset


def query(name: str, settings=None, store=None, **params) -> list[dict]:
    """The rows of a named query, as dicts of strings (IRIs and literal values; None if unbound).

    `name` is a query of queries/ (`gros query --list` lists them) or the path of a .rq file with
    the same header. Parameters are passed by name and bound as SPARQL variables, never pasted
    into the text: `gros.query("members-on-date", date="2010-01-01")`. The query runs over the
    content files, or with `store=PATH` over that on-disk store (the GROS graph plus what
    `gros load` added).
    """
    from gros.content import named_queries as queries

    return queries.rows(_solutions(name, settings, store, params))


def dataframe(name: str, settings=None, store=None, **params):
    """The answer of a named query as a pandas DataFrame with typed columns.

    Same arguments as `query`. Columns follow the values' datatypes: xsd:date as datetime64,
    integers as Int64, decimals and doubles as float64, booleans as boolean, xsd:gYear as the
    year (Int64), xsd:gYearMonth as a monthly period; IRIs and text as str (None where unbound).
    A column whose values mix datatypes stays text. Needs pandas: pip install 'gros-kg[research]'.

        regions = gros.dataframe("region-codes")
        regions.merge(my_table, left_on="nutsCode", right_on="nuts_code")
    """
    try:
        import pandas  # noqa: F401  (only to say which extra is missing)
    except ImportError:
        raise ImportError("gros.dataframe needs pandas, which gros installs only on request: "
                          "pip install 'gros-kg[research]' (or pip install pandas)") from None
    import pyoxigraph as ox

    from gros.sparql.frames import to_dataframe

    solutions = _solutions(name, settings, store, params)
    if not isinstance(solutions, ox.QuerySolutions):
        raise ValueError(f"{name}: gros.dataframe takes SELECT queries; this one returns a graph or a yes/no")
    return to_dataframe(solutions)


def _solutions(name, settings, store, params):
    """Oxigraph's result of the named query `name` (or a .rq file) with `params` bound."""
    from pathlib import Path

    from gros.content import named_queries as queries
    from gros.settings import Settings
    from gros.content.files import find_files, read_files
    from gros.store.embedded import memory_store

    settings = settings or Settings.from_env()
    if str(name).endswith(".rq") and Path(name).is_file():
        named = queries.read_query(Path(name))
    else:
        named = queries.find_query(settings.queries_dir, name)
    if store is not None:
        from gros.store.embedded import open_for_query

        oxigraph_store = open_for_query(_path(store))
    else:
        oxigraph_store = memory_store(read_files(find_files(settings)))
    return queries.run(oxigraph_store, named, {k: str(v) for k, v in params.items()})


def reconcile(names, type: str | None = None, properties=None, settings=None, store=None, limit: int = 3,
              lang: str = "en") -> list[dict]:
    """Match names to IRIs of the graph, as /reconcile and `gros reconcile` do; one dict per name.

    Each dict has `query`, `id` (the best candidate's IRI, or None), `name`, `score` (0-100),
    `match` (True only when that candidate is certain: join on those without a look) and
    `candidates` (up to `limit`, best first, in the API's candidate form). `type` restricts the
    candidates (a class IRI, or gros:Region, gros:CooperationBody, org:Organization,
    gros:LegalInstrument ...); `properties`, one dict per name, compares values too:
    `[{"country": "NL"}, {"country": "BE"}]`. Reads the content files, or with `store=PATH` an
    on-disk store.
    """
    from gros.reconciliation.index import local_index
    from gros.reconciliation.service import reconcile_names
    from gros.settings import Settings

    if isinstance(names, str):
        names = [names]
    settings = settings or Settings.from_env()
    index = local_index(settings, _path(store) if store is not None else None)
    return reconcile_names(index, list(names), type, properties, limit=limit, lang=lang)


def _path(value):
    from pathlib import Path

    return Path(value)
