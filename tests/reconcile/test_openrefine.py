"""/reconcile as OpenRefine uses it, over real HTTP against a server of this checkout's data.

OpenRefine's Java side POSTs the batches of queries and the data
extension as one form field (`queries=` / `extend=`, UTF-8): here httpx sends what it sends,
type_strict, numbers and reconciled cells as property values included.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

from reconciliation import ID, conforms

BODY = "https://w3id.org/gros/def#CooperationBody"
REGION = "https://w3id.org/gros/def#Region"
#: What OpenRefine's HTTP client sends with a form (Apache HttpClient's UrlEncodedFormEntity, UTF-8).
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}


# --- OpenRefine's Java side: queries and data extension as one form field ------------------------

def post_form(http, name: str, document: dict):
    response = http.post("/reconcile", content=urlencode({name: json.dumps(document)}).encode("ascii"),
                         headers=FORM)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_batch_as_openrefine_posts_it(http):
    # OpenRefine adds "type_strict": "should" to every typed query, sends a cell's value as it is
    # (a number for a numeric cell) and a reconciled cell as {"id", "name"}.
    queries = {
        "q0": {"query": "Euregio Maas-Rhein", "type": BODY, "type_strict": "should"},
        "q1": {"query": "Provincie Limburg", "type": REGION, "type_strict": "should", "limit": 6,
               "properties": [{"pid": "nuts-code", "v": "NL42"}]},
        "q2": {"query": "Eurode", "type": BODY, "type_strict": "should", "properties": [{"pid": "year", "v": 1991}]},
        "q3": {"query": "Limburg", "type": REGION, "type_strict": "should",
               "properties": [{"pid": "wikidata", "v": {"id": "http://www.wikidata.org/entity/Q1093", "name": "Limburg"}}]},
        "q4": {"query": "Grafschaft Nirgendwo"},
    }
    conforms("reconciliation-query-batch", queries)
    result = post_form(http, "queries", queries)
    conforms("reconciliation-result-batch", result)
    best = {key: answer["result"][0] if answer["result"] else None for key, answer in result.items()}
    assert best["q0"]["id"] == ID + "body/euregio-maas-rijn" and best["q0"]["match"]
    assert best["q1"]["id"] == ID + "region/limburg-nl" and best["q1"]["match"]
    assert best["q3"]["id"] == ID + "region/limburg-nl"
    assert best["q4"] is None or not best["q4"]["match"]
    assert best["q2"]["id"] == ID + "body/eurode" and best["q2"]["match"]


def test_nuts_codes_and_founding_dates_as_openrefine_adds_them_as_columns(http):
    reconciled = post_form(http, "queries", {"q0": {"query": "Provinz Limburg", "type": REGION, "type_strict": "should",
                                                    "properties": [{"pid": "country", "v": "NL"}]},
                                             "q1": {"query": "Euregio Rhein-Waal", "type": BODY, "type_strict": "should"},
                                             "q2": {"query": "EUREGIO", "type": BODY, "type_strict": "should"}})
    ids = [reconciled[key]["result"][0]["id"] for key in ("q0", "q1", "q2")]
    assert ids == [ID + "region/limburg-nl", ID + "body/euregio-rijn-waal", ID + "body/euregio"]
    request = {"ids": ids, "properties": [{"id": "nuts-code"}, {"id": "founding-date"}]}
    conforms("data-extension-query", request)
    data = post_form(http, "extend", request)
    conforms("data-extension-response", data)
    # OpenRefine names the new columns from meta, in the order asked for
    assert [(m["id"], m["name"]) for m in data["meta"]] == [("nuts-code", "NUTS code"), ("founding-date", "founding date")]
    limburg, rijn_waal, euregio = (data["rows"][iri] for iri in ids)
    assert limburg == {"nuts-code": [{"str": "NL42"}], "founding-date": []}
    assert euregio["founding-date"] == [{"str": "1958"}] and euregio["nuts-code"] == []
    assert rijn_waal["founding-date"] == [{"str": "1971"}]
