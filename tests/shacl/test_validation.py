"""`gros validate` as a library: the shipped data conforms; broken data is explained."""
from pathlib import Path

import pytest

from gros.shacl import validation
from gros.settings import Settings

PREFIXES = """@prefix gros: <https://w3id.org/gros/def#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


@pytest.fixture(scope="module")
def shipped_report():
    return validation.validate_content(Settings(root=Path(__file__).resolve().parents[2]))


def test_shipped_data_conforms(shipped_report):
    assert shipped_report.violations == [], validation.render_text(shipped_report)


def test_report_counts_what_it_checked(shipped_report):
    assert shipped_report.files >= 8 and shipped_report.triples > 1000 and shipped_report.shapes >= 20


def test_typo_in_a_property_is_reported_with_its_file(small_root: Path):
    (small_root / "data" / "typo.ttl").write_text(PREFIXES + """
<https://w3id.org/gros/id/organisation/x> gros:memberof <https://w3id.org/gros/id/region/netherlands> ;
    org:memberof <https://w3id.org/gros/id/region/netherlands> .
""", encoding="utf-8")
    report = validation.validate_content(Settings(root=small_root))
    undefined = {r.focus: r for r in report.results if r.constraint == "UndefinedTerm"}
    assert set(undefined) == {"https://w3id.org/gros/def#memberof", "http://www.w3.org/ns/org#memberof"}
    for result in undefined.values():
        assert result.files == ["data/typo.ttl"]
        assert result.severity == "Violation" and {"nl", "en"} <= set(result.messages)
    assert not report.conforms


def test_link_to_an_undescribed_iri_is_reported(small_root: Path):
    (small_root / "data" / "dangling.ttl").write_text(PREFIXES + """
<https://w3id.org/gros/id/organisation/nowhere-else> rdfs:seeAlso <https://w3id.org/gros/id/body/does-not-exist> .
""", encoding="utf-8")
    report = validation.validate_content(Settings(root=small_root))
    dangling = [r for r in report.results if r.constraint == "UndescribedResource"]
    assert [r.focus for r in dangling] == ["https://w3id.org/gros/id/body/does-not-exist"]
    assert dangling[0].files == ["data/dangling.ttl"]


def test_small_valid_root_conforms(small_root: Path):
    report = validation.validate_content(Settings(root=small_root))
    assert report.conforms, validation.render_text(report)


def test_json_and_graph_renderings_carry_every_result(small_root: Path):
    (small_root / "data" / "typo.ttl").write_text(PREFIXES + """
<https://w3id.org/gros/id/organisation/x> gros:memberof <https://w3id.org/gros/id/region/netherlands> .
""", encoding="utf-8")
    report = validation.validate_content(Settings(root=small_root))
    as_json = validation.render_json(report)
    assert as_json["conforms"] is False and len(as_json["results"]) == len(report.results)
    graph = validation.render_graph(report)
    from rdflib.namespace import SH, RDF
    assert len(list(graph.subjects(RDF.type, SH.ValidationResult))) == len(report.results)
