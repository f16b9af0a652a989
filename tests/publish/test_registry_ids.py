"""Registry identifiers of Dutch authorities, checked against the official lists themselves.

The TOOI registers of provinces and of municipalities (tests/external/tooi/, copies of the value
lists rwc_provincies_compleet and rwc_gemeenten_compleet) say which IRI identifies which province or
municipality as an organisation. Every Dutch provincial and municipal authority in the content must
carry exactly that IRI (gros:tooiIdentifier), with the register as its source; the authority is
found in the register by its official name, read from the file, not from a list written here.
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
MUNICIPALITIES_FILE = TOOI_DIR / "rwc_gemeenten_compleet_4.jsonld"
TOOIONT = Namespace("https://identifier.overheid.nl/tooi/def/ont/")
GROS = Namespace("https://w3id.org/gros/def#")
SCHEMA = Namespace("https://schema.org/")
ID = Namespace("https://w3id.org/gros/id/")
NETHERLANDS = ID["region/netherlands"]
REGISTER_SOURCE = ID["source/tooi-provincies"]
MUNICIPALITIES_SOURCE = ID["source/tooi-gemeenten"]
PROVINCE_LIST = "https://identifier.overheid.nl/tooi/id/provincie/"
DOWNLOADS = "https://repository.officiele-overheidspublicaties.nl/waardelijsten/"
OFFICIAL_DOWNLOAD = DOWNLOADS + "rwc_provincies_compleet/1/json/rwc_provincies_compleet_1.json"


def key(name: str) -> str:
    """How names are compared: case and full stops do not count ("Bergen (L.)" = "bergen (l)")."""
    return name.casefold().replace(".", "").strip()


def read_register(path: Path, kind: URIRef) -> dict[str, dict]:
    """key(official name incl. kind), e.g. "provincie groningen" -> the register's entry."""
    g = Graph().parse(path, format="json-ld")
    entries = {}
    for organisation in g.subjects(RDF.type, kind):
        name = str(g.value(organisation, TOOIONT.officieleNaamInclSoort))
        assert key(name) not in entries, f"two entries named {name!r} in {path.name}"
        entries[key(name)] = {
            "iri": organisation,
            "name": name,
            "short_name": str(g.value(organisation, TOOIONT.officieleNaamExclSoort)),
            "code": str(g.value(organisation, TOOIONT.organisatiecode)),
            "province": g.value(organisation, TOOIONT.ligtInProvincie),
        }
    return entries


@pytest.fixture(scope="module")
def register() -> dict[str, dict]:
    return read_register(TOOI_FILE, TOOIONT.Provincie)


@pytest.fixture(scope="module")
def municipalities() -> dict[str, dict]:
    return read_register(MUNICIPALITIES_FILE, TOOIONT.Gemeente)


@pytest.fixture(scope="module")
def graph() -> Graph:
    """The whole content (ontology/ and data/) as the exports read it."""
    files = export.content_files(Settings(root=ROOT))
    result = Graph()
    for quad in export.content_quads(files):
        t = quad.triple
        result.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return result


def dutch_label(g: Graph, node) -> str:
    names = [o for o in g.objects(node, RDFS.label) if isinstance(o, Literal) and o.language == "nl"]
    assert len(names) == 1, f"{node} has {len(names)} Dutch labels"
    return str(names[0])


def without_qualifier(name: str) -> str:
    """"Provincie Limburg (Nederland)" -> "Provincie Limburg": our labels tell apart what the
    register's official names already do by kind and province."""
    return re.sub(r"\s*\([^)]*\)$", "", name)


def find(g: Graph, authority, register: dict[str, dict]) -> dict | None:
    """The register's entry of the authority: by its name as it is, else without the qualifier."""
    name = dutch_label(g, authority)
    return register.get(key(name)) or register.get(key(without_qualifier(name)))


def dutch_authorities(g: Graph, cls: URIRef) -> list[URIRef]:
    return sorted(a for a in g.subjects(RDF.type, cls) if (a, GROS.country, NETHERLANDS) in g)


def mismatches(g: Graph, register: dict[str, dict], cls: URIRef = GROS.ProvincialAuthority,
               source: URIRef = REGISTER_SOURCE) -> list[str]:
    """What is wrong with the TOOI identifiers of the Dutch authorities of class `cls` in `g`."""
    problems = []
    for authority in dutch_authorities(g, cls):
        entry = find(g, authority, register)
        if entry is None:
            problems.append(f"{authority}: its name {dutch_label(g, authority)!r} is not in the register")
            continue
        for region in g.objects(authority, GROS.governs):
            if key(without_qualifier(dutch_label(g, region))) != key(entry["short_name"]):
                problems.append(f"{authority} governs {region}, not {entry['short_name']!r}")
        given = set(g.objects(authority, GROS.tooiIdentifier))
        if given != {entry["iri"]}:
            problems.append(f"{authority}: TOOI {sorted(map(str, given))}, the register gives {entry['iri']}")
        if (authority, DCTERMS.source, source) not in g:
            problems.append(f"{authority}: the TOOI register is not among its sources")
    return problems


