"""Registry identifiers of Dutch authorities, checked against the official list itself.

The TOOI register of provinces (tests/external/tooi/, a copy of the value list
rwc_provincies_compleet) says which IRI identifies which province as an organisation. Every Dutch
provincial authority in the content must carry exactly that IRI (gros:tooiIdentifier), with the
register as its source; the authority is found in the register by its official name, read from
the file, not from a list written here.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from gros.content.files import to_rdflib
from gros.publish import export
from gros.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOOI_DIR = ROOT / "tests" / "external" / "tooi"
TOOI_FILE = TOOI_DIR / "rwc_provincies_compleet_1.jsonld"
TOOIONT = Namespace("https://identifier.overheid.nl/tooi/def/ont/")
GROS = Namespace("https://w3id.org/gros/def#")
SCHEMA = Namespace("https://schema.org/")
ID = Namespace("https://w3id.org/gros/id/")
NETHERLANDS = ID["region/netherlands"]
REGISTER_SOURCE = ID["source/tooi-provincies"]
PROVINCE_LIST = "https://identifier.overheid.nl/tooi/id/provincie/"
OFFICIAL_DOWNLOAD = ("https://repository.officiele-overheidspublicaties.nl/waardelijsten/"
                     "rwc_provincies_compleet/1/json/rwc_provincies_compleet_1.json")


@pytest.fixture(scope="module")
def register() -> dict[str, dict]:
    """Official name incl. kind ("provincie groningen", lower case) -> the register's entry."""
    g = Graph().parse(TOOI_FILE, format="json-ld")
    entries = {}
    for province in g.subjects(RDF.type, TOOIONT.Provincie):
        name = str(g.value(province, TOOIONT.officieleNaamInclSoort))
        entries[name.casefold()] = {
            "iri": province,
            "name": name,
            "short_name": str(g.value(province, TOOIONT.officieleNaamExclSoort)),
            "code": str(g.value(province, TOOIONT.organisatiecode)),
        }
    return entries


@pytest.fixture(scope="module")
def graph() -> Graph:
    """The whole content (ontology/ and data/) as the exports read it."""
    files = export.content_files(Settings(root=ROOT))
    result = Graph()
    for quad in export.content_quads(files):
        t = quad.triple
        result.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return result


def dutch_name(g: Graph, node) -> str:
    """The nl label without a qualifier in brackets: "Provincie Limburg (Nederland)" -> "provincie limburg"."""
    names = [o for o in g.objects(node, RDFS.label) if isinstance(o, Literal) and o.language == "nl"]
    assert len(names) == 1, f"{node} has {len(names)} Dutch labels"
    return re.sub(r"\s*\([^)]*\)$", "", str(names[0])).strip().casefold()


def dutch_provincial_authorities(g: Graph) -> list[URIRef]:
    return sorted(a for a in g.subjects(RDF.type, GROS.ProvincialAuthority)
                  if (a, GROS.country, NETHERLANDS) in g)


def mismatches(g: Graph, register: dict[str, dict]) -> list[str]:
    """What is wrong with the TOOI identifiers of the Dutch provincial authorities in `g`."""
    problems = []
    for authority in dutch_provincial_authorities(g):
        entry = register.get(dutch_name(g, authority))
        if entry is None:
            problems.append(f"{authority}: its name {dutch_name(g, authority)!r} is not in the register")
            continue
        regions = list(g.objects(authority, GROS.governs))
        if [dutch_name(g, r) for r in regions] != [entry["short_name"].casefold()]:
            problems.append(f"{authority} governs {regions}, not the province {entry['short_name']!r}")
        given = set(g.objects(authority, GROS.tooiIdentifier))
        if given != {entry["iri"]}:
            problems.append(f"{authority}: TOOI {sorted(map(str, given))}, the register gives {entry['iri']}")
        if (authority, DCTERMS.source, REGISTER_SOURCE) not in g:
            problems.append(f"{authority}: the TOOI register is not among its sources")
    return problems


def test_the_copy_is_the_file_its_readme_names():
    digest = hashlib.sha256(TOOI_FILE.read_bytes()).hexdigest()
    assert f"{digest}  {TOOI_FILE.name}" in (TOOI_DIR / "README.md").read_text()


def test_the_register_lists_the_twelve_provinces(register):
    assert len(register) == 12
    assert all(str(e["iri"]) == PROVINCE_LIST + e["code"] for e in register.values())


def test_every_dutch_provincial_authority_carries_the_register_iri(graph, register):
    authorities = dutch_provincial_authorities(graph)
    assert len(authorities) >= 9  # the provinces along the borders with Belgium and Germany, and more
    assert mismatches(graph, register) == []


def test_no_two_authorities_share_a_tooi_iri_and_every_province_iri_is_in_the_register(graph, register):
    known = {e["iri"] for e in register.values()}
    holders: dict[URIRef, list] = {}
    for holder, tooi in graph.subject_objects(GROS.tooiIdentifier):
        holders.setdefault(tooi, []).append(holder)
        if str(tooi).startswith(PROVINCE_LIST):
            assert tooi in known, f"{holder} carries {tooi}, which is not in the register"
            assert (holder, RDF.type, GROS.ProvincialAuthority) in graph, f"{holder} is not a provincial authority"
    shared = {str(t): h for t, h in holders.items() if len(h) > 1}
    assert not shared, shared


def test_the_tooi_iri_is_on_the_authority_not_on_the_region(graph):
    for region in graph.subjects(RDF.type, GROS.Province):
        assert not list(graph.objects(region, GROS.tooiIdentifier)), region


def test_belgian_provincial_authorities_carry_no_tooi_iri(graph):
    belgian = [a for a in graph.subjects(RDF.type, GROS.ProvincialAuthority)
               if (a, GROS.country, ID["region/belgium"]) in graph]
    assert belgian
    assert all(not list(graph.objects(a, GROS.tooiIdentifier)) for a in belgian)


def test_the_register_is_a_source_with_the_official_address(graph):
    assert (REGISTER_SOURCE, RDF.type, GROS.Source) in graph
    assert graph.value(REGISTER_SOURCE, SCHEMA.url) == URIRef(OFFICIAL_DOWNLOAD)
    assert graph.value(REGISTER_SOURCE, GROS.sourceKind) == ID["concept/source-official"]


def test_the_check_fails_on_a_swapped_or_missing_identifier(graph, register):
    broken = Graph()
    broken += graph
    groningen, fryslan = ID["organisation/provincie-groningen"], ID["organisation/provincie-fryslan"]
    zeeland = ID["organisation/provincie-zeeland"]
    pv20, pv21 = register["provincie groningen"]["iri"], register["provincie fryslân"]["iri"]
    broken.remove((groningen, GROS.tooiIdentifier, pv20))
    broken.add((groningen, GROS.tooiIdentifier, pv21))
    broken.remove((fryslan, GROS.tooiIdentifier, pv21))
    broken.add((fryslan, GROS.tooiIdentifier, pv20))
    broken.remove((zeeland, GROS.tooiIdentifier, None))
    problems = mismatches(broken, register)
    assert len(problems) == 3, problems
    assert any("provincie-zeeland" in p and "TOOI []" in p for p in problems)
