"""The Reconciliation Service API 0.2 (W3C Entity Reconciliation Community Group) as plain data:
the manifest, query batches, suggest, property proposals, data extension and preview cards.
http/reconcile.py puts these on /reconcile; the CLI and `gros.reconcile()` call reconcile_names.

Requests are checked here, with errors that say what is wrong and where (`RequestError`, a 400
for HTTP); the shapes follow the spec's JSON schemas, which the tests validate every response
against.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import jinja2
import pyoxigraph as ox

from gros import __version__
from gros.reconciliation import properties as props
from gros.reconciliation.index import DEFAULT_TYPES, Index, UnknownType
from gros.reconciliation.matching import DEFAULT_LIMIT, MAX_LIMIT, Candidate, Query, reconcile
from gros.reconciliation.normalise import fold
from gros.errors import GrosError

VERSION = "0.2"
LANGUAGES = ("en", "nl", "de", "fr")
QUERY_KEYS = {"query", "type", "limit", "properties", "type_strict"}
PREVIEW_SIZE = (400, 180)
SUGGEST_LIMIT = 10
DESCRIPTION = "http://purl.org/dc/terms/description"
TEXTS = {
    "name": {"en": "GROS knowledge graph: cross-border cooperation NL-BE-DE",
             "nl": "GROS-kennisgraaf: grensoverschrijdende samenwerking NL-BE-DE",
             "de": "GROS-Wissensgraph: grenzüberschreitende Zusammenarbeit NL-BE-DE",
             "fr": "Graphe de connaissances GROS : coopération transfrontalière NL-BE-DE"},
}
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
                                autoescape=True, trim_blocks=True, lstrip_blocks=True)


class RequestError(GrosError, ValueError):
    """A request that does not follow the API; the message says what and where."""

    status = 400
    exit_code = 2


def language(value: str | None) -> str:
    value = (value or "en").strip().lower()[:2]
    return value if value in LANGUAGES else "en"


# --- manifest -------------------------------------------------------------------------------------

def manifest(index: Index, service_url: str, lang: str = "en") -> dict:
    """The service manifest for a service at `service_url` (its /reconcile URL, no trailing slash)."""
    return {
        "versions": [VERSION],
        "name": TEXTS["name"][lang],
        "identifierSpace": index.id_base,
        "schemaSpace": "https://w3id.org/gros/def#",
        "serviceVersion": __version__,
        "defaultTypes": [type_json(index, iri, lang) for iri in DEFAULT_TYPES if iri in index.types],
        "view": {"url": f"{service_url}/view?id={{{{id}}}}"},
        "preview": {"url": f"{service_url}/preview?id={{{{id}}}}&lang={lang}",
                    "width": PREVIEW_SIZE[0], "height": PREVIEW_SIZE[1]},
        "suggest": {
            "entity": {"service_url": service_url, "service_path": "/suggest/entity"},
            "type": {"service_url": service_url, "service_path": "/suggest/type"},
            "property": {"service_url": service_url, "service_path": "/suggest/property"},
        },
        "extend": {
            "propose_properties": {"service_url": service_url, "service_path": "/extend/propose"},
            "property_settings": [],
        },
    }


def type_json(index: Index, iri: str, lang: str) -> dict:
    return {"id": iri, "name": index.type_label(iri, lang)}


# --- reconciliation queries -----------------------------------------------------------------------

def parse_batch(text: str | None, index: Index) -> dict[str, Query]:
    """A `queries=` batch (JSON: key -> query) as Query objects; RequestError when it is not one."""
    if text is None or not text.strip():
        raise RequestError("give the queries as JSON in the parameter 'queries' (GET or POST form)")
    try:
        batch = json.loads(text)
    except json.JSONDecodeError as err:
        raise RequestError(f"'queries' is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from None
    if not isinstance(batch, dict):
        raise RequestError("'queries' must be a JSON object of queries by key, like {\"q0\": {\"query\": \"Eurode\"}}")
    return {key: parse_query(raw, index, f"queries.{key}") for key, raw in batch.items()}


def parse_query(raw, index: Index, where: str = "query") -> Query:
    if isinstance(raw, str):
        raw = {"query": raw}
    if not isinstance(raw, dict):
        raise RequestError(f"{where}: a query is a JSON object with 'query' and optional 'type', 'limit', 'properties'")
    unknown = sorted(set(raw) - QUERY_KEYS)
    if unknown:
        raise RequestError(f"{where}: unknown member(s) {', '.join(map(repr, unknown))}; a query has "
                           f"{', '.join(sorted(QUERY_KEYS))}")
    text = raw.get("query", "")
    if not isinstance(text, str):
        raise RequestError(f"{where}.query: must be a string")
    prop_list = raw.get("properties", [])
    if not isinstance(prop_list, list):
        raise RequestError(f"{where}.properties: must be a list of {{\"pid\": ..., \"v\": ...}}")
    if not text.strip() and not prop_list:
        raise RequestError(f"{where}: give a 'query' (the name to match) or at least one property")
    types = raw.get("type", [])
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise RequestError(f"{where}.type: a type id or a list of them")
    try:
        type_iris = [index.type_iri(t) for t in types if t.strip()]
    except UnknownType as err:
        raise RequestError(f"{where}.type: {err}") from None
    limit = raw.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit < 1:
        raise RequestError(f"{where}.limit: a positive number (at most {MAX_LIMIT} are returned)")
    if raw.get("type_strict", "any") not in ("any", "should", "all"):
        raise RequestError(f"{where}.type_strict: one of any, should, all")
    wanted = []
    for i, item in enumerate(prop_list):
        at = f"{where}.properties[{i}]"
        if not isinstance(item, dict) or "pid" not in item or "v" not in item:
            raise RequestError(f"{at}: a property is {{\"pid\": property id, \"v\": value or list of values}}")
        try:
            prop = props.find(str(item["pid"]))
        except props.PropertyError as err:
            raise RequestError(f"{at}.pid: {err}") from None
        values = item["v"] if isinstance(item["v"], list) else [item["v"]]
        if not values or any(v is None or isinstance(v, (list,)) or isinstance(v, dict) and "id" not in v
                             for v in values):
            raise RequestError(f"{at}.v: a string, number, boolean or {{\"id\": ...}}, or a list of them")
        wanted.append((prop, values))
    return Query(text, type_iris, int(min(limit, MAX_LIMIT)), wanted)


def candidate_json(index: Index, candidate: Candidate, lang: str) -> dict:
    entity = candidate.entity
    name = entity.label(lang)
    types = index.shown_types(entity)
    described = [index.type_label(t, lang) for t in types]
    if candidate.name is not None and candidate.name.text != name:
        described.insert(0, f"“{candidate.name.text}”")  # the name that matched
    return {
        "id": entity.iri,
        "name": name,
        "description": " · ".join(described),
        "score": candidate.score,
        "match": candidate.match,
        "type": [type_json(index, t, lang) for t in types],
        "features": [{"id": k, "value": v} for k, v in candidate.features.items()],
    }


def run_batch(index: Index, batch: dict[str, Query], lang: str = "en") -> dict:
    return {key: {"result": [candidate_json(index, c, lang) for c in reconcile(index, query)]}
            for key, query in batch.items()}


def reconcile_names(index: Index, names, type: str | None = None, properties=None, limit: int = 3,
                    lang: str = "en") -> list[dict]:
    """One result per name, in order: the best candidate (id, name, score, match) and the others.
    `properties`: per name, a dict property id -> value (or None)."""
    types = [index.type_iri(type)] if type else []
    out = []
    for i, name in enumerate(names):
        wanted = []
        for pid, value in ((properties[i] if properties else None) or {}).items():
            if value is not None and str(value).strip():
                wanted.append((props.find(pid), [value]))
        text = "" if name is None else str(name)
        if not text.strip() and not wanted:
            out.append({"query": text, "id": None, "name": None, "score": None, "match": False, "candidates": []})
            continue
        found = reconcile(index, Query(text, types, limit, wanted))
        best = candidate_json(index, found[0], lang) if found else None
        out.append({"query": text, "id": best and best["id"], "name": best and best["name"],
                    "score": best and best["score"], "match": bool(best and best["match"]),
                    "candidates": [candidate_json(index, c, lang) for c in found]})
    return out


# --- suggest --------------------------------------------------------------------------------------

def _limit(value, default: int = SUGGEST_LIMIT) -> int:
    try:
        return max(1, min(int(value), MAX_LIMIT)) if value not in (None, "") else default
    except (TypeError, ValueError):
        raise RequestError(f"limit: a positive whole number, not {value!r}") from None


def suggest_entities(index: Index, prefix: str, type: str | None = None, limit=None, lang: str = "en") -> dict:
    """Entities whose names start with `prefix` (or have a word that does), then similar names."""
    limit = _limit(limit)
    try:
        type_iris = [index.type_iri(type)] if type else []
    except UnknownType as err:
        raise RequestError(f"type: {err}") from None
    allowed = index.within(type_iris) if type_iris else frozenset()
    want = fold(prefix or "")
    if not want:
        return {"result": []}
    ranked: dict[int, tuple] = {}
    for name in index.names:
        entity = index.entities[name.entity]
        if not index.has_type(entity, allowed):
            continue
        text = fold(name.text)
        if text.startswith(want):
            rank = (0, len(text))
        elif f" {want}" in f" {text}":
            rank = (1, len(text))
        else:
            continue
        if name.entity not in ranked or rank < ranked[name.entity][0]:
            ranked[name.entity] = (rank, name)
    order = sorted(ranked.items(), key=lambda item: (item[1][0], index.entities[item[0]].label(lang)))
    if len(order) < limit:  # then what reconciliation would find (typos)
        for candidate in reconcile(index, Query(prefix, type_iris, limit)):
            at = index.position[candidate.entity.iri]
            if at not in ranked:
                order.append((at, ((2, 0), candidate.name)))
    result = []
    for at, (_rank, name) in order[:limit]:
        entity = index.entities[at]
        shown = index.shown_types(entity)
        result.append({"id": entity.iri, "name": name.text if name and name.kind in ("label", "alt") else entity.label(lang),
                       "description": " · ".join([entity.label(lang), *(index.type_label(t, lang) for t in shown)]),
                       "notable": [type_json(index, t, lang) for t in shown]})
    return {"result": result}


def suggest_types(index: Index, prefix: str, limit=None, lang: str = "en") -> dict:
    limit = _limit(limit)
    want = fold(prefix or "")
    found = []
    for iri, info in index.types.items():
        texts = [fold(label) for label in info.labels.values()] + [fold(iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1])]
        if not want or any(t.startswith(want) or f" {want}" in f" {t}" for t in texts):
            found.append(iri)
    found.sort(key=lambda iri: (iri not in DEFAULT_TYPES, index.type_label(iri, lang).lower()))
    return {"result": [{**type_json(index, iri, lang),
                        "broader": [type_json(index, b, lang) for b in sorted(index.types[iri].broader)]}
                       for iri in found[:limit]]}


def suggest_properties(index: Index, prefix: str, limit=None, lang: str = "en") -> dict:
    limit = _limit(limit)
    want = fold(prefix or "")
    result = []
    for prop in props.defined().values():
        texts = [fold(n) for n in prop.names.values()] + [fold(prop.id)]
        if not want or any(t.startswith(want) or f" {want}" in f" {t}" for t in texts):
            result.append({"id": prop.id, "name": prop.name(lang),
                           "description": prop.description.get(lang) or prop.description.get("en", "")})
    return {"result": result[:limit]}


# --- data extension -------------------------------------------------------------------------------

def propose_properties(index: Index, type: str | None, limit=None, lang: str = "en") -> dict:
    """The properties worth adding as columns for entities of `type`: those declared for it, a
    type above it or a type below it."""
    limit = _limit(limit, default=len(props.defined()))
    iri = None
    if type and _without_fragment(index, type):
        # OpenRefine asks for `propose?type=` + the type's IRI unencoded, so the browser cuts
        # "#CooperationBody" off as a fragment and only the namespace arrives: the class cannot
        # be known, and every property is proposed rather than none.
        type = None
    if type:
        try:
            iri = index.type_iri(type)
        except UnknownType as err:
            raise RequestError(f"type: {err}") from None
    related = set()
    if iri:
        related = set(index.descendants.get(iri, {iri})) | index._ancestors(iri) | {iri}
    chosen = [p for p in props.defined().values() if iri is None or related & set(p.types)]
    out = {"properties": [{"id": p.id, "name": p.name(lang),
                           "description": p.description.get(lang) or p.description.get("en", "")}
                          for p in chosen[:limit]], "limit": limit}
    if iri:
        out["type"] = iri
    return out


def _without_fragment(index: Index, type: str) -> bool:
    """Whether `type` is what is left of one of our types' IRIs once its '#fragment' is cut off."""
    namespace = type.strip() + "#"
    return any(iri.startswith(namespace) for iri in index.types)


