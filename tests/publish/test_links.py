"""`gros links` (server/gros/outlinks.py, queries/links/links.rq): coverage of links out per class,
and the syntax of every identifier."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gros.publish import outlinks
from gros.settings import Settings
from invoke import run_gros

ROOT = Path(__file__).resolve().parents[2]
GROS = "https://w3id.org/gros/def#"


@pytest.fixture(scope="module")
def report() -> outlinks.LinkReport:
    return outlinks.link_report(Settings(root=ROOT))


def test_every_identifier_in_the_data_is_well_formed(report):
    assert report.ok, outlinks.render_text(report)
    assert report.checked > 150


def test_coverage_of_the_identifiers_the_fact_sheets_give(report):
    # facts.md §3: NUTS, ISO 3166 and Wikidata for every country; the EU country table too.
    for kind in ("nuts", "iso3166", "wikidata", "eu-country"):
        assert report.share(GROS + "Country", kind) == (4, 4), kind
    # Every province has its NUTS and ISO 3166-2 code (facts.md §3 lists each border province).
    linked, total = report.share(GROS + "Province", "nuts")
    assert linked == total
    linked, total = report.share(GROS + "Province", "iso3166")
    assert linked == total
    # CELEX for every regulation; ELI only where facts.md derives it (1082/2006, 1302/2013).
    assert report.share(GROS + "Regulation", "celex") == (4, 4)
    assert report.share(GROS + "Regulation", "eli")[0] == 2
    # TOOI for every Dutch ministry.
    linked, total = report.share(GROS + "Ministry", "tooi")
    assert linked == total
    # A kind that does not apply is not counted as missing.
    assert report.share(GROS + "Country", "celex") is None


def test_the_report_names_kinds_in_the_order_of_the_query(report):
    assert report.kinds[:3] == ["wikidata", "nuts", "iso3166"]
    text = outlinks.render_text(report)
    assert "gros:Country" in text and "4/4 100%" in text


@pytest.fixture
def bad_root(tmp_path) -> Path:
    """The real ontology and queries with a data file whose identifiers have the wrong form."""
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl", tmp_path / "data")
    (tmp_path / "data" / "typos.ttl").write_text("""
@prefix gros: <https://w3id.org/gros/def#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://w3id.org/gros/id/region/limburg-nl> gros:nutsRegion <http://data.europa.eu/nuts/code/nl42> ;
    skos:exactMatch <https://www.wikidata.org/wiki/Q1093> .
<https://w3id.org/gros/id/agreement/kaderovereenkomst-madrid-1980> gros:celexNumber "3206R1082" .
""", encoding="utf-8")
    return tmp_path


def test_malformed_identifiers_fail_the_command(bad_root):
    done = run_gros("links", "--root", str(bad_root), "--format", "json")
    assert done.returncode == 1, done.stderr.decode()
    result = json.loads(done.stdout)
    found = {(m["kind"], m["value"]) for m in result["malformed"]}
    assert found == {("nuts", "http://data.europa.eu/nuts/code/nl42"),
                     ("wikidata", "https://www.wikidata.org/wiki/Q1093"),
                     ("celex", "3206R1082")}


def test_the_command_passes_on_the_shipped_data():
    done = run_gros("links", "--root", str(ROOT))
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    assert b"have the form of their system" in done.stdout
