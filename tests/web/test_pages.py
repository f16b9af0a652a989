"""The linked-data pages over real HTTP (the `server` fixture: minimal.ttl as data): content
negotiation and suffix URLs, 404 in the asked format, languages, ETag/304, escaping, the
security headers, /def, the dataset description, classes, search, map data and timeline.
A few pure functions (languages, dates, search normalisation, WKT, IRI mapping) are tested
directly at the end.
"""
from __future__ import annotations

import json
import re
import uuid

import pytest
from rdflib import Graph, Literal, Namespace, URIRef

from server_fixture import BASE, auth

ID = BASE + "id/"
BODY = ID + "body/euregio-maas-rijn"  # an EGTC of minimal.ttl, labelled in nl, en, de and fr, seated in Eupen
BODY_PATH = "/id/body/euregio-maas-rijn"
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
VOID = Namespace("http://rdfs.org/ns/void#")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RDF_FORMATS = {  # media type -> (suffix, rdflib parser)
    "text/turtle": (".ttl", "turtle"),
    "application/ld+json": (".jsonld", "json-ld"),
    "application/n-triples": (".nt", "nt"),
    "application/rdf+xml": (".rdf", "xml"),
}


def parse(response, parser: str) -> Graph:
    return Graph().parse(data=response.content, format=parser)


def heading(html: str) -> str:
    match = re.search(r"<h1>(.*?)(?: <span|</h1>)", html, re.S)
    assert match, html[:500]
    return match.group(1).strip()


# --- dereferencing ----------------------------------------------------------------------------------

