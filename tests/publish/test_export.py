"""Dumps and registry profiles (server/gros/export.py, queries/export/*.rq) over the real content.

Shown, not claimed: every dump parses back to the same graph; the DCAT-AP profile has zero
violations against the official DCAT-AP 3.0.1 and DCAT-AP-NL 3.0 shapes, the CPOV profile against
the CPOV 2.1.2 shapes (tests/external/), the ELI profile against our ELI rules; VoID counts what
the content holds; and each check fails when it should.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, RDF, SKOS

from gros import formats
from gros.publish import export
from gros.settings import Settings
from gros.content.files import to_rdflib

from official_shapes import (CPOV, DCAT_AP, DCAT_AP_NL, DCAT_AP_NL_RECOMMENDED, ELI_PROFILE, EXTERNAL, results,
                             violations)
from invoke import run_gros
from server_fixture import BASE, GRAPH_BASE, auth, update

ROOT = Path(__file__).resolve().parents[2]
DCAT = Namespace("http://www.w3.org/ns/dcat#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
VOID = Namespace("http://rdfs.org/ns/void#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
CPOV_NS = Namespace("http://data.europa.eu/m8g/")
ID = "https://w3id.org/gros/id/"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(root=ROOT)


@pytest.fixture(scope="module")
def files(settings):
    return export.content_files(settings)


@pytest.fixture(scope="module")
def quads(files):
    return export.content_quads(files)


def as_graph(items) -> Graph:
    graph = Graph()
    for item in items:
        t = item.triple if isinstance(item, ox.Quad) else item
        graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))
    return graph


@pytest.fixture(scope="module")
def profile_triples(settings, files) -> dict[str, list[ox.Triple]]:
    return {name: export.export_profile(settings, name, files) for name in export.profile_names(settings)}


@pytest.fixture(scope="module")
def profiles(profile_triples) -> dict[str, Graph]:
    return {name: as_graph(triples) for name, triples in profile_triples.items()}


# --- dumps ----------------------------------------------------------------------------------------

def test_the_profiles_are_the_sparql_files_of_queries_export(settings):
    assert export.profile_names(settings) == ["cpov", "dcat-ap", "eli", "void"]
    for name in export.profile_names(settings):
        assert export.profile_query(settings, name).text.lstrip("# -\n").strip()
        assert "CONSTRUCT" in export.profile_query(settings, name).text


@pytest.mark.parametrize("fmt", export.DUMP_FORMATS, ids=lambda f: f.name)
def test_every_dump_round_trips_to_the_same_graph(quads, fmt):
    data = export.serialize(quads, fmt)
    back = list(ox.parse(data, format=fmt.oxigraph))
    if fmt.name in export.QUAD_FORMATS:  # named graphs kept, quad for quad (blank-node labels too)
        assert set(back) == set(quads)
        assert {q.graph_name for q in back} == {q.graph_name for q in quads}
    else:  # the union of the graphs
        assert isomorphic(as_graph(back), as_graph(quads))
    assert export.serialize(quads, fmt) == data  # reproducible


def test_jsonld_dump_carries_the_published_context(quads):
    document = json.loads(export.serialize(quads, formats.JSONLD))
    published = json.loads(export.CONTEXT_FILE.read_text())  # the file GET /context.jsonld serves
    assert document["@context"] == published["@context"]
    limburg = next(n for n in document["@graph"] if n.get("@id") == ID + "region/limburg-nl")
    assert limburg["label"] == {"nl": "Limburg (Nederland)", "en": "Limburg (Netherlands)"}
    assert limburg["nutsRegion"] == "http://data.europa.eu/nuts/code/NL42"


def test_jsonld_keeps_every_blank_node_and_its_label():
    """rdflib's JSON-LD writer leaves out a blank node met only as the value of a term with
    "@type": "@id" (rdfs:seeAlso in our @context) or only from other blank nodes; the dump must not."""
    rdfs, ex = "http://www.w3.org/2000/01/rdf-schema#", "https://example.org/test/"
    see, comment, first, rest = (ox.NamedNode(rdfs + "seeAlso"), ox.NamedNode(rdfs + "comment"),
                                 ox.NamedNode(str(RDF.first)), ox.NamedNode(str(RDF.rest)))
    s = ox.NamedNode(ex + "s")
    b, c, d, e, head, tail = (ox.BlankNode(label) for label in ("b", "c1", "d-2", "e", "l1", "l2"))
    triples = [ox.Triple(s, see, b), ox.Triple(b, comment, ox.Literal("by @id", language="en")),
               ox.Triple(b, see, c), ox.Triple(c, comment, ox.Literal("from a blank node")),
               ox.Triple(d, see, e), ox.Triple(e, see, d),  # a cycle that no IRI reaches
               ox.Triple(s, ox.NamedNode(ex + "items"), head), ox.Triple(head, first, ox.Literal("one")),
               ox.Triple(head, rest, tail), ox.Triple(tail, first, ox.Literal("two")),
               ox.Triple(tail, rest, ox.NamedNode(str(RDF.nil)))]
    data = export.serialize(triples, formats.JSONLD)
    back = list(ox.parse(data, format=ox.RdfFormat.JSON_LD))
    assert len(back) == len(triples)
    assert isomorphic(as_graph(back), as_graph(triples))
    assert {q.triple for q in back} >= {t for t in triples if not ({t.subject, t.object} & {head, tail})}  # labels kept
    document = json.loads(data)
    assert [n["items"] if "items" in n else n[ex + "items"] for n in document["@graph"] if n["@id"] == ex + "s"] \
        == [{"@list": ["one", "two"]}]  # a list is still written as a list


def test_the_dumps_cover_every_file_as_its_own_graph(files, quads):
    graphs = {q.graph_name.value for q in quads}
    assert graphs == {f.graph for f in files}
    assert "https://w3id.org/gros/graph/catalog" in graphs


# --- DCAT-AP ----------------------------------------------------------------------------------------

def test_dcat_ap_profile_has_no_violation_against_dcat_ap_3(profiles):
    count, report = violations(profiles["dcat-ap"], DCAT_AP)
    assert count == 0, report


def test_dcat_ap_profile_has_no_violation_against_dcat_ap_nl(profiles):
    count, report = violations(profiles["dcat-ap"], DCAT_AP + DCAT_AP_NL)
    assert count == 0, report


DCAT_AP_NL_SHAPE = "http://modellen.geostandaarden.nl/dcat-ap-nl/id/shape/"

#: The recommendations of DCAT-AP-NL the export leaves open, each with the reason the value does not
#: exist. Anything else the recommended shapes report fails the test below.
RECOMMENDATIONS_LEFT_OPEN = {
    # A SPARQL endpoint has no single file to download: the distribution is reached through its
    # access service (dcat:accessURL, dcat:accessService); the dumps are the downloads.
    ("https://w3id.org/gros/dataset/sparql", str(DCAT.downloadURL),
     DCAT_AP_NL_SHAPE + "DistributionShape_downloadURL_aanbevolen_minCount", "Warning"):
        "the SPARQL endpoint distribution has no download URL",
    # Neither has the change feed: an event stream is read page by page from its entry point.
    ("https://w3id.org/gros/dataset/ldes", str(DCAT.downloadURL),
     DCAT_AP_NL_SHAPE + "DistributionShape_downloadURL_aanbevolen_minCount", "Warning"):
        "the change feed distribution has no download URL",
}


def test_dcat_ap_profile_meets_the_dcat_ap_nl_recommendations(profiles):
    """The recommended properties of DCAT-AP-NL (all warnings) are given, except the ones listed
    with their reason; a new warning, or a listed one that went away, fails here."""
    assert set(results(profiles["dcat-ap"], DCAT_AP_NL_RECOMMENDED)) == set(RECOMMENDATIONS_LEFT_OPEN)


def test_dcat_ap_nl_recommendations_can_fail(profiles):
    broken = Graph()
    broken += profiles["dcat-ap"]
    dataset = URIRef("https://w3id.org/gros/dataset")
    broken.remove((dataset, DCAT.landingPage, None))
    broken.remove((URIRef("https://w3id.org/gros/dumps"), DCTERMS.creator, None))
    found = set(results(broken, DCAT_AP_NL_RECOMMENDED)) - set(RECOMMENDATIONS_LEFT_OPEN)
    assert {(focus, shape.rsplit("/", 1)[-1]) for focus, _path, shape, _severity in found} == {
        (str(dataset), "DatasetShape_landingPage_aanbevolen_minCount"),
        ("https://w3id.org/gros/dumps", "DataServiceShape_creator_aanbevolen_minCount"),
    }


def test_every_distribution_is_in_the_languages_of_the_dataset_and_they_are_in_the_data(profiles, quads):
    g = profiles["dcat-ap"]
    dataset = URIRef("https://w3id.org/gros/dataset")
    languages = set(g.objects(dataset, DCTERMS.language))
    assert languages
    for distribution in g.objects(dataset, DCAT.distribution):
        assert set(g.objects(distribution, DCTERMS.language)) == languages, distribution
    # the EU language codes of the dataset name languages its texts are written in
    tags = {q.object.language for q in quads if isinstance(q.object, ox.Literal) and q.object.language}
    eu_to_tag = {"NLD": "nl", "ENG": "en", "DEU": "de", "FRA": "fr"}
    assert {eu_to_tag[str(code).rsplit("/", 1)[-1]] for code in languages} <= tags


def test_every_dump_is_served_by_the_download_service(profiles):
    g = profiles["dcat-ap"]
    downloads = URIRef("https://w3id.org/gros/dumps")
    assert (downloads, RDF.type, DCAT.DataService) in g
    assert (URIRef("https://w3id.org/gros/catalog"), DCAT.service, downloads) in g
    for distribution in g.subjects(DCAT.downloadURL, None):
        assert (distribution, DCAT.accessService, downloads) in g
        assert str(g.value(distribution, DCAT.downloadURL)).startswith(str(downloads) + "/")


def test_dcat_ap_checks_can_fail(profiles):
    """The same check reports a catalogue without publisher and a dataset whose theme is untyped."""
    broken = Graph()
    broken += profiles["dcat-ap"]
    catalog = URIRef("https://w3id.org/gros/catalog")
    broken.remove((catalog, DCTERMS.publisher, None))
    broken.remove((None, RDF.type, SKOS.Concept))
    count, report = violations(broken, DCAT_AP + DCAT_AP_NL)
    assert count >= 3, report
    assert "publisher" in report and "Concept" in report


def test_dcat_ap_profile_describes_dataset_dumps_endpoint_and_publisher(profiles, settings):
    g = profiles["dcat-ap"]
    dataset = URIRef("https://w3id.org/gros/dataset")
    service = URIRef("https://w3id.org/gros/sparql")
    assert (URIRef("https://w3id.org/gros/catalog"), DCAT.dataset, dataset) in g
    downloads = {str(o) for d in g.objects(dataset, DCAT.distribution) for o in g.objects(d, DCAT.downloadURL)}
    assert downloads == {f"https://w3id.org/gros/dumps/{export.dump_name(f)}" for f in export.DUMP_FORMATS}
    assert (service, RDF.type, DCAT.DataService) in g
    assert (service, DCAT.endpointURL, service) in g
    assert (service, DCAT.endpointDescription, service) in g
    bzk = URIRef("https://identifier.overheid.nl/tooi/id/ministerie/mnre1034")
    assert (dataset, DCTERMS.publisher, bzk) in g and (bzk, RDF.type, FOAF.Agent) in g
    assert Literal("Ministerie van Binnenlandse Zaken en Koninkrijksrelaties", lang="nl") in set(g.objects(bzk, FOAF.name))
    spatial = {str(o) for o in g.objects(dataset, DCTERMS.spatial)}
    assert {"http://publications.europa.eu/resource/authority/country/NLD",
            "http://publications.europa.eu/resource/authority/country/BEL",
            "http://publications.europa.eu/resource/authority/country/DEU"} <= spatial
    period = g.value(dataset, DCTERMS.temporal)
    assert str(g.value(period, DCAT.startDate)) <= str(g.value(period, DCAT.endDate))
    assert str(g.value(period, DCAT.startDate)).startswith("1958")  # the Benelux treaty
    assert g.value(None, DCTERMS.source) is None  # dct:source is a dataset in DCAT-AP; ours stay home
    contact = g.value(dataset, DCAT.contactPoint)
    assert "europadecentraal.nl" in str(g.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#hasURL")))


# --- CPOV ---------------------------------------------------------------------------------------------

def test_cpov_profile_has_no_violation_against_cpov_2_1_2(profiles):
    count, report = violations(profiles["cpov"], CPOV)
    assert count == 0, report


def test_cpov_check_fails_the_specifications_own_example():
    example = Graph().parse(EXTERNAL / "cpov" / "example-public-organisation.ttl")
    count, report = violations(example, CPOV)
    assert count > 0, report


def test_cpov_profile_holds_the_public_organisations(profiles):
    g = profiles["cpov"]
    public = set(g.subjects(RDF.type, CPOV_NS.PublicOrganisation))
    for slug in ("organisation/ministerie-bzk", "organisation/provincie-limburg-nl",
                 "organisation/land-nordrhein-westfalen", "body/euregio-maas-rijn"):  # ministry, province, Land, EGTC
        assert URIRef(ID + slug) in public, slug
    assert URIRef(ID + "organisation/benelux-unie") not in public  # international, not CPOV's public sector
    bzk = URIRef(ID + "organisation/ministerie-bzk")
    notations = {str(g.value(i, SKOS.notation)) for i in g.objects(bzk, URIRef("http://www.w3.org/ns/adms#identifier"))}
    assert "mnre1034" in notations
    assert (bzk, DCTERMS.spatial, URIRef(ID + "region/netherlands")) in g
    # Members are public organisations themselves (the CPOV shape requires it).
    for _, member in g.subject_objects(URIRef("http://www.w3.org/ns/org#hasMember")):
        assert (member, RDF.type, CPOV_NS.PublicOrganisation) in g


# --- ELI ------------------------------------------------------------------------------------------------

def test_eli_profile_keeps_the_eli_rules(profiles):
    count, report = violations(profiles["eli"], (str(ELI_PROFILE),))
    assert count == 0, report


def test_eli_profile_links_the_eu_acts_to_their_eli(profiles):
    g = profiles["eli"]
    reg_1082 = URIRef(ID + "agreement/verordening-1082-2006")
    reg_1302 = URIRef(ID + "agreement/verordening-1302-2013")
    assert (reg_1082, SKOS.exactMatch, URIRef("http://data.europa.eu/eli/reg/2006/1082/oj")) in g
    assert (reg_1302, SKOS.exactMatch, URIRef("http://data.europa.eu/eli/reg/2013/1302/oj")) in g
    assert (reg_1302, ELI.amends, reg_1082) in g and (reg_1082, ELI.amended_by, reg_1302) in g
    assert str(g.value(reg_1082, ELI.id_local)) == "32006R1082"
    assert str(g.value(reg_1082, ELI.date_document)) == "2006-07-05"
    titles = {str(g.value(e, ELI.language)).rsplit("/", 1)[1] for e in g.objects(reg_1082, ELI.is_realized_by)}
    assert "ENG" in titles
    # Never an ELI that no source gives: only EU acts have one, and only those two.
    elis = {str(o) for o in g.objects(None, SKOS.exactMatch)}
    assert elis == {"http://data.europa.eu/eli/reg/2006/1082/oj", "http://data.europa.eu/eli/reg/2013/1302/oj"}


def test_eli_rules_can_fail(profiles):
    broken = Graph()
    broken += profiles["eli"]
    act = URIRef(ID + "agreement/verordening-1082-2006")
    broken.add((act, ELI.date_document, Literal("5 July 2006")))
    count, report = violations(broken, (str(ELI_PROFILE),))
    assert count >= 2, report  # a second date, and not an xsd:date


# --- VoID ---------------------------------------------------------------------------------------------

def test_void_counts_what_the_content_holds(profiles, files, quads):
    g = profiles["void"]
    dataset = URIRef("https://w3id.org/gros/dataset")
    assert int(g.value(dataset, VOID.triples)) == len({q.triple for q in quads})
    for content in files:
        graph = URIRef(content.graph)
        assert (dataset, VOID.subset, graph) in g
        assert int(g.value(graph, VOID.triples)) == len(set(content.triples)), content.graph
    countries = [p for p in g.objects(dataset, VOID.classPartition)
                 if g.value(p, VOID["class"]) == URIRef("https://w3id.org/gros/def#Country")]
    assert [int(g.value(p, VOID.entities)) for p in countries] == [4]
    wikidata = URIRef("https://w3id.org/gros/dataset/links-wikidata")
    assert (wikidata, VOID.linkPredicate, SKOS.exactMatch) in g
    assert int(g.value(wikidata, VOID.triples)) == sum(
        1 for q in quads if q.predicate.value == str(SKOS.exactMatch) and "wikidata.org" in str(q.object))


# --- the command ----------------------------------------------------------------------------------------

def run(*args, cwd=ROOT):
    return run_gros(*args, cwd=cwd)


def test_gros_export_writes_nquads_that_keep_the_graphs(tmp_path, quads):
    target = tmp_path / "gros.nq"
    done = run("export", "--format", "nquads", "-o", str(target))
    assert done.returncode == 0, done.stderr.decode()
    assert set(ox.parse(path=str(target), format=ox.RdfFormat.N_QUADS)) == set(quads)


def test_gros_export_profile_to_stdout_and_unknown_profile(profile_triples):
    done = run("export", "--profile", "eli", "--format", "ntriples")
    assert done.returncode == 0, done.stderr.decode()
    assert {q.triple for q in ox.parse(done.stdout, format=ox.RdfFormat.N_TRIPLES)} == set(profile_triples["eli"])
    done = run("export", "--profile", "dcat")
    assert done.returncode == 2
    assert b"dcat-ap" in done.stderr  # names the profiles that exist


def test_gros_export_dir_writes_every_dump_and_profile(tmp_path):
    done = run("export", "--dir", str(tmp_path / "dist"))
    assert done.returncode == 0, done.stderr.decode()
    names = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert names == sorted([export.dump_name(f) for f in export.DUMP_FORMATS]
                           + ["cpov.ttl", "dcat-ap.ttl", "eli.ttl", "void.ttl"])


# --- over HTTP: the same files from the running service ------------------------------------------------

@pytest.fixture(scope="module")
def readonly(readonly_server):
    import httpx

    content = export.content_files(Settings(root=readonly_server.root))
    with httpx.Client(base_url=readonly_server.url, timeout=30) as http:
        yield http, readonly_server.root, content


@pytest.mark.parametrize("fmt", export.DUMP_FORMATS, ids=lambda f: f.name)
def test_the_service_offers_the_same_dumps(readonly, fmt):
    """/dumps/gros.* of a service that no update has touched: byte for byte the gros export file."""
    http, _root, content = readonly
    response = http.get(f"/dumps/{export.dump_name(fmt)}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == fmt.media_type
    assert response.content == export.serialize(export.content_quads(content), fmt)
    cached = http.get(f"/dumps/{export.dump_name(fmt)}", headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304


def test_gzip_dumps_and_the_list(readonly):
    import gzip

    http, _root, content = readonly
    response = http.get("/dumps/gros.nq.gz")
    assert response.status_code == 200 and response.headers["content-type"] == "application/gzip"
    assert gzip.decompress(response.content) == export.serialize(export.content_quads(content), formats.NQUADS)
    listing = http.get("/dumps").json()["dumps"]
    assert {d["file"] for d in listing} >= {"gros.ttl", "gros.jsonld.gz"}
    assert http.get("/dumps/gros.csv").status_code == 404


@pytest.mark.parametrize("name", ["dcat-ap", "cpov", "eli", "void"])
def test_the_service_offers_the_same_profiles(readonly, name):
    http, root, content = readonly
    expected = export.export_profile(Settings(root=root), name, content)
    response = http.get(f"/export/{name}", headers={"Accept": "application/n-triples"})
    assert response.status_code == 200, response.text
    assert set(q.triple for q in ox.parse(response.content, format=ox.RdfFormat.N_TRIPLES)) == set(expected)
    turtle = http.get(f"/export/{name}")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert turtle.content == export.serialize(expected, formats.TURTLE)


def test_profiles_json_ld_and_context_and_unknown_profile(readonly):
    http, _root, _content = readonly
    context = http.get("/context.jsonld")
    assert context.status_code == 200 and context.headers["content-type"].startswith("application/ld+json")
    document = http.get("/export/eli", params={"format": "jsonld"}).json()
    assert document["@context"] == context.json()["@context"]
    missing = http.get("/export/dcat")
    assert missing.status_code == 404 and "dcat-ap" in missing.json()["error"]
    assert {p["name"] for p in http.get("/export").json()["profiles"]} == {"cpov", "dcat-ap", "eli", "void"}


# --- over HTTP: blank nodes that clients wrote, in the dumps and back --------------------------------
# On the shared `server` (it takes updates): the store keeps each blank node as a skolem IRI
# (docs/protocol.md); a dump must give blank nodes again, and loading a dump back must keep the graph.

GENID = BASE + ".well-known/genid/"
BLANK_PREFIXES = {"turtle": "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n",
                  "sparql": "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"}
#: Two `[]` nodes and two labelled ones, one of them shared by two subjects, in a cycle.
BLANK_TRIPLES = """<{subject}> rdfs:seeAlso [ rdfs:comment "first"@en ; rdfs:seeAlso _:b ] , _:c .
_:b rdfs:comment "second"@en ; rdfs:seeAlso _:c , [ rdfs:comment "fourth" ] .
_:c rdfs:comment "third" ; rdfs:seeAlso _:b .
"""


def write_blank_nodes(client, graph: str, how: str) -> Graph:
    """Writes BLANK_TRIPLES into `graph` (Graph Store PUT or INSERT DATA); returns what was written."""
    subject = f"https://example.org/test/dumped-{graph.rsplit('/', 1)[-1]}"  # only this graph has it
    triples = BLANK_TRIPLES.format(subject=subject)
    if how == "put":
        response = client.put("/rdf-graphs", params={"graph": graph}, headers={"Content-Type": "text/turtle", **auth()},
                              content=(BLANK_PREFIXES["turtle"] + triples).encode())
        assert response.status_code == 201, response.text
    else:
        response = update(client, BLANK_PREFIXES["sparql"] + f"INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")
        assert response.status_code == 200, response.text
    written = Graph().parse(data=BLANK_PREFIXES["turtle"] + triples, format="turtle")
    assert len(written) == 10 and len({t for t in written.all_nodes() if isinstance(t, BNode)}) == 4
    return written


def service_dump(client, fmt: formats.Format) -> list[ox.Quad | ox.Triple]:
    response = client.get(f"/dumps/{export.dump_name(fmt)}")
    assert response.status_code == 200, response.text
    return list(ox.parse(response.content, format=fmt.oxigraph))


def in_graph(items, graph: str) -> list[ox.Quad]:
    return [q for q in items if q.graph_name == ox.NamedNode(graph)]


def reachable(items, subject: str) -> list[ox.Triple]:
    """The triples of `subject` and of the blank nodes reachable from it (a dump without named graphs)."""
    triples = {i.triple if isinstance(i, ox.Quad) else i for i in items}
    found, todo, seen = [], [ox.NamedNode(subject)], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in triples:
            if t.subject == node:
                found.append(t)
                if isinstance(t.object, ox.BlankNode):
                    todo.append(t.object)
    return found


def parsed_back(items) -> Graph:
    """The triples as rdflib reads them from N-Triples (as_graph would give "x" the datatype xsd:string,
    which rdflib does not take as equal to the plain literal of a parsed document)."""
    triples = [i.triple if isinstance(i, ox.Quad) else i for i in items]
    return Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode(), format="nt")


def no_skolem_iris(items) -> None:
    for item in items:
        for term in (item.subject, item.object):
            assert not (isinstance(term, ox.NamedNode) and term.value.startswith(GENID)), item


@pytest.mark.parametrize("fmt", export.DUMP_FORMATS, ids=lambda f: f.name)
def test_a_dump_gives_the_blank_nodes_a_client_wrote_as_blank_nodes(client, fresh_graph, fmt):
    written = write_blank_nodes(client, fresh_graph, "put")
    dump = service_dump(client, fmt)
    subject = next(s for s in written.subjects() if isinstance(s, URIRef))
    ours = in_graph(dump, fresh_graph) if fmt.name in export.QUAD_FORMATS else reachable(dump, str(subject))
    assert len(ours) == len(written)
    no_skolem_iris(ours)
    assert len({t for q in ours for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)}) == 4
    assert isomorphic(parsed_back(ours), written)


@pytest.mark.parametrize("how", ["put", "insert-data"])
def test_a_dumped_graph_loaded_back_into_another_graph_is_the_same_graph(client, fresh_graph, how):
    written = write_blank_nodes(client, fresh_graph, how)
    first = in_graph(service_dump(client, formats.NQUADS), fresh_graph)
    assert isomorphic(parsed_back(first), written)

    # Load the dumped graph back, as the dump has it (its blank-node labels too), into another graph.
    copy = f"{GRAPH_BASE}test-{uuid.uuid4().hex}"
    body = ox.serialize([q.triple for q in first], format=ox.RdfFormat.N_TRIPLES)
    response = client.put("/rdf-graphs", params={"graph": copy}, content=body,
                          headers={"Content-Type": "application/n-triples", **auth()})
    assert response.status_code == 201, response.text

    dump = service_dump(client, formats.NQUADS)
    assert set(in_graph(dump, fresh_graph)) == set(first)  # the labels of stored nodes do not change
    second = in_graph(dump, copy)
    no_skolem_iris(second)
    assert isomorphic(parsed_back(second), written)
    # A blank node of a loaded document is a new node: the copy shares none with the original.
    nodes = [{t for q in quads for t in (q.subject, q.object) if isinstance(t, ox.BlankNode)} for quads in (first, second)]
    assert len(nodes[0]) == len(nodes[1]) == 4 and not nodes[0] & nodes[1]
    response = client.get("/rdf-graphs", params={"graph": copy}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and isomorphic(Graph().parse(data=response.text, format="turtle"), written)
