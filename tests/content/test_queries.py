"""The named queries in queries/*.rq: their headers, their syntax, and their answers on the real data.

Part 1 checks every file on its own: the YAML header (title and description in nl and en, declared
parameters), that the query parses, that each parameter is a projected variable (pyoxigraph only
substitutes projected variables), and the house conventions (labels preferring nl, ORDER BY).

Part 2 loads ontology/*.ttl and data/*.ttl into one pyoxigraph store (one named graph per file, queried
as a union), runs each query with its default parameters (and some others) and checks facts from the
fact sheets: not "it returns rows" but "Eurode's members are Kerkrade and Herzogenrath".
Every query needs a test here named test_answers_<name with underscores>; a test checks that.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
QUERY_DIR = ROOT / "queries"
QUERY_FILES = sorted(QUERY_DIR.glob("*.rq"))
QUERY_NAMES = [path.stem for path in QUERY_FILES]

ID = "https://w3id.org/gros/id/"
GROS = "https://w3id.org/gros/def#"
GRAPH = "https://w3id.org/gros/graph/"
ELI = "http://data.europa.eu/eli/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
WD = "http://www.wikidata.org/entity/"
PARAMETER_TYPES = {"iri", "string", "date", "integer"}

# The files the expected answers depend on.
REQUIRED_FILES = [
    "ontology/gros.ttl",
    "data/bodies.ttl",
    "data/agreements.ttl",
    "data/regions.ttl",
    "data/governments.ttl",
    "data/programme.ttl",
    "data/news.ttl",
]


def iri(path: str) -> str:
    """`iri("body/eurode")` -> the instance IRI."""
    return ID + path


# --------------------------------------------------------------------------------------------------
# Reading a query file
# --------------------------------------------------------------------------------------------------


def split_query(path: Path) -> tuple[dict, str]:
    """Return (header, sparql) of a named query; the header sits in comment lines between `# ---`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].rstrip() == "# ---", f"{path.name}: the first line must be '# ---'"
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "# ---")
    except StopIteration:
        raise AssertionError(f"{path.name}: the header has no closing '# ---'") from None
    header_lines = []
    for number, line in enumerate(lines[1:end], start=2):
        assert line.startswith("#"), f"{path.name}:{number}: header lines must be comments"
        header_lines.append(line[2:] if line.startswith("# ") else line[1:])
    header = yaml.safe_load("\n".join(header_lines))
    assert isinstance(header, dict), f"{path.name}: the header is not a YAML mapping"
    return header, "\n".join(lines[end + 1 :])


HEADERS = {path.stem: split_query(path) for path in QUERY_FILES}


def parameter_term(kind: str, value) -> ox.NamedNode | ox.Literal:
    value = str(value)
    if kind == "iri":
        return ox.NamedNode(value)
    if kind == "date":
        return ox.Literal(value, datatype=ox.NamedNode(XSD + "date"))
    if kind == "integer":
        return ox.Literal(value, datatype=ox.NamedNode(XSD + "integer"))
    return ox.Literal(value)


# --------------------------------------------------------------------------------------------------
# Part 1: every file on its own
# --------------------------------------------------------------------------------------------------


