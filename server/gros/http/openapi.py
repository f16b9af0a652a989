"""OpenAPI descriptions of the routes that read the raw request (/sparql, /rdf-graphs).

Those routes parse their parameters and bodies themselves (the SPARQL protocol has repeated
parameters, three body types and bodies that are not JSON), so FastAPI cannot infer them.
These fragments go into `openapi_extra`: they change what /openapi.json and /docs say, not what
the routes do, and let an OpenAPI fuzzer (tests/http/test_fuzz.py) send every kind of request.
"""
from __future__ import annotations


def _param(name: str, description: str, many: bool = False, fmt: str | None = None, where: str = "query") -> dict:
    schema: dict = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": where, "required": False, "description": description, "schema": schema,
            **({"style": "form", "explode": True} if many else {})}


_DATASET = [
    _param("default-graph-uri", "A graph of the default graph (repeatable); without it the default "
                                "graph is the union of all graphs.", many=True, fmt="uri"),
    _param("named-graph-uri", "A named graph of the dataset (repeatable).", many=True, fmt="uri"),
]
_FORMAT = _param("format", "The result format by name (json, xml, csv, tsv, turtle, ntriples, jsonld, "
                           "rdfxml, trig, nquads), for clients that cannot set Accept.")
_TEXT = {"schema": {"type": "string"}}
_PROBLEMS = {code: {"description": text} for code, text in {
    "400": "the request is malformed; the message says where",
    "401": "no or wrong update token",
    "403": "the service is read-only, or the graph is protected",
    "406": "no acceptable format",
    "413": "the body is larger than --max-body",
    "415": "an unsupported Content-Type",
    "422": "the change would violate the shapes; nothing was written",
    "429": "over the client's rate limit; see Retry-After",
    "503": "over the time limit, or all workers busy",
}.items()}

SPARQL_GET = {
    "parameters": [_param("query", "A SPARQL 1.1 query. Without it: the service description."), *_DATASET, _FORMAT],
    "responses": _PROBLEMS,
}

SPARQL_POST = {
    "parameters": [*_DATASET, _FORMAT,
                   _param("using-graph-uri", "For updates: a USING graph (repeatable).", many=True, fmt="uri"),
                   _param("using-named-graph-uri", "For updates: a USING NAMED graph (repeatable).", many=True,
                          fmt="uri")],
    "requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "query": {"type": "string"}, "update": {"type": "string"},
            "default-graph-uri": {"type": "string"}, "named-graph-uri": {"type": "string"},
            "using-graph-uri": {"type": "string"}, "using-named-graph-uri": {"type": "string"}}}},
        "application/sparql-query": _TEXT,
        "application/sparql-update": _TEXT,
    }},
    "responses": _PROBLEMS,
}

_GRAPH = [_param("graph", "The IRI of the graph.", fmt="uri"),
          _param("default", "The default graph (a parameter without a value).")]
_RDF = {media: _TEXT for media in ("text/turtle", "application/n-triples", "application/ld+json",
                                    "application/rdf+xml", "application/trig", "application/n-quads")}

GRAPH_READ = {"parameters": [*_GRAPH, _FORMAT], "responses": _PROBLEMS}
#: Writes need `Authorization: Bearer <token>` (tokens.py).
GRAPH_WRITE = {"parameters": _GRAPH, "requestBody": {"required": True, "content": _RDF}, "responses": _PROBLEMS}
GRAPH_DELETE = {"parameters": _GRAPH, "responses": _PROBLEMS}