@pytest.mark.parametrize("path", [TOOI_FILE, MUNICIPALITIES_FILE], ids=lambda p: p.stem)
def test_the_copy_is_the_file_its_readme_names(path):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"{digest}  {path.name}" in (TOOI_DIR / "README.md").read_text()


def test_the_register_lists_the_twelve_provinces(register):
    assert len(register) == 12
    assert all(str(e["iri"]) == PROVINCE_LIST + e["code"] for e in register.values())


def test_every_dutch_provincial_authority_carries_the_register_iri(graph, register):
    authorities = dutch_authorities(graph, GROS.ProvincialAuthority)
    assert len(authorities) >= 9  # the provinces along the borders with Belgium and Germany, and more
    assert mismatches(graph, register) == []
    for authority in authorities:  # each governs the province of that name, so the region is right too
        assert len(list(graph.objects(authority, GROS.governs))) == 1, authority


def test_every_dutch_municipal_authority_carries_the_register_iri(graph, municipalities, register):
    authorities = dutch_authorities(graph, GROS.MunicipalAuthority)
    assert len(authorities) >= 40
    assert mismatches(graph, municipalities, GROS.MunicipalAuthority, MUNICIPALITIES_SOURCE) == []
    # where the graph knows the municipality's province, the register agrees
    province_iri = {e["iri"]: e for e in register.values()}
    for authority in authorities:
        entry = find(graph, authority, municipalities)
        for region in graph.objects(authority, GROS.governs):
            for province in graph.objects(region, GROS.partOf):
                for province_authority in graph.subjects(GROS.governs, province):
                    tooi = graph.value(province_authority, GROS.tooiIdentifier)
                    if tooi in province_iri:
                        assert entry["province"] == tooi, (authority, entry["province"], tooi)


def test_no_two_authorities_share_a_tooi_iri_and_every_province_iri_is_in_the_register(graph, register):
    known = {e["iri"] for e in register.values()}
    holders: dict[URIRef, list] = {}
    for holder, tooi in graph.subject_objects(GROS.tooiIdentifier):
        holders.setdefault(tooi, []).append(holder)
        if str(tooi).startswith(PROVINCE_LIST):
            assert tooi in known, f"{holder} carries {tooi}, which is not in the register"
            assert (holder, RDF.type, GROS.ProvincialAuthority) in graph, f"{holder} is not a provincial authority"
        if str(tooi).startswith("https://identifier.overheid.nl/tooi/id/gemeente/"):
            assert (holder, RDF.type, GROS.MunicipalAuthority) in graph, f"{holder} is not a municipal authority"
    shared = {str(t): h for t, h in holders.items() if len(h) > 1}
    assert not shared, shared


def test_the_tooi_iri_is_on_the_authority_not_on_the_region(graph):
    for cls in (GROS.Province, GROS.Municipality):
        for region in graph.subjects(RDF.type, cls):
            assert not list(graph.objects(region, GROS.tooiIdentifier)), region


def test_belgian_provincial_authorities_carry_no_tooi_iri(graph):
    belgian = [a for a in graph.subjects(RDF.type, GROS.ProvincialAuthority)
               if (a, GROS.country, ID["region/belgium"]) in graph]
    assert belgian
    assert all(not list(graph.objects(a, GROS.tooiIdentifier)) for a in belgian)


@pytest.mark.parametrize("source, path", [(REGISTER_SOURCE, TOOI_FILE), (MUNICIPALITIES_SOURCE, MUNICIPALITIES_FILE)],
                         ids=["provinces", "municipalities"])
def test_the_register_is_a_source_with_the_official_address(graph, source, path):
    list_name, version = path.stem.rsplit("_", 1)
    assert (source, RDF.type, GROS.Source) in graph
    assert graph.value(source, SCHEMA.url) == URIRef(f"{DOWNLOADS}{list_name}/{version}/json/{path.stem}.json")
    assert graph.value(source, GROS.sourceKind) == ID["concept/source-official"]
    assert str(OFFICIAL_DOWNLOAD).startswith(DOWNLOADS)


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


def test_the_check_fails_on_a_wrong_municipality(graph, municipalities):
    broken = Graph()
    broken += graph
    kerkrade = ID["organisation/gemeente-kerkrade"]
    broken.remove((kerkrade, GROS.tooiIdentifier, None))
    broken.add((kerkrade, GROS.tooiIdentifier, municipalities["gemeente venlo"]["iri"]))
    problems = mismatches(broken, municipalities, GROS.MunicipalAuthority, MUNICIPALITIES_SOURCE)
    assert len(problems) == 1 and "gemeente-kerkrade" in problems[0], problems