def test_there_are_enough_queries():
    assert len(QUERY_FILES) >= 22, [p.name for p in QUERY_FILES]


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_file_name(name):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), "names are lower case with hyphens"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_header_has_title_and_description_in_nl_and_en(name):
    header, _ = HEADERS[name]
    for key in ("title", "description"):
        assert isinstance(header.get(key), dict), f"{name}: {key} must be a mapping nl/en"
        for lang in ("nl", "en"):
            text = header[key].get(lang)
            assert isinstance(text, str) and text.strip(), f"{name}: {key}.{lang} is missing"
    assert set(header) <= {"title", "description", "parameters"}, f"{name}: unknown header keys"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_parses(name):
    _, sparql = HEADERS[name]
    try:
        ox.Store().query(sparql)
    except SyntaxError as error:
        pytest.fail(f"{name}.rq does not parse: {error}")


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_parameters_are_projected_variables(name):
    header, sparql = HEADERS[name]
    parameters = header.get("parameters") or {}
    assert isinstance(parameters, dict)
    projected = {v.value for v in ox.Store().query(sparql).variables}
    for parameter, spec in parameters.items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", parameter), f"{name}: bad name {parameter!r}"
        assert f"?{parameter}" in sparql, f"{name}: ?{parameter} does not occur in the query"
        assert parameter in projected, f"{name}: ?{parameter} must be projected to be substituted"
        assert spec.get("type") in PARAMETER_TYPES, f"{name}: {parameter}: type must be one of {PARAMETER_TYPES}"
        assert "default" in spec, f"{name}: {parameter} has no default"
        if spec["type"] == "date":
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(spec["default"])), f"{name}: {parameter}: bad date"
        if spec["type"] == "iri":
            assert str(spec["default"]).startswith("https://w3id.org/gros/id/"), f"{name}: {parameter}"
        for lang in ("nl", "en"):
            assert (spec.get("description") or {}).get(lang), f"{name}: {parameter}: description.{lang}"
        # Oxigraph folds BOUND(?p) and a bare BIND(?p AS ?x) of a variable that no pattern binds,
        # before the substitution happens: never write those with a parameter.
        assert not re.search(rf"BOUND\s*\(\s*\?{parameter}\s*\)", sparql, re.I), f"{name}: BOUND(?{parameter})"
        assert not re.search(rf"BIND\s*\(\s*\?{parameter}\s+AS", sparql, re.I), f"{name}: BIND(?{parameter} AS"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_house_style(name):
    _, sparql = HEADERS[name]
    assert "ORDER BY" in sparql, f"{name}: results need a deterministic order"
    assert "rdfs:label" in sparql, f"{name}: return labels beside IRIs"
    assert re.search(r'LANG(MATCHES)?\s*\(\s*LANG\(\?\w+\)\s*,\s*"nl"\s*\)', sparql), f"{name}: prefer nl labels"
    assert not re.search(r"\bSERVICE\b", sparql, re.I), f"{name}: no SERVICE (pyoxigraph would fetch it)"


def test_the_package_reads_every_query_the_same_way():
    """gros.content.named_queries (the CLI and the server) must accept every file this module accepts."""
    from gros.content import named_queries as queries  # an import error here is a failure, not a skip

    loaded = queries.all_queries(QUERY_DIR)
    assert set(loaded) == set(QUERY_NAMES)
    for name, query in loaded.items():
        header, _ = HEADERS[name]
        assert set(query.parameters) == set(header.get("parameters") or {}), name


def test_every_query_has_an_answer_test():
    # The queries on the data of version 2 have their answer tests in test_data_v2.py.
    import importlib.util
    spec = importlib.util.spec_from_file_location("_data_v2_answers", Path(__file__).with_name("test_data_v2.py"))
    data_v2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data_v2)
    modules = [sys.modules[__name__], data_v2]
    missing = [n for n in QUERY_NAMES
               if not any(hasattr(m, "test_answers_" + n.replace("-", "_")) for m in modules)]
    assert not missing, f"queries without a test of their answers: {missing}"


# --------------------------------------------------------------------------------------------------
# Part 2: the answers on the real data
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store() -> ox.Store:
    missing = [f for f in REQUIRED_FILES if not (ROOT / f).is_file()]
    if missing:
        pytest.fail(f"content files missing: {missing}")
    result = ox.Store()
    stems: dict[str, Path] = {}
    for path in sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "data").glob("*.ttl")):
        assert path.stem not in stems, f"file stem {path.stem} is not unique ({stems[path.stem]}, {path})"
        stems[path.stem] = path
        result.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(GRAPH + path.stem))
    return result


def value(term) -> str | None:
    if term is None:
        return None
    return term.value


@pytest.fixture(scope="module")
def run(store):
    """run(name, **parameters) -> list of {variable: string value or None}, defaults filled in."""

    def _run(name: str, **overrides) -> list[dict[str, str | None]]:
        header, sparql = HEADERS[name]
        parameters = header.get("parameters") or {}
        unknown = set(overrides) - set(parameters)
        assert not unknown, f"{name} has no parameters {unknown}"
        substitutions = {
            ox.Variable(p): parameter_term(spec["type"], overrides.get(p, spec["default"]))
            for p, spec in parameters.items()
        }
        solutions = store.query(sparql, use_default_graph_as_union=True, substitutions=substitutions)
        variables = [v.value for v in solutions.variables]
        rows = [{v: value(solution[v]) for v in variables} for solution in solutions]
        return rows

    return _run


