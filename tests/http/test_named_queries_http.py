"""The named queries over HTTP (/queries, /queries/{name}) against the real test server
(tests/support/server_fixture.py: minimal.ttl as data): listed with their descriptions, run with
parameters from the URL as JSON, CSV, TSV or an HTML table in the page's language."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest

import gros
from gros.content import named_queries as queries
from gros.settings import Settings

from server_fixture import problem

LIMBURG = "https://w3id.org/gros/id/region/limburg-nl"


@pytest.fixture(scope="module")
def named(server) -> dict[str, queries.NamedQuery]:
    return queries.all_queries(server.root / "queries")


def test_the_list_names_every_query_with_title_description_and_parameters(client, named):
    response = client.get("/queries")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    listed = {q["name"]: q for q in response.json()["queries"]}
    assert set(listed) == set(named)
    entry = listed["bodies-covering-region"]
    assert entry["url"] == "/queries/bodies-covering-region"
    assert set(entry["title"]) >= {"nl", "en"} and set(entry["description"]) >= {"nl", "en"}
    # required: the query starts from the region (queries/bodies-covering-region.rq), so an empty one is refused
    assert entry["parameters"] == [{"name": "region", "type": "iri", "required": True, "default": LIMBURG,
                                    "description": named["bodies-covering-region"].parameters["region"].description}]


def test_the_list_as_a_page_is_in_the_readers_language(client, named):
    title = named["bodies-covering-region"].title
    english = client.get("/queries", headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 200 and english.headers["content-type"].startswith("text/html")
    assert title["en"] in english.text and title["nl"] not in english.text
    dutch = client.get("/queries", params={"lang": "nl"}, headers={"Accept": "text/html"})
    assert title["nl"] in dutch.text
    assert 'href="/queries/bodies-covering-region' in dutch.text


def test_a_query_runs_with_a_parameter_from_the_url_as_json(client, server):
    response = client.get("/queries/bodies-covering-region", params={"region": LIMBURG})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    bindings = response.json()["results"]["bindings"]
    assert bindings and {b["region"]["value"] for b in bindings} == {LIMBURG}
    # The same rows as the Python API gives for the same content.
    expected = gros.query("bodies-covering-region", settings=Settings(root=server.root), region=LIMBURG)
    assert sorted(b["body"]["value"] for b in bindings) == sorted(r["body"] for r in expected)


def test_csv_and_tsv_by_accept_or_format(client):
    url = f"/queries/bodies-covering-region?region={quote(LIMBURG, safe='')}"
    as_csv = client.get(url, headers={"Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows and rows[0]["region"] == LIMBURG
    as_tsv = client.get(url + "&format=tsv")
    assert as_tsv.status_code == 200 and as_tsv.headers["content-type"].startswith("text/tab-separated-values")
    assert len(as_tsv.text.strip().splitlines()) == len(rows) + 1


def test_the_html_table_has_the_rows_links_and_the_parameter_form(client, named):
    response = client.get("/queries/bodies-covering-region", params={"region": LIMBURG, "lang": "en"},
                          headers={"Accept": "text/html"})
    assert response.status_code == 200
    page = response.text
    assert named["bodies-covering-region"].title["en"] in page
    assert "<table" in page and 'href="/id/region/limburg-nl' in page
    assert 'name="region"' in page and "format=csv" in page


def test_without_parameters_a_browser_gets_the_form_and_defaults_apply_elsewhere(client):
    page = client.get("/queries/members-on-date", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'name="date"' in page.text
    data = client.get("/queries/members-on-date")
    assert data.status_code == 200  # the defaults of the header


def test_bad_parameters_say_what_is_wrong(client):
    response = client.get("/queries/bodies-covering-region", params={"region": "Limburg"})
    assert response.status_code == 400
    assert "region" in problem(response)["error"] and "iri" in problem(response)["error"]
    response = client.get("/queries/bodies-covering-region", params={"regio": LIMBURG})
    assert response.status_code == 400 and "no parameter 'regio'" in problem(response)["error"]
    response = client.get("/queries/bodies-covering-region", params={"region": ""})
    assert response.status_code == 400 and "needs parameter 'region'" in problem(response)["error"]
    response = client.get("/queries/members-on-date", params={"date": "1 May 2016"})
    assert response.status_code == 400 and "date" in problem(response)["error"]
    response = client.get("/queries/bodies-covering-region", params={"region": "Limburg"},
                          headers={"Accept": "text/html"})
    assert response.status_code == 400 and 'name="region"' in response.text  # the form again, with the reason


def test_unknown_query_and_format(client):
    response = client.get("/queries/no-such-query")
    assert response.status_code == 404
    assert "bodies-covering-region" in problem(response)["error"]
    response = client.get("/queries/region-codes", headers={"Accept": "image/png"})
    assert response.status_code == 406


def test_answers_are_cached_by_revision(client):
    first = client.get("/queries/region-codes", headers={"Accept": "text/csv"})
    tag = first.headers["etag"]
    again = client.get("/queries/region-codes", headers={"Accept": "text/csv", "If-None-Match": tag})
    assert again.status_code == 304
