"""The data of version 2: the wider field (all Euregios, Interreg programmes, governance layer,
Benelux institutions, Scheldt, EGTC Rhine-Alpine, BRIDGEforEU, the border information points one
by one), the depth fixes, and the answers of the three named queries on that data.

Loads ontology/*.ttl and data/*.ttl into one pyoxigraph store (one named graph per file, queried as
a union), as tests/test_queries.py does, and runs the named queries with their header defaults.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QUERY_DIR = ROOT / "queries"
ID = "https://w3id.org/gros/id/"
GRAPH = "https://w3id.org/gros/graph/"
XSD = "http://www.w3.org/2001/XMLSchema#"
PREFIXES = """
PREFIX gros: <https://w3id.org/gros/def#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX schema: <https://schema.org/>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
"""
#: The files that hold the resources added for the wider field (with the older ones in the same files).
NEW_FILES = ["bodies", "programmes", "governance", "agreements"]


def iri(path: str) -> str:
    return ID + path


@pytest.fixture(scope="module")
def store() -> ox.Store:
    result = ox.Store()
    for path in sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "data").glob("*.ttl")):
        result.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(GRAPH + path.stem))
    return result


def select(store, sparql: str) -> list[dict]:
    solutions = store.query(PREFIXES + sparql, use_default_graph_as_union=True)
    names = [v.value for v in solutions.variables]
    return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]


def ask(store, sparql: str) -> bool:
    return bool(store.query(PREFIXES + sparql, use_default_graph_as_union=True))


def split_query(name: str) -> tuple[dict, str]:
    lines = (QUERY_DIR / f"{name}.rq").read_text(encoding="utf-8").splitlines()
    end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "# ---")
    header = yaml.safe_load("\n".join(l[2:] if l.startswith("# ") else l[1:] for l in lines[1:end]))
    return header, "\n".join(lines[end + 1:])


@pytest.fixture(scope="module")
def run(store):
    """run(name, **parameters) -> rows of {variable: string value or None}; defaults from the header."""

    def _run(name: str, **overrides) -> list[dict]:
        header, sparql = split_query(name)
        substitutions = {}
        for parameter, spec in (header.get("parameters") or {}).items():
            raw = str(overrides.get(parameter, spec["default"]))
            term = ox.NamedNode(raw) if spec["type"] == "iri" else ox.Literal(raw)
            substitutions[ox.Variable(parameter)] = term
        solutions = store.query(sparql, use_default_graph_as_union=True, substitutions=substitutions)
        names = [v.value for v in solutions.variables]
        return [{n: (s[n].value if s[n] is not None else None) for n in names} for s in solutions]

    return _run


def column(rows, variable) -> set:
    return {row[variable] for row in rows}


# --- coverage ------------------------------------------------------------------------------------

def test_at_least_25_cooperation_bodies(store):
    rows = select(store, """
        SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { ?b a/rdfs:subClassOf* gros:CooperationBody }""")
    assert int(rows[0]["n"]) >= 25


def test_seven_dutch_euregios_including_benelux_middengebied(store):
    rows = select(store, """
        SELECT DISTINCT ?b WHERE { ?b gros:bodyType <https://w3id.org/gros/id/concept/body-type-euregio> ;
                                      gros:coversArea/gros:partOf* <https://w3id.org/gros/id/region/netherlands> }""")
    euregios = column(rows, "b")
    # the seven of the seed site's Euregio page
    assert iri("body/benelux-middengebied") in euregios
    assert {iri("body/euregio"), iri("body/ems-dollart-region"), iri("body/euregio-rijn-waal"),
            iri("body/euregio-rijn-maas-noord"), iri("body/euregio-maas-rijn"),
            iri("body/euregio-scheldemond")} <= euregios


def test_three_interreg_programmes_with_both_recent_periods(store):
    rows = select(store, """
        SELECT ?programme ?start ?end WHERE { ?period gros:periodOf ?programme ;
            gros:periodStart ?start ; gros:periodEnd ?end }""")
    periods = defaultdict(set)
    for row in rows:
        periods[row["programme"]].add((row["start"], row["end"]))
    for slug in ("interreg-vlaanderen-nederland", "interreg-deutschland-nederland", "interreg-maas-rijn"):
        assert {("2014", "2020"), ("2021", "2027")} <= periods[iri("programme/" + slug)], slug


def test_every_grensinfopunt_is_part_of_the_network(store):
    rows = select(store, """
        SELECT ?gip WHERE { ?gip gros:bodyType <https://w3id.org/gros/id/concept/body-type-information-point> ;
                                 org:subOrganizationOf <https://w3id.org/gros/id/body/grensinfopunten> }""")
    assert len(rows) >= 6
    hosts = select(store, """
        SELECT ?host WHERE { <https://w3id.org/gros/id/body/gip-euregio> org:subOrganizationOf ?host }""")
    assert iri("body/euregio") in column(hosts, "host")


def test_new_resources_have_nl_and_en_labels_and_a_source(store):
    for stem in NEW_FILES + ["sources"]:
        rows = select(store, f"""
            SELECT DISTINCT ?s WHERE {{
                GRAPH <{GRAPH}{stem}> {{ ?s a ?type }}
                FILTER(isIRI(?s))
                FILTER(NOT EXISTS {{ ?s rdfs:label ?nl FILTER(LANG(?nl) = "nl") }}
                    || NOT EXISTS {{ ?s rdfs:label ?en FILTER(LANG(?en) = "en") }}
                    || (NOT EXISTS {{ ?s dcterms:source ?src }} && NOT EXISTS {{ ?s a gros:Source }}))
            }}""")
        assert rows == [], f"{stem}: {column(rows, 's')}"


# --- depth fixes ---------------------------------------------------------------------------------

def test_merged_municipalities_are_not_members_in_2020(run):
    rows = run("members-on-date", body=iri("body/euregio-rijn-maas-noord"), date="2020-01-01")
    members = column(rows, "member")
    for gone in ("ambt-montfort", "arcen-en-velden", "haelen", "heel", "helden", "heythuysen", "hunsel",
                 "kessel", "maasbracht", "maasbree", "roggel-en-neer", "swalmen", "thorn", "meerlo-wanssum",
                 "sevenum"):
        assert iri("organisation/gemeente-" + gone) not in members, gone
    # ... but they were members in 2005
    in_2005 = column(run("members-on-date", body=iri("body/euregio-rijn-maas-noord"), date="2005-01-01"), "member")
    assert iri("organisation/gemeente-thorn") in in_2005
    assert iri("organisation/gemeente-sevenum") in in_2005


def test_no_abolished_municipality_is_a_member_after_its_merger(run, store):
    """Every municipality whose note says it no longer exists, with the day of its merger, has left every
    body by then: members-on-date for 2020 lists none of them, in any body."""
    gone = {row["m"] for row in select(store, """
        SELECT ?m WHERE { ?m a gros:MunicipalAuthority ; skos:note ?note
                          FILTER(REGEX(?note, "(Bestaat niet meer|opgeheven).*20[0-2][0-9]-01-01")) }""")}
    assert len(gone) >= 15
    bodies = {row["b"] for row in select(store, "SELECT DISTINCT ?b WHERE { ?m org:organization ?b }")}
    for body in bodies:
        members = column(run("members-on-date", body=body, date="2020-06-30"), "member")
        assert not (members & gone), (body, members & gone)


def test_no_note_claims_a_membership_that_is_not_there(store):
    rows = select(store, """
        SELECT ?s ?note WHERE {
            ?s a/rdfs:subClassOf* org:Organization ; skos:note ?note
            FILTER(REGEX(?note, "(lidmaatschap|membership)[^.]*(afgeleid|derived)", "i"))
            FILTER NOT EXISTS { ?m org:member ?s } }""")
    assert rows == []


def test_member_until_is_the_day_before_the_merger(store):
    rows = select(store, """
        SELECT ?until WHERE { <https://w3id.org/gros/id/membership/euregio-rijn-maas-noord--gemeente-arcen-en-velden>
                                  gros:memberUntil ?until }""")
    assert column(rows, "until") == {"2009-12-31"}


def test_flemish_region_qid(store):
    rows = select(store, "SELECT ?q WHERE { <https://w3id.org/gros/id/region/vlaams-gewest> skos:exactMatch ?q }")
    assert column(rows, "q") == {"http://www.wikidata.org/entity/Q9337"}
    assert not ask(store, "ASK { ?s skos:exactMatch <http://www.wikidata.org/entity/Q234> }")


def test_places_of_signature_are_places(store):
    assert not ask(store, "ASK { ?i gros:placeSigned ?p FILTER(isLiteral(?p)) }")
    rows = select(store, "SELECT ?p WHERE { <https://w3id.org/gros/id/agreement/anholt-overeenkomst-1991> gros:placeSigned ?p }")
    assert column(rows, "p") == {iri("region/isselburg")}
    assert ask(store, "ASK { ?i gros:placeSigned ?p . ?p a/rdfs:subClassOf* gros:Region }")


def test_publishers_that_are_organisations_in_the_graph_are_links(store):
    rows = select(store, """
        SELECT ?source ?name WHERE {
            ?source dcterms:publisher ?name FILTER(isLiteral(?name))
            ?org a/rdfs:subClassOf* org:Organization ; rdfs:label ?label .
            FILTER(STR(?label) = STR(?name)) }""")
    assert rows == []


def test_madrid_additional_protocol_entry_into_force(store):
    rows = select(store, """
        SELECT ?d WHERE { <https://w3id.org/gros/id/agreement/madrid-aanvullend-protocol-1995> eli:first_date_entry_in_force ?d }""")
    assert column(rows, "d") == {"1998-12-01"}


def test_both_egtc_regulations_enable_the_egtc(store):
    # The seed: "De rechtsbasis voor het vormen van een EGTS ligt in de verordeningen 1082/2006 en 1302/2013."
    rows = select(store, "SELECT ?i WHERE { ?i gros:enablesForm <https://w3id.org/gros/id/concept/form-egts> }")
    assert column(rows, "i") == {iri("agreement/verordening-1082-2006"), iri("agreement/verordening-1302-2013")}


def test_agreements_under_the_madrid_convention(store):
    rows = select(store, """
        SELECT ?i WHERE { ?i gros:legalBasis <https://w3id.org/gros/id/agreement/kaderovereenkomst-madrid-1980> }""")
    assert {iri("agreement/anholt-overeenkomst-1991"), iri("agreement/benelux-overeenkomst-1986"),
            iri("agreement/benelux-verdrag-2014")} <= column(rows, "i")


def test_no_url_is_two_sources(store):
    rows = select(store, """
        SELECT ?url (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a gros:Source ; schema:url ?url }
        GROUP BY ?url HAVING (COUNT(DISTINCT ?s) > 1)""")
    assert rows == []


def test_bridgeforeu_and_schelde_treaties(store):
    assert ask(store, """ASK { <https://w3id.org/gros/id/agreement/verordening-2025-925>
                                   gros:dateAdopted "2025-05-07"^^<http://www.w3.org/2001/XMLSchema#date> }""")
    rows = select(store, "SELECT ?t WHERE { ?t gros:dateSigned \"2005-12-21\"^^<http://www.w3.org/2001/XMLSchema#date> }")
    assert len(rows) == 4
    assert ask(store, """ASK { <https://w3id.org/gros/id/body/vlaams-nederlandse-scheldecommissie>
                                   gros:legalBasis <https://w3id.org/gros/id/agreement/scheldeverdrag-beleid-en-beheer-2005> }""")


# --- the named queries ---------------------------------------------------------------------------

def test_answers_programmes_covering_region(run):
    rows = run("programmes-covering-region")  # Limburg (NL)
    periods = column(rows, "period")
    assert {iri("programme/interreg-vlaanderen-nederland--2014-2020"),
            iri("programme/interreg-vlaanderen-nederland--2021-2027"),
            iri("programme/interreg-deutschland-nederland--2014-2020"),
            iri("programme/interreg-deutschland-nederland--2021-2027"),
            iri("programme/interreg-maas-rijn--2014-2020"),
            iri("programme/interreg-maas-rijn--2021-2027")} <= periods
    vlned = [r for r in rows if r["period"] == iri("programme/interreg-vlaanderen-nederland--2014-2020")]
    assert column(vlned, "euContribution") == {"152575585"}
    assert column(vlned, "authority") == {iri("organisation/provincie-antwerpen")}
    # Gronau lies in Kreis Borken (EUREGIO): the Dutch-German programme only; the Meuse-Rhine programme's
    # German part is the Region Aachen, not the whole of North Rhine-Westphalia.
    gronau = column(run("programmes-covering-region", region=iri("region/gronau")), "programme")
    assert gronau == {iri("programme/interreg-deutschland-nederland")}
    recent_de_nl = {iri("programme/interreg-deutschland-nederland--2014-2020"),
                    iri("programme/interreg-deutschland-nederland--2021-2027")}
    meuse_rhine = {iri("programme/interreg-maas-rijn--2014-2020"), iri("programme/interreg-maas-rijn--2021-2027")}
    # Herzogenrath (StädteRegion Aachen) and Kreis Heinsberg: Meuse-Rhine; not the recent Dutch-German periods,
    # whose NRW part lies in the Regierungsbezirke Düsseldorf and Münster.
    for place in ("region/herzogenrath", "region/kreis-heinsberg"):
        periods = column(run("programmes-covering-region", region=iri(place)), "period")
        assert meuse_rhine <= periods and not (periods & recent_de_nl), place
    for place in ("region/dusseldorf", "region/isselburg", "region/kleve", "region/kreis-coesfeld"):
        periods = column(run("programmes-covering-region", region=iri(place)), "period")
        assert recent_de_nl <= periods and not (periods & meuse_rhine), place
    zeeland = column(run("programmes-covering-region", region=iri("region/zeeland")), "programme")
    assert zeeland == {iri("programme/interreg-vlaanderen-nederland")}


def test_answers_governance_meetings_timeline(run):
    rows = run("governance-meetings-timeline")
    dates = [r["date"] for r in rows]
    assert dates == ["2013", "2018-11-05", "2018-11-19", "2019-05-09", "2020-11-04", "2020-12-02", "2020-12-03",
                     "2021-09-30", "2022-03-31", "2023-01-12", "2023-01-31", "2023-10-23", "2023-12-06",
                     "2025-03-25"]
    first_nrw = next(r for r in rows if r["date"] == "2018-11-19")
    assert first_nrw["forum"] == iri("body/regeringsconsultaties-nl-nrw")
    assert first_nrw["number"] == "1" and first_nrw["placeLabel"] == "Düsseldorf"
    online = next(r for r in rows if r["date"] == "2020-11-04")
    assert online["place"] is None and online["number"] == "5"
    # The border region conference Netherlands-North Rhine-Westphalia: five numbered editions and the
    # steering group's consultation of January 2023 (no number).
    conference = [r for r in rows if r["forum"] == iri("body/grenslandconferentie-nl-nrw")]
    assert [(r["date"], r["number"], r["placeLabel"]) for r in conference] == [
        ("2019-05-09", "1", "Venlo"), ("2020-12-02", "2", "Duisburg"), ("2021-09-30", "3", "Enschede"),
        ("2022-03-31", "4", "Aken"), ("2023-01-12", None, "Brüggen"), ("2023-12-06", "5", "Nijmegen")]


def test_grenslandagenda_adopted_at_the_conference(store):
    rows = select(store, """
        SELECT ?meeting ?agenda ?adopted ?date WHERE {
            ?meeting gros:meetingOf <https://w3id.org/gros/id/body/grenslandconferentie-nl-nrw> ;
                     gros:meetingDate ?date ; gros:resultedIn ?agenda .
            ?agenda gros:dateAdopted ?adopted ; gros:party <https://w3id.org/gros/id/organisation/ministerie-bzk> ,
                                                         <https://w3id.org/gros/id/organisation/land-nordrhein-westfalen> }""")
    assert {r["agenda"] for r in rows} == {iri("agreement/grenslandagenda-2021"), iri("agreement/grenslandagenda-2022"),
                                           iri("agreement/grenslandagenda-2023-2024")}
    # each agenda was adopted on the day of the meeting it came out of
    assert all(r["adopted"] == r["date"] for r in rows)


def test_answers_grensinfopunten_funding(run):
    rows = run("grensinfopunten-funding")
    assert iri("organisation/ministerie-szw") in column(rows, "funder")
    network = [r for r in rows if r["recipient"] == iri("body/grensinfopunten")]
    assert {(r["from"], r["amount"]) for r in network} == {("2020", "1000000"), ("2025", "1558808")}
    assert all(r["annual"] == "true" for r in network)
    rmn = [r for r in rows if r["recipient"] == iri("body/gip-rijn-maas-noord")]
    assert {iri("organisation/ministerie-szw"), iri("organisation/provincie-limburg-nl"),
            iri("organisation/land-nordrhein-westfalen")} == column(rmn, "funder")
    assert column(rows, "recipient") >= {iri("body/gip-euregio"), iri("body/gip-rijn-waal")}


def test_parliamentary_dossier_32851_holds_the_papers_used_as_sources(run, store):
    dossier = iri("publication/kamerstukdossier-32851")
    rows = {row["publication"]: row for row in run("publications-about")}
    assert iri("programme/gros") in rows[dossier]["aboutIris"].split()
    parts = column(select(store, f"SELECT ?s WHERE {{ ?s dcterms:isPartOf <{dossier}> ; a gros:Source }}"), "s")
    assert {iri("source/kst-32851-17"), iri("source/kst-32851-77")} <= parts
    # every paper of the dossier that the graph cites is linked to it
    cited = column(select(store, """SELECT ?s WHERE { ?s a gros:Source ; schema:url ?u
                                     FILTER(CONTAINS(STR(?u), "kst-32851-")) }"""), "s")
    assert cited <= parts
