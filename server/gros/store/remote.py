"""A SPARQL 1.1 store reached over HTTP, behind the part of pyoxigraph.Store's interface that
the service uses (quads_for_pattern, `in`, named_graphs, contains_named_graph, query, update).

With `gros serve --remote-query URL --remote-update URL [--remote-graph-store URL]` every
module that reads or writes "the store" gets one of these instead of an embedded Oxigraph
store, so the service (loading, the SHACL gate, named queries, pages, exports) runs unchanged
on Oxigraph server, Fuseki, Virtuoso, GraphDB... It speaks only the SPARQL 1.1 Protocol and,
for replacing a whole content graph, the Graph Store Protocol (docs/remote-stores.md).

Three choices worth knowing:
- The remote store's default graph is the union of its graphs (the store is configured so;
  docs/remote-stores.md says how for each product). What the service calls "the default
  graph" (triples written without GRAPH) is kept in the named graph `{base}graph/default`,
  because stores disagree on writing to a default graph (Virtuoso refuses). Queries see it
  through the union; reads of the default graph here are mapped back.
- Results come back as SPARQL XML (the oldest, most widely implemented results format) and
  N-Triples, and are parsed by pyoxigraph into its own result objects, so callers cannot
  tell the two stores apart.
- Named-query parameters (pyoxigraph "substitutions") are written into the query text, as
  the embedded engine substitutes them: standard SPARQL that any store runs.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator

import httpx
import pyoxigraph as ox

from gros.sparql import text as sparql_text
from gros.errors import GrosError
from gros.namespaces import SD

RESULTS_XML = "application/sparql-results+xml"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
#: Graphs a store fills for itself, not data: Virtuoso's RDF-view schema and its copy of the LDP
#: vocabulary (a fresh database has them). Its SPARQL service description is found by content.
STORE_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#")
SD_SERVICE = str(SD.Service)


class RemoteStoreError(GrosError, OSError):
    """The remote store did not answer, or answered with an error (message says which and why)."""

    status = 502
    exit_code = 1


class _ResponseReader(io.RawIOBase):
    """A streamed HTTP response body as a file, for pyoxigraph's parsers; closes the response at
    its end, so a large result is never held in memory whole."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.chunks = response.iter_bytes()
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                self.response.close()
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def close(self) -> None:
        self.response.close()
        super().close()


def _iri(node: ox.NamedNode | str) -> str:
    return f"<{node.value if isinstance(node, ox.NamedNode) else node}>"


def substitute(text: str, substitutions: dict | None) -> str:
    """The query with each substituted variable ({Variable: term}) written into its text, as
    pyoxigraph's substitutions bind it (sparql_text.write_in)."""
    if not substitutions:
        return text
    return sparql_text.write_in(text, {variable.value: str(term) for variable, term in substitutions.items()})