def parse_extension(text: str | None) -> tuple[list[str], list[props.Property]]:
    if text is None or not text.strip():
        raise RequestError("give the extension request as JSON in the parameter 'extend': "
                           "{\"ids\": [...], \"properties\": [{\"id\": ...}]}")
    try:
        request = json.loads(text)
    except json.JSONDecodeError as err:
        raise RequestError(f"'extend' is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from None
    if not isinstance(request, dict) or not isinstance(request.get("ids"), list) \
            or not isinstance(request.get("properties"), list):
        raise RequestError("'extend' must be {\"ids\": [entity ids], \"properties\": [{\"id\": property id}]}")
    ids = request["ids"]
    if not all(isinstance(i, str) for i in ids):
        raise RequestError("extend.ids: a list of entity ids (strings)")
    chosen = []
    for i, item in enumerate(request["properties"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise RequestError(f"extend.properties[{i}]: a property is {{\"id\": property id}}")
        try:
            chosen.append(props.find(item["id"]))
        except props.PropertyError as err:
            raise RequestError(f"extend.properties[{i}].id: {err}") from None
    return ids, chosen


def extend(index: Index, ids: list[str], chosen: list[props.Property], lang: str = "en") -> dict:
    meta = []
    for prop in chosen:
        entry = {"id": prop.id, "name": prop.name(lang)}
        meta.append(entry)
    rows = {}
    for iri in ids:
        row = {}
        for prop in chosen:
            row[prop.id] = [value_json(index, prop, term, lang) for term in index.values(prop).get(iri, [])]
        rows[iri] = row
    return {"meta": meta, "rows": rows}


def value_json(index: Index, prop: props.Property, term, lang: str) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"id": term.value, "name": index.value_label(term, lang)}
    if isinstance(term, ox.BlankNode):
        return {"str": str(term)}
    text = term.value
    if prop.kind == "integer" or term.datatype.value.endswith(("#integer", "#int", "#gYear")) and text.lstrip("-").isdigit():
        try:
            return {"int": int(text)}
        except ValueError:
            return {"str": text}
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        return {"date": f"{text}T00:00:00Z"}  # a full date (xsd:date); a year alone stays a year
    return {"str": text}


# --- preview --------------------------------------------------------------------------------------

PREVIEW_FACTS = ("country", "nuts-code", "seat", "legal-form", "founding-date", "wikidata")


def preview_html(index: Index, iri: str, page_url: str | None, lang: str = "en") -> str | None:
    """A small HTML card for `iri` (None when it is not one of the reconcilable entities)."""
    at = index.position.get(iri)
    if at is None:
        return None
    entity = index.entities[at]
    texts = {}
    for quad in index.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(DESCRIPTION), None, None):
        if isinstance(quad.object, ox.Literal):
            texts.setdefault(quad.object.language or "", quad.object.value)
    description = next((texts[t] for t in (lang, "en", "nl", "") if t in texts), None)
    if description and len(description) > 280:
        description = description[:277].rsplit(" ", 1)[0] + " …"
    facts = []
    known = props.defined()
    for pid in PREVIEW_FACTS:
        prop = known.get(pid)
        if prop is None:
            continue
        values = index.values(prop).get(iri, [])
        if values:
            facts.append((prop.name(lang), ", ".join(sorted({index.value_label(v, lang) for v in values}))))
    others = sorted({t for tag, t in entity.labels.items() if t != entity.label(lang)})
    return _template("preview.html").render(
        lang=lang, label=entity.label(lang), iri=iri, page=page_url, others=others,
        types=[index.type_label(t, lang) for t in index.shown_types(entity)],
        description=description, facts=facts)


@lru_cache(maxsize=None)
def _template(name: str):
    return _TEMPLATES.get_template(name)