def test_a_browser_gets_the_html_page_with_links_to_each_rdf_form(client):
    response = client.get(BODY_PATH, headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    assert heading(response.text) == "Euregio Meuse-Rhine"
    for media_type, (suffix, _) in RDF_FORMATS.items():
        assert f'<link rel="alternate" type="{media_type}" href="{BODY_PATH}{suffix}"' in response.text
    assert f'<{BODY_PATH}.ttl>; rel="alternate"; type="text/turtle"' in response.headers["link"]
    assert response.headers["content-location"] == BODY_PATH + ".html"


@pytest.mark.parametrize("media_type", list(RDF_FORMATS))
def test_machines_get_rdf_about_the_canonical_iri(client, media_type):
    response = client.get(BODY_PATH, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["content-location"] == BODY_PATH + RDF_FORMATS[media_type][0]
    graph = parse(response, RDF_FORMATS[media_type][1])
    me = URIRef(BODY)
    assert (me, RDFS.label, Literal("Euregio Maas-Rijn", lang="nl")) in graph
    assert (me, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(BASE + "def#EGTC")) in graph
    # about the canonical IRI, never about the URL it was fetched from
    assert not any(str(s).startswith("http://127.0.0.1") for s in graph.subjects())
    # names of what it links to come along (the seat)
    assert (URIRef(ID + "region/eupen"), RDFS.label, Literal("Eupen", lang="nl")) in graph


@pytest.mark.parametrize("media_type", list(RDF_FORMATS))
def test_suffix_urls_choose_the_format_whatever_the_accept_header(client, media_type):
    suffix, parser = RDF_FORMATS[media_type]
    response = client.get(BODY_PATH + suffix, headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    negotiated = client.get(BODY_PATH, headers={"Accept": media_type})
    assert set(parse(response, parser)) == set(parse(negotiated, parser))


def test_the_html_suffix_gives_the_page_even_to_a_machine(client):
    response = client.get(BODY_PATH + ".html", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_head_answers_like_get_without_a_body(client):
    response = client.head(BODY_PATH, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    assert response.content == b""


@pytest.mark.parametrize("media_type,parser", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                                ("application/rdf+xml", "xml"), ("application/ld+json", "json-ld")])
def test_an_unknown_iri_is_404_in_the_asked_format(client, media_type, parser):
    response = client.get("/id/body/no-such-body", headers={"Accept": media_type})
    assert response.status_code == 404
    assert response.headers["content-type"].split(";")[0] == media_type
    assert len(parse(response, parser)) == 0  # a valid, empty document
    assert "no-such-body" in response.text


def test_an_unknown_iri_is_a_404_page_for_a_browser_and_by_suffix(client):
    page = client.get("/id/body/no-such-body", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Nothing is known about https://w3id.org/gros/id/body/no-such-body" in page.text
    by_suffix = client.get("/id/body/no-such-body.nt", headers={"Accept": BROWSER})
    assert by_suffix.status_code == 404
    assert by_suffix.headers["content-type"].startswith("application/n-triples")


def test_a_format_nobody_offers_is_406(client):
    response = client.get(BODY_PATH, headers={"Accept": "image/png"})
    assert response.status_code == 406


# --- languages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept_language,lang_param,expected_lang,expected", [
    ("de-DE,de;q=0.9,en;q=0.8", None, "de", "Euregio Maas-Rhein"),
    ("fr", None, "fr", "Eurégion Meuse-Rhin"),
    ("en-GB", None, "en", "Euregio Meuse-Rhine"),
    (None, None, "nl", "Euregio Maas-Rijn"),  # no preference: Dutch, the first of the fallback order
    ("es", None, "nl", "Euregio Maas-Rijn"),  # a language we do not offer: Dutch too
    ("fr", "de", "de", "Euregio Maas-Rhein"),  # ?lang= wins over the browser
])
def test_the_page_language_follows_lang_then_accept_language(client, accept_language, lang_param, expected_lang, expected):
    headers = {"Accept": BROWSER}
    if accept_language:
        headers["Accept-Language"] = accept_language
    response = client.get(BODY_PATH, headers=headers, params={"lang": lang_param} if lang_param else None)
    assert response.status_code == 200
    assert f'<html lang="{expected_lang}">' in response.text
    assert heading(response.text) == expected
    assert "Accept-Language" in response.headers["vary"]


def test_labels_fall_back_to_dutch_then_english(client):
    # Grenspost Düsseldorf has nl and en labels only; the event of Euregio Maas-Rijn (1976) too.
    response = client.get("/id/event/euregio-maas-rijn--working-group-1976", params={"lang": "de"},
                          headers={"Accept": BROWSER})
    assert heading(response.text) == "Euregio Maas-Rijn: werkgroep gevormd"
    assert '<span class="lang">nl</span>' in response.text  # marked as not in the page's language


def test_the_switcher_links_every_language_and_links_keep_a_chosen_one(client):
    response = client.get(BODY_PATH, params={"lang": "fr"}, headers={"Accept": BROWSER})
    for code in ("nl", "en", "de"):
        assert f'href="{BODY_PATH}?lang={code}"' in response.text
    assert 'href="/id/region/eupen?lang=fr"' in response.text


# --- caching --------------------------------------------------------------------------------------

def test_etag_and_last_modified_give_304(client):
    first = client.get(BODY_PATH, headers={"Accept": "text/turtle"})
    tag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(BODY_PATH, headers={"Accept": "text/turtle", "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    since = client.get(BODY_PATH, headers={"Accept": "text/turtle", "If-Modified-Since": modified})
    assert since.status_code == 304
    other_format = client.get(BODY_PATH, headers={"Accept": "application/n-triples", "If-None-Match": tag})
    assert other_format.status_code == 200
    page = client.get(BODY_PATH, headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert client.get(BODY_PATH, headers={"Accept": BROWSER, "Accept-Language": "en",
                                          "If-None-Match": page.headers["etag"]}).status_code == 304
    assert client.get(BODY_PATH, headers={"Accept": BROWSER, "Accept-Language": "de",
                                          "If-None-Match": page.headers["etag"]}).status_code == 200


def test_a_write_changes_the_etag(client, fresh_graph):
    before = client.get(BODY_PATH, headers={"Accept": "text/turtle"}).headers["etag"]
    note = f'<{BODY}> <http://www.w3.org/2004/02/skos/core#note> "etag test {uuid.uuid4().hex}"@en .'
    response = client.put("/rdf-graphs", params={"graph": fresh_graph}, content=note.encode(),
                          headers={"Content-Type": "text/turtle", **auth()})
    assert response.status_code in (200, 201, 204), response.text
    after = client.get(BODY_PATH, headers={"Accept": "text/turtle", "If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before
    assert "etag test" in after.text


# --- safety ---------------------------------------------------------------------------------------

SCRIPT = "<script>alert('gros')</script>"


@pytest.fixture(scope="module")
def hostile_label(client):
    """A label holding a script tag, written through the Graph Store with the token."""
    graph = f"{BASE}graph/test-{uuid.uuid4().hex}"
    text = SCRIPT + " & <b>bold</b>"
    turtle = f'<{ID}body/grenspost-dusseldorf> <http://www.w3.org/2004/02/skos/core#altLabel> {json.dumps(text)}@en .'
    response = client.put("/rdf-graphs", params={"graph": graph}, content=turtle.encode(),
                          headers={"Content-Type": "text/turtle", **auth()})
    assert response.status_code in (200, 201, 204), response.text
    return text


def test_a_label_with_a_script_tag_is_escaped_on_the_page(client, hostile_label):
    page = client.get("/id/body/grenspost-dusseldorf", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert "&lt;script&gt;alert(&#39;gros&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page.text
    assert SCRIPT not in page.text and "<b>bold" not in page.text


def test_only_web_iris_become_links():
    # javascript:... is a valid IRI; as an href it would run a script, so pages show it as text.
    from gros.web.links import safe_external

    assert safe_external("https://www.wikidata.org/entity/Q55") == "https://www.wikidata.org/entity/Q55"
    assert safe_external("mailto:info@example.org") == "mailto:info@example.org"
    assert safe_external("javascript:alert(1)") is None
    assert safe_external("JavaScript:alert(1)") is None
    assert safe_external("data:text/html,<script>") is None


def test_a_label_with_a_script_tag_is_escaped_in_search_results(client, hostile_label):
    page = client.get("/search", params={"q": "alert gros", "lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert "Grenspost Düsseldorf" in page.text
    assert "&lt;script&gt;" in page.text and SCRIPT not in page.text


def test_the_search_query_itself_is_escaped(client):
    page = client.get("/search", params={"q": '"><script>x()</script>'}, headers={"Accept": BROWSER})
    assert "<script>x()" not in page.text
    assert "&#34;&gt;&lt;script&gt;x()&lt;/script&gt;" in page.text


@pytest.mark.parametrize("path,accept", [
    ("/", BROWSER), (BODY_PATH, BROWSER), (BODY_PATH, "text/turtle"), ("/sparql", BROWSER),
    ("/sparql?query=ASK%7B%7D", "application/sparql-results+json"), ("/id/body/nothing", BROWSER),
    ("/no/such/page", "application/json"), ("/static/gros.css", "*/*"), ("/health", "*/*"),
])
def test_every_response_carries_the_security_headers(client, path, accept):
    response = client.get(path, headers={"Accept": accept})
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_script(client):
    for path in ("/", BODY_PATH, "/map", "/sparql", "/def", "/timeline", "/search?q=euregio"):
        html = client.get(path, headers={"Accept": BROWSER}).text
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert 'src="' in attributes or 'type="application/json"' in attributes, (path, attributes)
            if 'src="' in attributes:
                assert body.strip() == ""
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        assert "style=" not in html, path


# --- the ontology and the dataset ------------------------------------------------------------------

def test_def_documents_the_ontology_with_an_anchor_per_term(client):
    page = client.get("/def", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert 'id="Region"' in page.text and 'id="coversArea"' in page.text
    assert "A bounded territory" in page.text  # the definition of gros:Region, from the ontology
    german = client.get("/def", params={"lang": "de"}, headers={"Accept": BROWSER})
    assert ">Gebiet <small" in german.text  # the German label of gros:Region


def test_def_as_rdf(client):
    response = client.get("/def", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = parse(response, "turtle")
    assert (URIRef(BASE + "def#Region"), RDFS.label, Literal("region", lang="en")) in graph
    assert (URIRef(BASE + "def"), None, None) in graph
    assert client.get("/def.nt").headers["content-type"].startswith("application/n-triples")


@pytest.mark.parametrize("path", ["/dataset", "/.well-known/void"])
def test_the_dataset_is_described_with_void(client, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = parse(response, "turtle")
    dataset = URIRef(BASE + "dataset")
    triples = graph.value(dataset, VOID.triples)
    assert triples is not None and int(triples) > 100
    assert graph.value(dataset, VOID.sparqlEndpoint) == URIRef(BASE + "sparql")
    assert (dataset, VOID.subset, URIRef(BASE + "graph/minimal")) in graph
    html = client.get(path, headers={"Accept": BROWSER})
    assert html.status_code == 200 and "void:triples" in html.text
    # the page is about the dataset only: its subsets' own statements stay on their side
    types = re.search(r'<p class="types">(.*?)</p>', html.text, re.S).group(1)
    assert types.count("<a ") == 1 and "void:Dataset" in types  # minimal.ttl has no DCAT description


# --- classes, search, map, timeline, home -----------------------------------------------------------

def test_a_class_page_lists_the_instances_of_its_subclasses(client):
    page = client.get("/classes/gros:CooperationBody", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert f'href="{BODY_PATH}?lang=en"' in page.text  # an EGTC, a subclass
    assert "Grenspost Düsseldorf" in page.text
    assert client.get("/classes/gros:NoSuchClass", headers={"Accept": BROWSER}).status_code == 404
    index = client.get("/classes", headers={"Accept": BROWSER})
    assert index.status_code == 200 and "/classes/gros:EGTC" in index.text


@pytest.mark.parametrize("query", ["Dusseldorf", "DÜSSELDORF", "duesseldorf", "grenspost düss"])
def test_search_ignores_case_and_diacritics(client, query):
    page = client.get("/search", params={"q": query}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert 'href="/id/body/grenspost-dusseldorf"' in page.text


def test_search_finds_descriptions_and_names_in_any_language(client):
    page = client.get("/search", params={"q": "eurégion meuse", "lang": "nl"}, headers={"Accept": BROWSER})
    assert 'href="/id/body/euregio-maas-rijn?lang=nl"' in page.text
    nothing = client.get("/search", params={"q": "zzzz-nothing-matches"}, headers={"Accept": BROWSER})
    assert nothing.status_code == 200 and 'class="results"' not in nothing.text


def test_map_data_has_the_seats_and_the_covered_regions(client):
    data = client.get("/map/data.json").json()
    assert data["type"] == "FeatureCollection"
    seats = [f for f in data["features"] if f["properties"]["kind"] == "seat"]
    assert any(f["properties"]["href"] == BODY_PATH and f["geometry"] == {"type": "Point", "coordinates": [6.03647, 50.6279]}
               for f in seats)
    assert "EuroGeographics" in data["attribution"]
    from gros.web import boundaries
    if boundaries.installed():  # NUTS polygons (make install); Limburg NL42 is covered by the EGTC
        areas = {f["properties"]["href"]: f for f in data["features"] if f["properties"]["kind"] == "area"}
        assert areas["/id/region/limburg-nl"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    about = client.get("/map/data.json", params={"about": BODY}).json()
    assert {f["properties"]["kind"] for f in about["features"]} >= {"seat"}


def test_the_map_page_lists_places_and_says_where_no_geometry_is_known(client):
    page = client.get("/map", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert "Euregio Meuse-Rhine" in page.text and "Eupen" in page.text
    # the German-speaking Community has no NUTS code and no point: no shape is guessed for it
    assert re.search(r"German-speaking Community</a> <em class=\"unknown\">\(no geometry known\)</em>", page.text)
    assert "EuroGeographics" in page.text


def test_the_timeline_lists_dated_events_in_order(client):
    page = client.get("/timeline", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.text.index('id="y1976"') < page.text.index('id="y2016"') < page.text.index('id="y2019"')
    assert "1 April 2019" in page.text  # the EGTC event, as people write dates
    bodies_only = client.get("/timeline", params={"kind": "body", "lang": "en"}, headers={"Accept": BROWSER})
    assert "1976" in bodies_only.text and 'class="event agreement"' not in bodies_only.text


def test_the_home_page_counts_and_links_the_entry_points(client):
    page = client.get("/", params={"lang": "en"}, headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert "The GROS knowledge graph" in page.text
    for path in ("/classes/gros:CooperationBody", "/classes/gros:LegalInstrument", "/classes/gros:Region",
                 "/map", "/timeline", "/sparql", "/queries"):
        assert f'href="{path}?lang=en"' in page.text, path


def test_the_query_page_is_served_to_browsers_at_sparql(client):
    page = client.get("/sparql", headers={"Accept": BROWSER, "Accept-Language": "en"})
    assert page.status_code == 200
    assert 'id="query-form"' in page.text and 'id="examples-data"' in page.text
    assert '<option value="body-seats"' in page.text  # the named queries as examples
    machine = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert "sparql-service-description" in machine.text


# --- pure functions ---------------------------------------------------------------------------------

def test_language_negotiation():
    from gros.web.i18n import negotiate

    assert negotiate(None, "de-AT;q=0.5, fr;q=0.9") == negotiate(None, "fr")
    assert negotiate("EN", "de").code == "en" and negotiate("EN", "de").explicit
    assert negotiate("xx", "de").code == "de"
    assert negotiate(None, "de;q=0, en").code == "en"
    assert negotiate(None, "*").code == "nl"


def test_dates_keep_their_precision():
    from gros.web.i18n import format_date

    assert format_date("1958", "en") == "1958"
    assert format_date("2012-09", "nl") == "september 2012"
    assert format_date("2019-04-01", "de") == "1. April 2019"
    assert format_date("2019-04-01", "fr") == "1er avril 2019"
    assert format_date("not a date", "en") == "not a date"


def test_search_normalisation():
    from gros.web.search import forms, normalise

    assert normalise("Düsseldorf") == normalise("DUSSELDORF") == "dusseldorf"
    assert normalise("Liège–Luik, Région wallonne") == "liege luik region wallonne"
    assert normalise("Straße") == "strasse"
    assert "duesseldorf" in forms("Düsseldorf")


def test_wkt_geometries():
    from gros.web.boundaries import wkt_geometry

    assert wkt_geometry("POINT(6.03647 50.6279)") == {"type": "Point", "coordinates": [6.03647, 50.6279]}
    assert wkt_geometry("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(1 2)")["coordinates"] == [1.0, 2.0]
    polygon = wkt_geometry("POLYGON((0 0, 1 0, 1 1, 0 0), (0.2 0.2, 0.3 0.2, 0.3 0.3, 0.2 0.2))")
    assert polygon["type"] == "Polygon" and len(polygon["coordinates"]) == 2
    multi = wkt_geometry("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))")
    assert multi["type"] == "MultiPolygon" and len(multi["coordinates"]) == 2
    assert wkt_geometry("LINESTRING(0 0, 1 1)") is None


def test_the_server_answers_for_its_configured_base():
    from gros.web.dereference import iri_for, local_path, split_suffix
    from gros.settings import Settings

    settings = Settings(base_iri="https://example.org/kg/")
    assert iri_for(settings, "/id/body/x") == "https://example.org/kg/id/body/x"
    assert local_path(settings, "https://example.org/kg/id/body/x") == "/id/body/x"
    assert local_path(settings, "https://example.org/kg/def#Region") == "/def#Region"
    assert local_path(settings, "https://w3id.org/gros/id/body/x") is None
    assert local_path(settings, "https://example.org/kg/.well-known/genid/1") is None
    assert split_suffix("/id/body/x.jsonld")[0] == "/id/body/x"
    assert split_suffix("/id/body/x")[1] is None