def column(rows, variable) -> set:
    return {row[variable] for row in rows}


def by(rows, key) -> dict:
    """Group rows by the value of one column."""
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def test_parameter_defaults_exist_in_the_data(store):
    for name, (header, _) in HEADERS.items():
        for parameter, spec in (header.get("parameters") or {}).items():
            if spec["type"] == "iri":
                found = store.query(f"ASK {{ <{spec['default']}> ?p ?o }}", use_default_graph_as_union=True)
                assert bool(found), f"{name}: default of ?{parameter} <{spec['default']}> is not in the data"


def test_queries_use_only_defined_gros_terms(store):
    for name, (_, sparql) in HEADERS.items():
        for term in sorted(set(re.findall(r"\bgros:([A-Za-z][A-Za-z0-9_]*)", sparql))):
            found = store.query(f"ASK {{ <{GROS}{term}> a ?type }}", use_default_graph_as_union=True)
            assert bool(found), f"{name}: gros:{term} is not defined in the ontology"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_a_label_goes_with_its_resource(store, name):
    """A label OPTIONAL on a variable that may be unbound joins with every label in the store: wrong
    answers (and slow: test_query_plans.py checks the plans for such joins). On the default answers,
    every ?xLabel column has its ?x column, is unbound where ?x is, and holds a text of ?x (or ?x itself)."""
    header, sparql = HEADERS[name]
    substitutions = {ox.Variable(p): parameter_term(spec["type"], spec["default"])
                     for p, spec in (header.get("parameters") or {}).items()}
    solutions = store.query(sparql, use_default_graph_as_union=True, substitutions=substitutions)
    variables = [v.value for v in solutions.variables]
    labels = [v for v in variables if v.endswith("Label")]
    assert all(v[:-len("Label")] in variables for v in labels), f"{name}: a label column without its resource"
    for row in solutions:
        for label in labels:
            resource, text = row[label[:-len("Label")]], row[label]
            if text is None:
                continue
            assert resource is not None, f"{name}: ?{label} = {text.value!r} beside an unbound resource"
            if isinstance(resource, ox.NamedNode) and text.value != resource.value:
                found = store.query(f"ASK {{ <{resource.value}> ?p ?text FILTER(STR(?text) = {ox.Literal(text.value)}) }}",
                                    use_default_graph_as_union=True)
                assert bool(found), f"{name}: ?{label} = {text.value!r} is not a text of <{resource.value}>"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_labels_are_filled_in(run, name):
    """Every *Label column that is bound holds text, not an IRI, on the default answers."""
    for row in run(name):
        for variable, text in row.items():
            if variable.endswith("Label") and text is not None:
                assert not text.startswith("https://w3id.org/gros/id/"), f"{name}: {variable} has no label: {text}"


# --- bodies and regions -------------------------------------------------------------------------------

EMR = iri("body/euregio-maas-rijn")
RMN = iri("body/euregio-rijn-maas-noord")
EUREGIO = iri("body/euregio")
EDR = iri("body/ems-dollart-region")
ERW = iri("body/euregio-rijn-waal")
SCHELDEMOND = iri("body/euregio-scheldemond")
EURODE = iri("body/eurode")
LINIELAND = iri("body/egts-linieland-van-waas-en-hulst")
NL, BE, DE = iri("region/netherlands"), iri("region/belgium"), iri("region/germany")


def test_answers_bodies_covering_region(run):
    # Limburg (NL) lies in the Euregio Maas-Rijn and the euregio rijn-maas-noord, not in Scheldemond.
    limburg = column(run("bodies-covering-region"), "body")
    assert {EMR, RMN} <= limburg
    assert SCHELDEMOND not in limburg and LINIELAND not in limburg
    # partOf*: a body covering a province covers the country too.
    netherlands = column(run("bodies-covering-region", region=NL), "body")
    assert {EUREGIO, EDR, ERW, RMN, EMR, SCHELDEMOND, EURODE, LINIELAND} <= netherlands
    germany = column(run("bodies-covering-region", region=DE), "body")
    assert {EUREGIO, EURODE, EMR} <= germany
    assert SCHELDEMOND not in germany and LINIELAND not in germany


