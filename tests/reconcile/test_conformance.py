"""/reconcile over real HTTP against a server of this checkout's data: every response conforms to
the Reconciliation Service API 0.2 schemas, the spec's invalid requests are refused, and the
manifest's URLs lead somewhere."""
from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from reconciliation import EXAMPLES, ID, conforms, validator
from server_fixture import update

BODY = "https://w3id.org/gros/def#CooperationBody"
REGION = "https://w3id.org/gros/def#Region"


def reconcile(http, queries: dict, method: str = "POST"):
    conforms("reconciliation-query-batch", queries)  # we only send what the spec allows
    if method == "GET":
        response = http.get("/reconcile", params={"queries": json.dumps(queries)})
    else:
        response = http.post("/reconcile", data={"queries": json.dumps(queries)})
    assert response.status_code == 200, response.text
    conforms("reconciliation-result-batch", response.json())
    return response.json()


def test_the_manifest_conforms_and_names_our_types(http):
    response = http.get("/reconcile")
    assert response.status_code == 200
    manifest = response.json()
    conforms("manifest", manifest)
    assert manifest["identifierSpace"] == ID
    assert [t["id"] for t in manifest["defaultTypes"]] == [
        BODY, REGION, "http://www.w3.org/ns/org#Organization", "https://w3id.org/gros/def#LegalInstrument"]
    assert set(manifest["suggest"]) == {"entity", "type", "property"}
    assert http.get("/reconcile", params={"lang": "nl"}).json()["defaultTypes"][0]["name"] == "samenwerkingsverband"


@pytest.mark.parametrize("kind", ["manifest", "reconciliation-query-batch", "reconciliation-result-batch",
                                  "data-extension-response"])