class RemoteStore:
    """The service's store on a SPARQL 1.1 endpoint (one HTTP connection pool per process)."""

    def __init__(self, query_url: str, update_url: str | None, graph_store_url: str | None,
                 default_graph: str, timeout: float = 30.0, bookkeeping_graph: str | None = None):
        self.query_url = query_url
        self.update_url = update_url
        self.graph_store_url = graph_store_url
        self.default_graph = ox.NamedNode(default_graph)
        # gros's own bookkeeping (store/embedded.py): kept here, but no part of the dataset.
        self.bookkeeping_graph = ox.NamedNode(bookkeeping_graph) if bookkeeping_graph else None
        self._own_graphs: frozenset | None = None
        # Credentials in the URLs (https://user:password@host/...) become Basic auth (httpx).
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), follow_redirects=False)

    @classmethod
    def from_settings(cls, settings) -> "RemoteStore":
        return cls(settings.remote_query, settings.remote_update, settings.remote_graph_store,
                   settings.graph_base + "default", timeout=settings.query_timeout,
                   bookkeeping_graph=settings.graph_base + "meta")

    # --- the graph names as stored ------------------------------------------------------------
    def outward(self, quad: ox.Quad) -> ox.Quad:
        """The quad as the remote store keeps it (default graph → its named stand-in)."""
        if isinstance(quad.graph_name, ox.DefaultGraph):
            return ox.Quad(quad.subject, quad.predicate, quad.object, self.default_graph)
        return quad

    def _inward(self, graph) -> ox.NamedNode | ox.DefaultGraph:
        return ox.DefaultGraph() if graph == self.default_graph else graph

    def _stored_graph(self, graph):
        return self.default_graph if isinstance(graph, ox.DefaultGraph) else graph

    def own_graphs(self) -> frozenset:
        """The graphs the store keeps for itself (STORE_GRAPHS, and a graph describing its own SPARQL
        service: Virtuoso's is http://localuriqaserver/sparql, or named after [URIQA] DefaultHost).
        They are no part of gros's dataset, as an embedded store has none: the graph list and
        whole-store reads (dumps, backups, GRAPH ?g of client queries) leave them out. Read once."""
        if self._own_graphs is None:
            described = self._select(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?g a <{SD_SERVICE}> }} }}")
            bookkeeping = [self.bookkeeping_graph] if self.bookkeeping_graph else []
            self._own_graphs = frozenset([*(ox.NamedNode(g) for g in STORE_GRAPHS), *bookkeeping,
                                          *(row["g"] for row in described if isinstance(row["g"], ox.NamedNode))])
        return self._own_graphs

    def _not_own(self) -> str:
        """A FILTER keeping ?g off the store's own graphs."""
        return f"FILTER(?g NOT IN ({', '.join(_iri(g) for g in sorted(self.own_graphs(), key=str))}))"

    # --- HTTP ---------------------------------------------------------------------------------
    def _post(self, url: str, data: dict, accept: str | None = None, stream: bool = False) -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        request = self.http.build_request("POST", url, data=data, headers=headers)
        try:
            response = self.http.send(request, stream=stream)
        except httpx.TimeoutException:
            raise RemoteStoreError(f"the remote store at {url} did not answer within "
                                   f"{self.http.timeout.read:g} s") from None
        except httpx.HTTPError as err:
            raise RemoteStoreError(f"the remote store at {url} cannot be reached: {err}") from None
        if response.status_code >= 300:
            body = response.read().decode("utf-8", "replace").strip()
            response.close()
            status = response.status_code
            if 400 <= status < 500 and ("query" in data or "update" in data):
                raise SyntaxError(f"the remote store refused the request ({status}): {body[:2000]}")
            raise RemoteStoreError(f"the remote store at {url} answered {status}: {body[:2000]}")
        return response

    def _select(self, text: str, **protocol) -> ox.QuerySolutions:
        response = self._post(self.query_url, {"query": text, **protocol}, accept=RESULTS_XML, stream=True)
        return ox.parse_query_results(io.BufferedReader(_ResponseReader(response)),
                                      format=ox.QueryResultsFormat.XML)

    # --- pyoxigraph.Store's reading interface --------------------------------------------------
    def quads_for_pattern(self, subject=None, predicate=None, obj=None, graph=None) -> Iterator[ox.Quad]:
        terms = [("s", subject), ("p", predicate), ("o", obj)]
        pattern = " ".join(str(term) if term is not None else f"?{name}" for name, term in terms)
        target = _iri(self._stored_graph(graph)) if graph is not None else "?g"
        query = f"SELECT * WHERE {{ GRAPH {target} {{ {pattern} }} {self._not_own() if graph is None else ''} }}"
        for row in self._select(query):
            yield ox.Quad(subject if subject is not None else row["s"],
                          predicate if predicate is not None else row["p"],
                          obj if obj is not None else row["o"],
                          graph if graph is not None else self._inward(row["g"]))

    def quads_for_terms(self, nodes: list, position: str = "subject", batch: int = 200) -> Iterator[ox.Quad]:
        """The quads whose subject (or object) is one of `nodes`, a few hundred nodes per request
        (the SHACL gate reads a change's neighbourhood this way, one ring of nodes at a time)."""
        variable = "?s" if position == "subject" else "?o"
        nodes = [n for n in nodes if not isinstance(n, ox.Literal) or position == "object"]
        for start in range(0, len(nodes), batch):
            values = " ".join(str(node) for node in nodes[start:start + batch])
            query = (f"SELECT ?s ?p ?o ?g WHERE {{ VALUES {variable} {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} "
                     f"{self._not_own()} }}")
            for row in self._select(query):
                yield ox.Quad(row["s"], row["p"], row["o"], self._inward(row["g"]))

    def __contains__(self, quad: ox.Quad) -> bool:
        stored = self.outward(quad)
        return self._ask(f"ASK {{ GRAPH {_iri(stored.graph_name)} {{ {stored.subject} {stored.predicate} "
                         f"{stored.object} }} }}")

    def contains_named_graph(self, graph: ox.NamedNode) -> bool:
        return self._ask(f"ASK {{ GRAPH {_iri(graph)} {{ ?s ?p ?o }} }}")

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        # `GRAPH ?g {}` lists the graphs without reading their triples (Oxigraph); Virtuoso answers
        # it with one unbound row, and then only a scan of every triple finds the graph names
        # (GROUP BY, not DISTINCT: Virtuoso 7.2 takes 3 to 5 s over DISTINCT ?g, 10 ms over GROUP BY).
        graphs = [row["g"] for row in self._select("SELECT ?g WHERE { GRAPH ?g { } }")]
        if not graphs or any(g is None for g in graphs):
            graphs = [row["g"] for row in self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")]
        own = self.own_graphs()
        for graph in graphs:
            if isinstance(graph, ox.NamedNode) and graph != self.default_graph and graph not in own:
                yield graph

    def _ask(self, text: str) -> bool:
        return bool(self.query(text, use_default_graph_as_union=True))

    def query(self, text: str, *, use_default_graph_as_union: bool = False, default_graph=None,
              named_graphs=None, substitutions=None, base_iri: str | None = None, prefixes=None):
        """Run a query on the remote store, with pyoxigraph's options and result objects.

        Raises SyntaxError (the same message as the embedded store's) for a malformed query.
        """
        # The embedded engine checks the syntax first: clients get the same messages with line
        # and column, and a malformed query never reaches the remote store. On an empty store
        # this is quick, and it also tells the query's form.
        form = _form(text, substitutions, base_iri, prefixes)
        text = substitute(text, substitutions)
        if base_iri:
            text = f"BASE <{base_iri}>\n{text}"
        if prefixes:
            text = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in prefixes.items()) + text
        protocol = self._dataset(text, use_default_graph_as_union, default_graph, named_graphs)
        if form == "graph":
            response = self._post(self.query_url, {"query": text, **protocol}, accept=GRAPH_ACCEPT, stream=True)
            media_type = response.headers.get("content-type", "application/n-triples").split(";")[0].strip()
            fmt = ox.RdfFormat.from_media_type(media_type)
            if fmt is None:
                response.close()
                raise RemoteStoreError(f"the remote store answered a graph query in {media_type}, "
                                       f"which cannot be read")
            return _Triples(ox.parse(io.BufferedReader(_ResponseReader(response)), format=fmt))
        solutions = self._select(text, **protocol)
        return solutions

    def _dataset(self, text: str, union: bool, default_graph, named_graphs) -> dict:
        """Protocol parameters giving the query the dataset pyoxigraph's options describe."""
        if default_graph is not None or named_graphs is not None:
            defaults = default_graph if isinstance(default_graph, (list, tuple)) else (
                [default_graph] if default_graph is not None else [])
            protocol = {"default-graph-uri": [self._stored_graph(g).value for g in defaults]}
            if named_graphs is not None:
                protocol["named-graph-uri"] = [g.value for g in named_graphs]
            return protocol
        if union or sparql_text.has_keyword(text, "FROM"):
            return {}  # the remote's default graph is the union; FROM names its own dataset
        # The store's own default graph, and every named graph for GRAPH.
        return {"default-graph-uri": [self.default_graph.value],
                "named-graph-uri": [g.value for g in self.named_graphs()]}

    # --- writing ------------------------------------------------------------------------------
    def update(self, text: str, base_iri: str | None = None) -> None:
        if self.update_url is None:
            raise RemoteStoreError("no update endpoint was given (gros serve --remote-update URL)")
        if base_iri:
            text = f"BASE <{base_iri}>\n{text}"
        self._post(self.update_url, {"update": text}).close()

    def replace_graph(self, graph: str, triples: Iterable[ox.Triple]) -> bool:
        """Replace a named graph's content with one Graph Store PUT; False when no Graph Store
        endpoint was given (the caller then writes with SPARQL Update)."""
        if self.graph_store_url is None:
            return False
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b""
        try:
            response = self.http.put(self.graph_store_url, params={"graph": graph}, content=body,
                                     headers={"Content-Type": "application/n-triples"})
        except httpx.HTTPError as err:
            raise RemoteStoreError(f"the remote Graph Store at {self.graph_store_url} cannot be reached: {err}") from None
        if response.status_code >= 300:
            raise RemoteStoreError(f"the remote Graph Store at {self.graph_store_url} answered "
                                   f"{response.status_code} to a PUT of <{graph}>: {response.text[:2000]}")
        return True

    def flush(self) -> None:
        pass  # the remote store decides when its writes reach the disk

    def close(self) -> None:
        self.http.close()