def test_answers_members_by_country(run):
    rows = by(run("members-by-country"), "body")
    eurode = {row["country"]: row for row in rows[EURODE]}
    assert set(eurode) == {NL, DE}
    assert eurode[NL]["memberCount"] == "1" and "Kerkrade" in eurode[NL]["members"]
    assert eurode[DE]["memberCount"] == "1" and "Herzogenrath" in eurode[DE]["members"]
    # EMR: Limburg (BE), Liège and the German-speaking Community in Belgium; plus NL and DE.
    emr = {row["country"]: int(row["memberCount"]) for row in rows[EMR]}
    assert {NL, BE, DE} <= set(emr)
    assert emr[BE] == 3
    # Linieland: Beveren, Sint-Gillis-Waas, Stekene, Oost-Vlaanderen, Interwaas, MLSO; Hulst, Zeeland.
    linieland = {row["country"]: int(row["memberCount"]) for row in rows[LINIELAND]}
    assert linieland == {BE: 6, NL: 2}


def test_answers_members_on_date(run):
    rows = run("members-on-date")
    assert column(rows, "member") == {iri("organisation/gemeente-kerkrade"), iri("organisation/stadt-herzogenrath")}
    assert column(rows, "date") == {"2020-01-01"}
    # Eurode began in 1991 (declaration of intent) and became a public body in 1998: no members in 1990.
    assert run("members-on-date", date="1990-01-01") == []
    # MLSO joined the EGTS Linieland on 2016-10-17.
    before = " ".join(r["memberLabel"] for r in run("members-on-date", body=LINIELAND, date="2015-06-01"))
    after = " ".join(r["memberLabel"] for r in run("members-on-date", body=LINIELAND, date="2017-01-01"))
    assert "Hulst" in before and "Hulst" in after
    assert "Linkerscheldeoever" not in before and "Linkerscheldeoever" in after
    # euregio rijn-maas-noord: Kreis Heinsberg from 2022, Landgraaf from 2023-01-01; Weert was a founding
    # party in 2004, left at a date no source gives, and joined again from 2023-01-01.
    in_2022 = run("members-on-date", body=RMN, date="2022-06-01")
    in_2023 = run("members-on-date", body=RMN, date="2023-06-01")
    assert iri("organisation/kreis-heinsberg") in column(in_2022, "member")
    assert iri("organisation/gemeente-landgraaf") not in column(in_2022, "member")
    assert iri("organisation/gemeente-landgraaf") in column(in_2023, "member")
    weert = {(r["from"], r["current"]) for r in in_2023 if r["member"] == iri("organisation/gemeente-weert")}
    assert weert == {("2004-07-01", "false"), ("2023-01-01", "true")}
    assert column(rows, "current") == {"true"}


def test_answers_bodies_by_legal_form(run):
    rows = by(run("bodies-by-legal-form"), "body")
    basis = {body: column(body_rows, "legalBasis") for body, body_rows in rows.items()}
    assert iri("agreement/anholt-overeenkomst-1991") in basis[EURODE]
    assert iri("agreement/verordening-1082-2006") in basis[LINIELAND]
    assert iri("agreement/benelux-overeenkomst-1986") in basis[SCHELDEMOND]
    assert any("EGTS" in (label or "") for label in column(rows[EMR], "legalFormLabel"))
    # Anholt Art. 3(3): the law of the seat; Eurode sits in Kerkrade, the Euregio Rhein-Waal in Kleve.
    assert column(rows[EURODE], "lawOfCountry") == {NL}
    assert column(rows[ERW], "lawOfCountry") == {DE}


def test_answers_regions_in_cross_border_bodies(run):
    rows = {(row["country"], row["region"]): row for row in run("regions-in-cross-border-bodies")}
    assert "Euregio Maas-Rijn" in rows[(NL, iri("region/limburg-nl"))]["bodies"]
    assert "Euregio Maas-Rijn" in rows[(BE, iri("region/limburg-be"))]["bodies"]
    assert "Scheldemond" in rows[(NL, iri("region/zeeland"))]["bodies"]
    assert (BE, iri("region/limburg-nl")) not in rows


