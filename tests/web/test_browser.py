"""The pages in a real browser: Debian's headless Chromium driven by Playwright for Python,
against the `server` fixture (minimal.ttl as data). A newcomer's path: the home page, a search
for a body, its page, another language, the map with its markers, a query with its table; and
no console errors on the way (a Content-Security-Policy violation is one).

Where Chromium, Playwright or the built assets are missing these tests fail in CI and skip
elsewhere (tests/support/browser.py).
"""
from __future__ import annotations

import re

import pytest

from browser import chromium

TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server.url, locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # A fetch cut short by leaving the page (net::ERR_ABORTED) is navigation, not a failure.
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url} {request.failure}")
            if "ERR_ABORTED" not in (request.failure or "") else None)
    page.problems = problems
    yield page
    context.close()
    assert problems == [], "\n".join(problems)


def test_from_the_home_page_to_a_body_in_another_language(page):
    page.goto("/")
    assert page.locator("h1").inner_text() == "The GROS knowledge graph"
    assert page.locator("ul.cards .count").first.inner_text().strip().isdigit()

    # search a body, ignoring the umlaut
    page.fill("#home-search", "dusseldorf")
    page.press("#home-search", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=dusseldorf"))
    result = page.locator("ol.results a", has_text="Grenspost Düsseldorf").first
    assert result.is_visible()

    # follow it to the body's page
    result.click()
    page.wait_for_url(re.compile(r"/id/body/grenspost-dusseldorf$"))
    assert page.locator("h1").inner_text().startswith("Grenspost Düsseldorf")
    assert page.locator("#incoming").is_visible()

    # switch language: the interface and the names follow, and the choice travels with the links
    page.click("ul.languages a[hreflang=de]")
    page.wait_for_url(re.compile(r"lang=de"))
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h2", has_text="Eigenschaften").is_visible()
    page.locator("header.site nav a", has_text="Kooperationsgremien").click()
    page.wait_for_url(re.compile(r"/classes/gros:CooperationBody\?lang=de"))
    page.locator("table.list a", has_text="Euregio Maas-Rhein").click()  # the German name of the EGTC
    page.wait_for_url(re.compile(r"/id/body/euregio-maas-rijn\?lang=de"))
    assert page.locator("h1").inner_text().startswith("Euregio Maas-Rhein")

    # and back home, still in German
    page.click("a.brand")
    assert page.locator("h1").inner_text() == "Der GROS-Wissensgraph"


def test_the_map_shows_the_seats_as_markers(page):
    page.goto("/map")
    page.wait_for_selector(".gros-map.gros-map-ready")
    markers = page.locator(".gros-map path.gros-seat")
    assert markers.count() >= 1
    markers.first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Euregio Meuse-Rhine" in popup.inner_text()
    assert "EuroGeographics" in page.locator(".leaflet-control-attribution").inner_text()


def test_a_resource_with_a_place_has_a_small_map(page):
    page.goto("/id/body/euregio-maas-rijn")
    page.wait_for_selector(".gros-map.small.gros-map-ready")
    assert page.locator(".gros-map.small path.gros-seat").count() == 1


def test_run_a_named_query_and_see_the_table(page):
    page.goto("/sparql")
    assert page.locator(".editor .cm-content").count() == 1  # the editor replaced the text area
    page.select_option("#examples", "body-seats")
    assert "gros:seat" in page.locator(".editor .cm-content").inner_text()
    page.click("#run")
    table = page.locator("#results table.results")
    table.wait_for()
    assert table.locator("tbody tr").count() >= 1
    assert "rows" in page.locator("#query-status").inner_text()
    # IRIs of ours link to their pages; the downloads are the same query as CSV and JSON
    assert table.locator('a[href^="/id/body/"]').count() >= 1
    assert page.locator('#downloads a[href*="format=csv"]').count() == 1
    table.locator('a[href^="/id/body/"]').first.click()
    page.wait_for_url(re.compile(r"/id/body/"))
    assert page.locator("h1").is_visible()


def test_the_named_query_pages(page):
    """From the list of named queries to one of them: its title, its rows as a table, its downloads;
    and a query with a parameter, run again from its form."""
    page.goto("/queries")
    page.locator("dt#body-seats a").click()
    page.wait_for_url(re.compile(r"/queries/body-seats$"))
    assert page.locator("h1").inner_text().strip()
    table = page.locator("table.results")
    assert table.locator("tbody tr").count() >= 1
    assert table.locator('a[href^="/id/body/"]').count() >= 1
    assert page.locator('a[href*="/queries/body-seats?"][href*="format=csv"]').count() == 1

    page.goto("/queries/bodies-covering-region")
    region = page.locator("input#p-region")
    assert region.input_value().startswith("https://w3id.org/gros/id/region/")  # the default, filled in
    page.locator("form.parameters button[type=submit]").click()
    page.wait_for_url(re.compile(r"/queries/bodies-covering-region\?region="))
    assert page.locator("h1").inner_text().strip()
    assert page.get_by_role("alert").count() == 0  # no parameter problem
