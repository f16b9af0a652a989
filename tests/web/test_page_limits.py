"""Pages whose work is bounded by settings, not by the size of the data.

A server with tiny limits (two bodies on the map and two events on the timeline per page, lists
of more than three sorted in storage order, searches ranking at most two texts) must still show
everything, a page at a time, and say plainly what is cut. Search reads the store per query:
its results must be exactly those of ranking every name and description of the store, which
is what the in-memory index of earlier versions did.
"""
from __future__ import annotations

import re

import httpx
import pytest

from gros.web.dereference import is_skolem, local_path
from gros.web.search import rank
from gros.settings import Settings
from server_fixture import TOKEN, start_server

BROWSER = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
LIMITS = {"GROS_PAGE_ITEMS": "2", "GROS_PAGE_SORT_MAX": "3", "GROS_SEARCH_MAX": "2"}
#: Searches covering accents and case in our four languages, German umlaut spellings, ß, words
#: in any order, names and descriptions.
QUERIES = ["Dusseldorf", "DÜSSELDORF", "duesseldorf", "grenspost düss", "eurégion meuse", "euregio", "Liège",
           "luik", "Lüttich", "maas rijn", "rijn maas", "Eupen", "nederland", "deutschsprachige", "straße",
           "communauté", "region", "zzzz-nothing"]


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("gros-limited"), TOKEN, env=LIMITS)
    with httpx.Client(base_url=running.url, timeout=30, headers={"Accept": BROWSER}) as http:
        yield http
    running.stop()


def hrefs(page: str, css: str) -> list[str]:
    """The links of the elements of class `css`, in page order, without ?lang=."""
    return [h.split("?")[0] for h in re.findall(rf'<span class="{css}"><a href="([^"]+)"', page)]


def search_hits(http: httpx.Client, query: str) -> list[str]:
    found, offset = [], 0
    while True:
        page = http.get("/search", params={"q": query, "offset": offset or None}).text
        found += hrefs(page, "hit")
        if 'rel="next"' not in page:
            return found
        offset += 50


def all_texts(http: httpx.Client) -> list:
    """Every name and description of the store through /sparql, a page at a time (the test
    server returns at most 50 rows), as search.rank() takes them."""
    import pyoxigraph as ox
    from gros.web.reader import page_query

    query = page_query("search-texts").replace("MATCHES", "true")
    query = query.replace("SELECT ?s ?literal ?name WHERE", "SELECT ?s ?literal ?name ?p WHERE")
    settings, out, offset = Settings(), [], 0
    while True:
        response = http.get("/sparql", params={"query": f"{query} ORDER BY ?s ?p ?literal LIMIT 50 OFFSET {offset}"},
                            headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.text
        rows = response.json()["results"]["bindings"]
        for row in rows:
            literal = row["literal"]
            if literal["type"] != "literal" or row["s"]["type"] != "uri":
                continue  # a blank node (a skolem node in the store, a bnode to clients) has no page
            subject = ox.NamedNode(row["s"]["value"])
            if is_skolem(settings, subject) or local_path(settings, subject.value) is None:
                continue
            out.append((subject, ox.Literal(literal["value"], language=literal.get("xml:lang")),
                        row["name"]["value"] == "true"))
        if len(rows) < 50:
            return out
        offset += 50


def test_search_reading_the_store_ranks_as_the_full_index_did(client):
    texts = all_texts(client)
    assert len(texts) > 50
    for query in QUERIES:
        expected = [local_path(Settings(), h.subject.value) for h in rank(texts, query)]
        assert search_hits(client, query) == expected, query
    assert search_hits(client, "Dusseldorf")  # the fixture still has what the queries are about


def test_a_capped_search_says_so_and_shows_real_matches(client, limited):
    full = search_hits(client, "euregio")
    assert len(full) > 2
    page = limited.get("/search", params={"q": "euregio", "lang": "en"}).text
    assert "More than 2 names and descriptions match" in page and "&gt; " in page
    shown = hrefs(page, "hit")
    assert shown and set(shown) <= set(full)  # ranked among the texts found first: fewer, never wrong
    # a name typed as it is written is found however many other texts match
    exact = limited.get("/search", params={"q": "Euregio Maas-Rijn"}).text
    assert hrefs(exact, "hit")[0] == "/id/body/euregio-maas-rijn"
    nothing = limited.get("/search", params={"q": "zzzz-nothing", "lang": "en"}).text  # fewer matches than the cap
    assert "More than" not in nothing


def test_the_map_comes_a_page_of_bodies_at_a_time(client, limited):
    everything = client.get("/map/data.json").json()
    total = everything["bodies"]["total"]
    assert total > 2 and everything["bodies"]["shown"] == total
    first = limited.get("/map", params={"lang": "en"}).text
    assert f"The map and the table show cooperation bodies 1–2 of {total}." in first
    assert "Too many to sort by name" in first and 'rel="next"' in first
    seats, offset = set(), 0
    while offset < total:
        data = limited.get("/map/data.json", params={"offset": offset}).json()
        assert data["bodies"] == {"total": total, "offset": offset, "shown": min(2, total - offset)}
        seats |= {f["properties"]["href"] for f in data["features"] if f["properties"]["kind"] == "seat"}
        offset += 2
    assert seats == {f["properties"]["href"] for f in everything["features"] if f["properties"]["kind"] == "seat"}


def test_the_timeline_comes_a_page_at_a_time_oldest_first(client, limited):
    def events(page: str) -> list[str]:
        return re.findall(r'<time datetime="([^"]+)">', page)

    everything = events(client.get("/timeline").text)
    first = limited.get("/timeline", params={"lang": "en"}).text
    assert f"Events 1–2 of {len(everything)}, oldest first." in first
    dates, offset = [], 0
    while True:
        page = limited.get("/timeline", params={"offset": offset or None}).text
        dates += events(page)
        if 'rel="next"' not in page:
            break
        offset += 2
    assert dates == sorted(everything) == everything


def test_a_long_class_list_is_paged_in_storage_order_and_says_so(limited):
    page = limited.get("/classes/gros:Region", params={"lang": "en"}).text
    assert "Too many to sort by name: they are listed in the order of the store." in page
    count = int(re.search(r'<span class="count">(\d+)</span>', page).group(1))
    assert count > 3
    home = limited.get("/", params={"lang": "en"}).text  # counts are aggregates, not lists: not capped
    assert f'<span class="count">{count}</span>' in home
    index = limited.get("/classes", params={"lang": "en"}).text
    few = re.search(r'<a href="(/classes/[^"?]+)[^"]*">[^<]*</a> <small class="curie">[^<]*</small> <span class="count">[1-3]</span>',
                    index).group(1)
    short = limited.get(few, params={"lang": "en"})
    assert short.status_code == 200 and "Too many to sort" not in short.text


def test_what_a_view_remembers_is_bounded():
    from gros.web.reader import Bounded

    cache = Bounded(3)
    for n in range(3):
        cache[n] = str(n)
    assert cache.get(0) == "0"  # used: now the most recent
    cache[3] = "3"
    assert len(cache) == 3 and cache.get(1) is None  # the least recently used went
    assert [cache.get(n) for n in (0, 2, 3)] == ["0", "2", "3"]