def test_answers_egtcs_and_member_countries(run):
    rows = by(run("egtcs-and-member-countries"), "egtc")
    assert {EMR, LINIELAND} <= set(rows)
    assert {NL, BE, DE} <= column(rows[EMR], "country")
    assert column(rows[LINIELAND], "country") == {NL, BE}
    assert column(rows[EMR], "seat") == {iri("region/eupen")}
    assert column(rows[LINIELAND], "seat") == {iri("region/sint-gillis-waas")}


def test_answers_body_seats(run):
    rows = run("body-seats")
    seats = {(row["body"], row["role"]): row for row in rows}
    gronau = seats[(EUREGIO, GROS + "seat")]
    assert gronau["place"] == iri("region/gronau")
    assert re.search(r"POINT\s*\(\s*7\.02238\s+52\.21099\s*\)", gronau["wkt"]), gronau["wkt"]
    assert seats[(ERW, GROS + "seat")]["place"] == iri("region/kleve")
    assert "Mönchengladbach" in seats[(RMN, GROS + "seat")]["placeLabel"]
    assert "Sint-Gillis-Waas" in seats[(LINIELAND, GROS + "seat")]["placeLabel"]
    assert "Leer" in seats[(EDR, GROS + "seat")]["placeLabel"]
    assert "Nieuweschans" in seats[(EDR, GROS + "office")]["placeLabel"]


def test_answers_body_life_events(run):
    rows = run("body-life-events")
    assert column(rows, "body") == {EMR}
    became_egtc = [r for r in rows if (r["eventType"] or "").endswith("became-egtc")]
    assert [r["date"] for r in became_egtc] == ["2019-04-01"]
    assert any((r["date"] or "").startswith("1976") for r in rows)  # the working group
    keys = [(r["date"] or "9999")[:10] for r in rows]
    assert keys == sorted(keys)
    eurode = run("body-life-events", body=EURODE)
    public_body = [r for r in eurode if r["date"] == "1998-01-01"]
    assert public_body and iri("agreement/anholt-overeenkomst-1991") in public_body[0]["legalBasisIris"].split()


def test_answers_bodies_by_founding_year(run):
    rows = run("bodies-by-founding-year")
    year = {row["body"]: int(row["year"]) for row in rows}
    assert year[EUREGIO] == 1958  # the first Euregio
    assert year[EDR] == 1977
    assert year[EMR] == 1976  # the working group, not the 2019 EGTC
    assert year[RMN] == 1978  # Grenzregio Rhein-Maas-Nord, 1978-12-13
    assert year[LINIELAND] == 2011
    years = [int(row["year"]) for row in rows]
    assert years == sorted(years)


def test_answers_province_memberships(run):
    rows = run("province-memberships")
    assert EMR in column(rows, "body")
    # Limburg, Gelderland, Overijssel (and later Zuid-Holland): the representation in Düsseldorf, 2016-05-01
    grenspost = [r for r in rows if r["body"] == iri("body/grenspost-dusseldorf")]
    assert [(r["from"], r["current"]) for r in grenspost] == [("2016-05-01", "true")]
    assert column(rows, "province") == {iri("organisation/provincie-limburg-nl")}
    zeeland = column(run("province-memberships", province=iri("organisation/provincie-zeeland")), "body")
    assert {SCHELDEMOND, LINIELAND} <= zeeland
    assert EMR not in zeeland


def test_answers_region_codes(run):
    rows = {row["region"]: row for row in run("region-codes")}
    limburg = rows[iri("region/limburg-nl")]
    assert (limburg["nutsCode"], limburg["iso3166Code"], limburg["wikidata"]) == ("NL42", "NL-LI", WD + "Q1093")
    assert limburg["nutsRegion"] == "http://data.europa.eu/nuts/code/NL42"
    assert limburg["country"] == NL
    nrw = rows[iri("region/nordrhein-westfalen")]
    assert (nrw["nutsCode"], nrw["iso3166Code"], nrw["wikidata"]) == ("DEA", "DE-NW", WD + "Q1198")
    limburg_be = rows[iri("region/limburg-be")]
    assert (limburg_be["nutsCode"], limburg_be["iso3166Code"]) == ("BE22", "BE-VLI")
    # The German-speaking Community: no ISO code; NUTS BE336 is only a coinciding statistical unit.
    community = rows[iri("region/duitstalige-gemeenschap")]
    assert community["iso3166Code"] is None and community["nutsRegion"] is None
    assert community["statisticalUnit"] == "http://data.europa.eu/nuts/code/BE336"
    assert rows[NL]["iso3166Code"] == "NL" and rows[NL]["wikidata"] == WD + "Q55"


