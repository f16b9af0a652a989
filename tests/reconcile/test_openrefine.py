"""/reconcile as OpenRefine uses it, over real HTTP against a server of this checkout's data.

OpenRefine does its work in two places. Its web page (at http://127.0.0.1:3333, another origin
than the service) fetches the manifest when a service is added, autocompletes entities, types and
properties, asks which properties to propose for "Add columns from reconciled values", and shows
the preview card in a frame: here a real browser (Debian's Chromium driven by Playwright) does
the same from a page of another origin, by CORS first and by JSONP (OpenRefine's fallback, and
all that its versions before 3.3 speak). Its Java side POSTs the batches of queries and the data
extension as one form field (`queries=` / `extend=`, UTF-8): here httpx sends what it sends,
type_strict, numbers and reconciled cells as property values included.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from browser import chromium
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


# --- OpenRefine's web page: another origin, in a real browser -------------------------------------

class _Blank(BaseHTTPRequestHandler):
    """A page of another origin, standing in for OpenRefine's: no policy of its own."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"<!doctype html><meta charset=utf-8><title>another origin</title><body></body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def other_origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Blank)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(other_origin):
    with chromium(assets=False) as browser:
        page = browser.new_page()
        page.set_default_timeout(20_000)
        page.goto(other_origin)
        yield page


FETCH_JSON = """async (url) => {
    const response = await fetch(url);   // a CORS request: it throws if the service does not allow it
    return {status: response.status, body: await response.json()};
}"""

JSONP = """(url) => new Promise((resolve, reject) => {
    const name = "jQuery3700_" + Math.floor(Math.random() * 1e9);
    window[name] = (data) => resolve(data);
    const script = document.createElement("script");
    script.src = url + (url.includes("?") ? "&" : "?") + "callback=" + name + "&_=" + Date.now();
    script.onerror = () => reject(new Error("the script did not load: " + script.src));
    document.head.appendChild(script);
})"""


def test_the_browser_adds_the_service_by_cors_and_by_jsonp(page, data_server):
    url = data_server.url + "/reconcile"
    answer = page.evaluate(FETCH_JSON, url)
    assert answer["status"] == 200
    conforms("manifest", answer["body"])
    by_jsonp = page.evaluate(JSONP, url)
    assert by_jsonp == answer["body"]


def test_jsonp_only_for_a_function_name_and_only_by_get(http):
    wrapped = http.get("/reconcile/suggest/property", params={"prefix": "nuts", "callback": "jQuery3700_1.x"})
    assert wrapped.status_code == 200 and wrapped.headers["content-type"].startswith("application/javascript")
    assert wrapped.text.startswith("/**/jQuery3700_1.x(") and wrapped.text.endswith(");")
    for bad in ("alert(1)//", "a b", "", "x" * 200):
        response = http.get("/reconcile", params={"callback": bad})
        assert response.status_code == 400 and "callback" in response.json()["error"], bad
    posted = http.post("/reconcile?callback=f", data={"queries": json.dumps({"q0": {"query": "Eurode"}})})
    assert posted.headers["content-type"] == "application/json" and posted.json()["q0"]["result"]


def test_the_browser_autocompletes_entities_types_and_properties(page, data_server):
    manifest = page.evaluate(FETCH_JSON, data_server.url + "/reconcile")["body"]
    entity, kind, prop = (manifest["suggest"][k] for k in ("entity", "type", "property"))
    entities = page.evaluate(FETCH_JSON, entity["service_url"] + entity["service_path"] + "?" +
                             urlencode({"prefix": "rijn", "type": BODY}))["body"]
    conforms("suggest-entities-response", entities)
    assert ID + "body/euregio-rijn-waal" in [e["id"] for e in entities["result"]]
    types = page.evaluate(JSONP, kind["service_url"] + kind["service_path"] + "?prefix=region")
    conforms("suggest-types-response", types)
    assert REGION in [t["id"] for t in types["result"]]
    properties = page.evaluate(FETCH_JSON, prop["service_url"] + prop["service_path"] + "?prefix=found")["body"]
    assert [p["id"] for p in properties["result"]] == ["founding-date"]


def test_the_browser_gets_proposed_properties_for_a_type_with_a_fragment(page, data_server):
    # OpenRefine asks for propose_properties + "?type=" + the column's type, unencoded: the
    # browser sends the type's IRI without "#CooperationBody", which must not end in an error.
    manifest = page.evaluate(FETCH_JSON, data_server.url + "/reconcile")["body"]
    spec = manifest["extend"]["propose_properties"]
    for type_iri in (BODY, REGION, ""):
        answer = page.evaluate(FETCH_JSON, spec["service_url"] + spec["service_path"] + "?type=" + type_iri)
        assert answer["status"] == 200, (type_iri, answer)
        conforms("data-extension-property-proposal", answer["body"])
        assert {"nuts-code", "founding-date"} <= {p["id"] for p in answer["body"]["properties"]}
    # sent encoded, the type is known and narrows the proposal
    encoded = page.evaluate(FETCH_JSON, spec["service_url"] + spec["service_path"] + "?" + urlencode({"type": REGION}))
    assert encoded["body"]["type"] == REGION
    assert "founding-date" not in {p["id"] for p in encoded["body"]["properties"]}


def test_the_browser_shows_the_preview_in_a_frame(page, data_server):
    manifest = page.evaluate(FETCH_JSON, data_server.url + "/reconcile")["body"]
    # OpenRefine: encodeURI(preview.url.replace("{{id}}", id)) as the src of a frame
    src = page.evaluate("([template, id]) => encodeURI(template.replace('{{id}}', id))",
                        [manifest["preview"]["url"], ID + "body/euregio-rijn-waal"])
    page.evaluate("""(src) => new Promise((resolve) => {
        const frame = document.createElement("iframe");
        frame.name = "preview";
        frame.onload = () => resolve();
        frame.src = src;
        document.body.appendChild(frame);
    })""", src)
    frame = page.frame(name="preview")
    assert frame is not None and frame.url == src
    assert "Rijn-Waal" in frame.inner_text("body") or "Rhein-Waal" in frame.inner_text("body")
