"""The query page: what GET /sparql shows a browser (service_description.query_page calls it).

Without JavaScript it is a form that sends the query to /sparql and gets the results in the
chosen format. With JavaScript (static/build/query.js, bundled from frontend/src/query.js) the
text area becomes a CodeMirror editor with SPARQL highlighting, the named queries load as
examples, and results come back as a table whose IRIs link to their pages, with CSV and
JSON downloads of the same query.

A named query's parameters are bound by /queries/{name}; pasted into the editor, the query
runs with its parameters unbound, that is over every value, and the page says so.
"""
from __future__ import annotations

from fastapi import Request

from gros import formats
from gros.content.named_queries import all_queries
from gros.web.rendering import assets_built, context, language, render

DEFAULT_QUERY = """PREFIX gros: <https://w3id.org/gros/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?body ?name WHERE {
  ?body a/rdfs:subClassOf* gros:CooperationBody ;
        rdfs:label ?name .
  FILTER(LANG(?name) = "en")
}
ORDER BY ?name"""

_cache: dict = {}


def examples(folder) -> list[dict]:
    """The named queries as examples; read again only when a file of the folder changed."""
    key = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.rq")))
    if _cache.get("key") != key:
        _cache["value"] = [
            {"name": q.name, "title": q.title, "description": q.description, "text": q.text,
             "parameters": {n: p.default for n, p in q.parameters.items()}}
            for q in all_queries(folder).values()]
        _cache["key"] = key
    return _cache["value"]


def render_page(request: Request):
    settings = request.app.state.service.settings
    lang = language(request)
    named = examples(settings.queries_dir)
    chosen = request.query_params.get("example")
    query = request.query_params.get("query")
    if query is None and chosen:
        query = next((q["text"] for q in named if q["name"] == chosen), None)
    data = [{"name": q["name"], "title": q["title"].get(lang.code) or q["title"].get("en"),
             "description": q["description"].get(lang.code) or q["description"].get("en"),
             "text": q["text"], "parameters": q["parameters"]} for q in named]
    return render(request, "query.html", context(
        request, lang, query=query or DEFAULT_QUERY, formats=formats.RESULT_FORMATS, examples=data,
        chosen=chosen, assets=assets_built(), base_iri=settings.base_iri),
        headers={"Vary": "Accept, Accept-Language", "Cache-Control": "no-cache"})