def test_answers_regions_within(run):
    parts = column(run("regions-within"), "part")
    assert {iri("region/limburg-nl"), iri("region/zeeland")} <= parts
    assert iri("region/limburg-be") not in parts and NL not in parts
    belgium = column(run("regions-within", region=BE), "part")
    assert {iri("region/limburg-be"), iri("region/vlaams-gewest"), iri("region/liege-provincie")} <= belgium
    assert iri("region/limburg-nl") not in belgium


# --- agreements and acts ----------------------------------------------------------------------------

ANHOLT = iri("agreement/anholt-overeenkomst-1991")
BENELUX_1958 = iri("agreement/benelux-verdrag-1958")
BENELUX_2008 = iri("agreement/benelux-verdrag-2008")
BENELUX_1986 = iri("agreement/benelux-overeenkomst-1986")
BENELUX_2014 = iri("agreement/benelux-verdrag-2014")
MADRID = iri("agreement/kaderovereenkomst-madrid-1980")
EGTC_2006 = iri("agreement/verordening-1082-2006")
EGTC_2013 = iri("agreement/verordening-1302-2013")


def test_answers_agreements_and_forms(run):
    rows = by(run("agreements-and-forms"), "instrument")
    anholt = rows[ANHOLT][0]
    assert (anholt["dateSigned"], anholt["entryIntoForce"]) == ("1991-05-23", "1993-01-01")
    benelux = rows[BENELUX_1986][0]
    assert (benelux["dateSigned"], benelux["entryIntoForce"]) == ("1986-09-12", "1991-04-01")
    egtc = rows[EGTC_2006][0]
    assert (egtc["dateAdopted"], egtc["entryIntoForce"]) == ("2006-07-05", "2006-08-01")
    assert any(re.search("EGT[SC]", label) for label in column(rows[EGTC_2006], "formLabel"))
    # The 1986 convention: openbaar lichaam, administratieve afspraak, gemeenschappelijk orgaan.
    assert len(column(rows[BENELUX_1986], "form")) >= 3
    # The 2014 treaty was signed on 2014-02-20; since data v2 its entry into force is 2018-07-01
    # (a third-party page, marked VERIFIED-3P in the data, consistent with the Belgian approval act).
    if BENELUX_2014 in rows:
        assert column(rows[BENELUX_2014], "dateSigned") == {"2014-02-20"}
        assert column(rows[BENELUX_2014], "entryIntoForce") == {"2018-07-01"}


def test_answers_eu_act_amendments(run):
    rows = run("eu-act-amendments")
    pairs = {(row["act"], row["amended"]) for row in rows}
    assert (EGTC_2013, EGTC_2006) in pairs
    assert (iri("agreement/richtlijn-2013-55"), iri("agreement/richtlijn-2005-36")) in pairs
    egtc = next(row for row in rows if row["act"] == EGTC_2013)
    assert (egtc["actCelex"], egtc["amendedCelex"], egtc["actEntryIntoForce"]) == ("32013R1302", "32006R1082", "2013-12-21")


def test_answers_instrument_relations(run):
    rows = run("instrument-relations")
    assert (EGTC_2013, ELI + "amends", EGTC_2006) in {(r["instrument"], r["relation"], r["other"]) for r in rows}
    # The Madrid protocols hang on the Outline Convention of 1980.
    related_to_madrid = {r["instrument"] for r in rows if r["other"] == MADRID}
    assert iri("agreement/madrid-aanvullend-protocol-1995") in related_to_madrid
    assert all(r["relationLabel"] and "#" not in r["relationLabel"] for r in rows)