def test_the_schemas_accept_the_valid_examples_and_refuse_the_invalid_ones(kind):
    # the validator itself is checked on the spec's own examples, so that a pass above means something
    # (documents with "authentication" are left out: its schema is the Swagger 2 one on the web,
    # which the tests do not fetch; our manifest has none)
    for path in sorted((EXAMPLES / kind / "valid").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if "authentication" not in document:
            assert validator(kind).is_valid(document), path.name
    for path in sorted((EXAMPLES / kind / "invalid").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if "authentication" not in document:
            assert not validator(kind).is_valid(document), path.name


@pytest.mark.parametrize("path", sorted((EXAMPLES / "reconciliation-query-batch" / "invalid").glob("*.json")),
                         ids=lambda p: p.stem)
def test_the_specs_invalid_query_batches_are_refused_with_a_reason(http, path):
    response = http.post("/reconcile", data={"queries": path.read_text(encoding="utf-8")})
    assert response.status_code == 400
    assert "queries.q" in response.json()["error"]  # says which query is wrong


def test_a_batch_by_get_and_by_post_form(http):
    queries = {"q0": {"query": "Euregio Maas-Rijn", "type": BODY},
               "q1": {"query": "Kreis Kleve", "type": REGION, "limit": 2}}
    for method in ("GET", "POST"):
        result = reconcile(http, queries, method)
        assert result["q0"]["result"][0]["id"] == ID + "body/euregio-maas-rijn"
        assert result["q0"]["result"][0]["match"] is True
        assert result["q1"]["result"][0]["id"] == ID + "region/kreis-kleve"
        assert len(result["q1"]["result"]) <= 2
        assert all(0 <= c["score"] <= 100 for r in result.values() for c in r["result"])


def test_properties_decide_between_namesakes(http):
    result = reconcile(http, {
        "nl": {"query": "Provincie Limburg", "type": REGION, "properties": [{"pid": "country", "v": "NL"}]},
        "be": {"query": "Provincie Limburg", "type": REGION, "properties": [{"pid": "country", "v": "België"}]},
        "none": {"query": "Provincie Limburg", "type": REGION},
        "nuts": {"type": REGION, "properties": [{"pid": "nuts-code", "v": "NL42"}]},
        "nuts-any": {"properties": [{"pid": "nuts-code", "v": "NL42"}]},  # the province and its authority
        "qid": {"query": "Limburg", "properties": [{"pid": "wikidata", "v": {"id": "http://www.wikidata.org/entity/Q1093"}}]},
    })
    assert result["nl"]["result"][0]["id"] == ID + "region/limburg-nl" and result["nl"]["result"][0]["match"]
    assert result["be"]["result"][0]["id"] == ID + "region/limburg-be" and result["be"]["result"][0]["match"]
    assert not any(c["match"] for c in result["none"]["result"])  # two provinces: never a guess
    assert [c["id"] for c in result["nuts"]["result"] if c["match"]] == [ID + "region/limburg-nl"]
    assert {c["id"] for c in result["nuts-any"]["result"]} == {ID + "region/limburg-nl", ID + "organisation/provincie-limburg-nl"}
    assert not any(c["match"] for c in result["nuts-any"]["result"])
    assert result["qid"]["result"][0]["id"] == ID + "region/limburg-nl"


def test_bad_requests_say_what_is_wrong(http):
    cases = {"not json": "'queries' is not valid JSON",
             json.dumps({"q0": {"query": "Eurode", "type": "https://example.org/Person"}}): "unknown type",
             json.dumps({"q0": {"query": "Eurode", "properties": [{"pid": "colour", "v": "red"}]}}): "unknown property",
             json.dumps({"q0": {"query": "Eurode", "limit": 0}}): "queries.q0.limit"}
    for text, message in cases.items():
        response = http.post("/reconcile", data={"queries": text})
        assert response.status_code == 400 and message in response.json()["error"], response.text
    assert http.post("/reconcile", json={"queries": []}).status_code == 415
    assert http.post("/reconcile", data={"other": "x"}).status_code == 400


def test_suggest_entity_type_and_property(http):
    entities = http.get("/reconcile/suggest/entity", params={"prefix": "eure"}).json()
    conforms("suggest-entities-response", entities)
    assert ID + "body/euregio" in [e["id"] for e in entities["result"]]
    typed = http.get("/reconcile/suggest/entity", params={"prefix": "kle", "type": REGION}).json()
    assert typed["result"] and all(e["id"].startswith(ID + "region/") for e in typed["result"])
    types = http.get("/reconcile/suggest/type", params={"prefix": "prov"}).json()
    conforms("suggest-types-response", types)
    assert "https://w3id.org/gros/def#Province" in [t["id"] for t in types["result"]]
    properties = http.get("/reconcile/suggest/property", params={"prefix": "nuts"}).json()
    conforms("suggest-properties-response", properties)
    assert [p["id"] for p in properties["result"]] == ["nuts-code"]


def test_data_extension_adds_nuts_codes_and_founding_dates(http):
    proposed = http.get("/reconcile/extend/propose", params={"type": BODY}).json()
    conforms("data-extension-property-proposal", proposed)
    assert {"founding-date", "seat", "legal-form", "member-countries"} <= {p["id"] for p in proposed["properties"]}
    request = {"ids": [ID + "body/euregio", ID + "region/limburg-nl", ID + "region/nowhere"],
               "properties": [{"id": "nuts-code"}, {"id": "founding-date"}, {"id": "seat"}, {"id": "wikidata"},
                              {"id": "member-countries"}, {"id": "legal-form"}, {"id": "year"}]}
    conforms("data-extension-query", request)
    response = http.post("/reconcile", data={"extend": json.dumps(request)})
    assert response.status_code == 200, response.text
    data = response.json()
    conforms("data-extension-response", data)
    euregio, limburg = data["rows"][ID + "body/euregio"], data["rows"][ID + "region/limburg-nl"]
    assert euregio["founding-date"] == [{"str": "1958"}] and euregio["year"] == [{"int": 1958}]
    assert euregio["seat"] == [{"id": ID + "region/gronau", "name": "Gronau"}]
    assert limburg["nuts-code"] == [{"str": "NL42"}] and limburg["wikidata"] == [{"str": "Q1093"}]
    assert all(values == [] for values in data["rows"][ID + "region/nowhere"].values())
    bad = http.post("/reconcile", data={"extend": json.dumps({"ids": [], "properties": [{"id": "colour"}]})})
    assert bad.status_code == 400 and "unknown property" in bad.json()["error"]


def test_every_url_of_the_manifest_resolves(http):
    manifest = http.get("/reconcile").json()
    iri = ID + "body/euregio-rijn-waal"
    view = http.get(manifest["view"]["url"].replace("{{id}}", iri), follow_redirects=True)
    assert view.status_code == 200 and "Rijn-Waal" in view.text
    preview = http.get(manifest["preview"]["url"].replace("{{id}}", iri))
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("text/html")
    assert "frame-ancestors *" in preview.headers["content-security-policy"]  # OpenRefine frames it
    assert "script" not in preview.text and "Euregio" in preview.text
    for kind, spec in manifest["suggest"].items():
        response = http.get(spec["service_url"] + spec["service_path"], params={"prefix": "a"})
        assert response.status_code == 200, kind
    spec = manifest["extend"]["propose_properties"]
    assert http.get(spec["service_url"] + spec["service_path"], params={"type": REGION}).status_code == 200
    assert http.get("/reconcile/preview", params={"id": ID + "region/nowhere"}).status_code == 404
    assert http.get("/reconcile/view", params={"id": "https://example.org/x"}).status_code == 404


def test_the_preview_escapes_and_speaks_dutch(http):
    card = http.get("/reconcile/preview", params={"id": ID + "region/limburg-nl", "lang": "nl"})
    assert card.status_code == 200 and "Limburg (Nederland)" in card.text and "NUTS-code" in card.text


def test_a_write_is_reflected_on_the_next_request(http, data_server, fresh_graph):
    name = "Grensoverschrijdend Proefverband Zuiderzee"
    before = reconcile(http, {"q": {"query": name}})["q"]["result"]
    assert not any(c["match"] for c in before)
    response = update(http, f"""
        PREFIX gros: <https://w3id.org/gros/def#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        INSERT DATA {{ GRAPH <{fresh_graph}> {{
            <{ID}organisation/proefverband-zuiderzee> a gros:Organisation ;
                rdfs:label "{name}"@nl , "Cross-border test association Zuiderzee"@en ;
                <http://purl.org/dc/terms/source> <{ID}source/facts> . }} }}""")
    assert response.status_code in (200, 204), response.text
    after = reconcile(http, {"q": {"query": name.upper()}})["q"]["result"]
    assert after[0]["id"] == ID + "organisation/proefverband-zuiderzee" and after[0]["match"]

    # Each serving process keeps its own index: on new connections (which the kernel hands to
    # any of them) every one has the new name.
    def best(_):
        form = {"queries": json.dumps({"q": {"query": "Cross-border test association Zuiderzee"}})}
        response = httpx.post(data_server.url + "/reconcile", data=form, timeout=60)
        return response.json()["q"]["result"][0]["id"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert set(pool.map(best, range(8))) == {ID + "organisation/proefverband-zuiderzee"}