class _Triples:
    """A graph query's result: the triples of the parsed response (pyoxigraph's QueryTriples
    cannot be made from outside, so callers test for QuerySolutions/QueryBoolean instead)."""

    def __init__(self, quads: Iterator[ox.Quad]):
        self.quads = quads

    def __iter__(self) -> Iterator[ox.Triple]:
        return (quad.triple for quad in self.quads)


_EMPTY = None


def _form(text: str, substitutions, base_iri, prefixes) -> str:
    """"select", "ask" or "graph"; raises SyntaxError as the embedded store does."""
    global _EMPTY
    if sparql_text.has_keyword(text, "SERVICE"):
        # Running it, even on an empty store, would call the service: read the form instead.
        match = re.search(r"(?<![\w:?$])(SELECT|CONSTRUCT|ASK|DESCRIBE)(?![\w:-])",
                          sparql_text.blank(text)[0], re.IGNORECASE)
        keyword = match.group(1).upper() if match else "SELECT"
        return {"SELECT": "select", "ASK": "ask"}.get(keyword, "graph")
    if _EMPTY is None:
        _EMPTY = ox.Store()
    result = _EMPTY.query(text, substitutions=substitutions, base_iri=base_iri, prefixes=prefixes)
    if isinstance(result, ox.QuerySolutions):
        return "select"
    if isinstance(result, ox.QueryBoolean):
        return "ask"
    return "graph"