def test_answers_instrument_timeline(run):
    rows = run("instrument-timeline")
    triples = {(r["subject"], r["what"], r["date"]) for r in rows}
    assert (BENELUX_2008, ELI + "first_date_entry_in_force", "2012-01-01") in triples
    assert (ANHOLT, GROS + "dateSigned", "1991-05-23") in triples
    assert (EGTC_2006, ELI + "first_date_entry_in_force", "2006-08-01") in triples
    # the life events of the bodies are in it too: Eurode became a public body on 1998-01-01
    assert any(r["subject"] == EURODE and r["date"] == "1998-01-01" for r in rows)
    keys = [r["date"][:10] for r in rows]
    assert keys == sorted(keys)
    first = {r["subject"]: i for i, r in reversed(list(enumerate(rows)))}
    assert first[MADRID] < first[ANHOLT] < first[BENELUX_2008]


def test_answers_treaty_parties(run):
    rows = by(run("treaty-parties"), "treaty")
    assert column(rows[ANHOLT], "party") == {
        iri("organisation/koninkrijk-der-nederlanden"),
        iri("organisation/bondsrepubliek-duitsland"),
        iri("organisation/land-niedersachsen"),
        iri("organisation/land-nordrhein-westfalen"),
    }
    benelux_states = {
        iri("organisation/koninkrijk-belgie"),
        iri("organisation/groothertogdom-luxemburg"),
        iri("organisation/koninkrijk-der-nederlanden"),
    }
    assert benelux_states <= column(rows[BENELUX_1958], "party")
    assert benelux_states <= column(rows[BENELUX_2008], "party")
    assert column(rows[ANHOLT], "dateSigned") == {"1991-05-23"}
    # The place of signature is a region since data v2: Anholt lies in the municipality of Isselburg.
    assert column(rows[ANHOLT], "placeSigned") == {iri("region/isselburg")}
    assert column(rows[ANHOLT], "placeLabel") == {"Isselburg"}


def test_answers_instruments_in_force(run):
    in_2000 = column(run("instruments-in-force"), "instrument")
    assert {ANHOLT, BENELUX_1958, MADRID, BENELUX_1986} <= in_2000
    assert not {BENELUX_2008, EGTC_2006, EGTC_2013, BENELUX_2014} & in_2000
    in_2013 = column(run("instruments-in-force", date="2013-01-01"), "instrument")
    assert {BENELUX_2008, EGTC_2006, ANHOLT} <= in_2013
    assert EGTC_2013 not in in_2013  # in force from 2013-12-21
    assert EGTC_2013 in column(run("instruments-in-force", date="2014-01-01"), "instrument")
    # the day of entry into force counts
    assert BENELUX_2008 in column(run("instruments-in-force", date="2012-01-01"), "instrument")
    assert BENELUX_2008 not in column(run("instruments-in-force", date="2011-12-31"), "instrument")


def test_answers_benelux_themes(run):
    rows = run("benelux-themes")
    assert len(rows) == 3
    assert iri("concept/theme-interne-markt") in column(rows, "theme")
    labels = [row["themeLabel"].lower() for row in rows]
    # The correct split: "duurzaamheid" on its own, and "justitie en binnenlandse zaken" together.
    justice = [label for label in labels if "justitie" in label]
    assert len(justice) == 1 and "binnenlandse" in justice[0]
    assert any("duurza" in label and "justitie" not in label for label in labels)


# --- GROS, government, news, publications ---------------------------------------------------------------


def test_answers_gros_programme(run):
    rows = by(run("gros-programme"), "aspect")
    assert column(rows[GROS + "ledBy"], "item") == {iri("organisation/ministerie-bzk"), iri("organisation/ministerie-bz")}
    assert iri("goal/ontwikkelingsmogelijkheden-grensgebieden") in column(rows[GROS + "hasGoal"], "item")
    assert {iri("motive/regionalisatie"), iri("motive/decentralisatie")} <= column(rows[GROS + "hasMotive"], "item")
    assert {BE, DE} <= column(rows[GROS + "coversBorder"], "item")
    assert "ledBy" not in column(rows[GROS + "ledBy"], "aspectLabel")  # labelled by the ontology


def test_answers_ministries_tooi(run):
    rows = {row["ministry"]: row for row in run("ministries-tooi")}
    tooi = "https://identifier.overheid.nl/tooi/id/ministerie/"
    bzk = rows[iri("organisation/ministerie-bzk")]
    assert (bzk["tooi"], bzk["wikidata"], bzk["abbreviation"]) == (tooi + "mnre1034", WD + "Q2491421", "BZK")
    assert rows[iri("organisation/ministerie-bz")]["tooi"] == tooi + "mnre1013"
    assert rows[iri("organisation/ministerie-ocw")]["tooi"] == tooi + "mnre1109"
    assert rows[iri("organisation/ministerie-ienw")]["tooi"] == tooi + "mnre1130"


NEWS_COMMISSION = iri("news/europese-commissie-geeft-impuls-aan-potentieel-van-grensregios")


def test_answers_news_overview(run):
    rows = {row["news"]: row for row in run("news-overview")}
    assert len(rows) >= 9  # the seed page lists nine news items
    assert iri("agreement/mededeling-com-2017-534") in rows[NEWS_COMMISSION]["aboutIris"].split()
    provinces = [r for r in rows.values() if "Noordrijn-Westfalen" in (r["headline"] or r["newsLabel"])]
    assert [r["published"] for r in provinces] == ["2016-05-09"]
    dates = [r["published"][:10] for r in run("news-overview") if r["published"]]
    assert dates == sorted(dates, reverse=True)


def test_answers_news_by_topic(run):
    rows = run("news-by-topic")  # border regions and border obstacles
    assert column(rows, "topic") == {iri("concept/topic-border-regions")}
    assert {NEWS_COMMISSION, iri("news/commissie-presenteert-resultaten-van-consultatie-gros")} <= column(rows, "news")
    egtc = column(run("news-by-topic", topic=iri("concept/topic-egtc")), "news")
    assert egtc == {iri("news/comite-van-de-regios-nieuw-rapport-over-voortgang-egts")}
    # the Benelux themes are topics too: the retail study is about the internal market
    market = column(run("news-by-topic", topic=iri("concept/theme-interne-markt")), "news")
    assert iri("news/nieuw-onderzoek-toekomst-detailhandel-benelux") in market


def test_answers_news_amounts(run):
    rows = run("news-amounts")
    rail = [r for r in rows if r["currency"] == "EUR" and float(r["value"]) == 58_000_000]
    assert rail, "the 58 million euro of Limburg and I&M for cross-border rail"
    assert "Limburg" in (rail[0]["headline"] or rail[0]["itemLabel"])


def test_answers_publications_about(run):
    rows = {row["publication"]: row for row in run("publications-about")}
    retail = rows[iri("publication/benelux-detailhandel-2025")]
    assert iri("organisation/benelux-secretariaat-generaal") in retail["publisherIris"].split() or "Vlerick" in retail["authors"]
    monitoring = rows[iri("publication/egtc-monitoring-report-2016")]
    assert iri("organisation/comite-van-de-regios") in monitoring["publisherIris"].split()


# --- curation ------------------------------------------------------------------------------------------


def test_answers_organisations_without_wikidata(run):
    rows = column(run("organisations-without-wikidata"), "organisation")
    assert {EURODE, EMR, LINIELAND} <= rows  # no QID was found for any cross-border body
    for linked in ("europese-commissie", "raad-van-europa", "ministerie-bzk", "benelux-unie", "comite-van-de-regios"):
        assert iri("organisation/" + linked) not in rows, linked


def test_answers_sources_per_resource_type(run):
    rows = run("sources-per-resource-type")
    kinds = by(rows, "class")
    assert any((k or "").endswith("seed") for k in column(kinds[GROS + "Programme"], "sourceKind"))
    assert any((k or "").endswith("seed") for k in column(kinds[GROS + "NewsItem"], "sourceKind"))
    assert any((k or "").endswith("official") for k in column(kinds[GROS + "Regulation"], "sourceKind"))
    assert all(int(r["resources"]) >= 1 for r in rows)


def test_answers_missing_translations(run):
    missing = {(row["body"], row["missingLanguage"]) for row in run("missing-translations")}
    # official names exist: Euregio Maas-Rhein / Eurégion Meuse-Rhin; Ems Dollart Region; Euregio Rhein-Waal
    assert (EMR, "de") not in missing and (EMR, "fr") not in missing
    assert (EDR, "de") not in missing and (ERW, "de") not in missing
    # no German name of the Euregio Scheldemond is known
    assert (SCHELDEMOND, "de") in missing
