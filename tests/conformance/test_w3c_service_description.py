"""The W3C SPARQL 1.1 Service Description tests (tests/w3c/service-description/manifest.ttl) against
`gros serve`.

The manifest names three tests and describes them in words only (mf:name); there is one test
per manifest entry, and an entry without an implementation in IMPLEMENTATIONS fails:

- returns-rdf: a GET on the endpoint without a query returns RDF;
- has-endpoint-triple: that RDF has an `sd:endpoint` triple whose object is the URL the GET was sent to;
- conforms-to-schema: the description uses the SPARQL 1.1 Service Description vocabulary as
  its Recommendation defines it (§3: classes, properties with their domains and ranges, the
  instances it defines). The vocabulary's declarations are written out below (SD_PROPERTIES …),
  since the RDFS document at http://www.w3.org/ns/sparql-service-description is not fetched.
"""
from __future__ import annotations

import warnings

import pytest
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef

from w3c_manifest import load, media_type, store_left_as_found  # noqa: F401 (autouse fixture)

ENTRIES = load("service-description")
SUITE_SIZE = 3

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = "http://www.w3.org/ns/formats/"

#: The RDF media types a client may ask for, and rdflib's parser for each.
RDF_TYPES = {"text/turtle": "turtle", "application/rdf+xml": "xml", "application/n-triples": "nt",
             "application/ld+json": "json-ld", "application/trig": "trig", "application/n-quads": "nquads"}

# --- the SPARQL 1.1 Service Description vocabulary (W3C Recommendation 21 March 2013, §3) ---------

SD_CLASSES = {"Service", "Feature", "Language", "Function", "Aggregate", "EntailmentRegime",
              "EntailmentProfile", "GraphCollection", "Dataset", "Graph", "NamedGraph"}
#: rdfs:subClassOf within the vocabulary.
SUBCLASS = {"Language": "Feature", "Function": "Feature", "Aggregate": "Feature",
            "EntailmentRegime": "Feature", "EntailmentProfile": "Feature", "Dataset": "GraphCollection"}
#: The instances the vocabulary defines, with their class. The feature about dereferencing is
#: sd:DereferencesURIs in the vocabulary document and sd:DereferencesIRIs in some copies: both count.
SD_INSTANCES = {"SPARQL10Query": "Language", "SPARQL11Query": "Language", "SPARQL11Update": "Language",
                "DereferencesURIs": "Feature", "DereferencesIRIs": "Feature", "UnionDefaultGraph": "Feature",
                "RequiresDataset": "Feature", "EmptyGraphs": "Feature", "BasicFederatedQuery": "Feature"}
#: property -> (domain, range); a range of "IRI" means the object is an IRI (the spec says so in words),
#: None means the vocabulary leaves it open (any resource).
SD_PROPERTIES = {
    "endpoint": ("Service", "IRI"),
    "feature": ("Service", "Feature"),
    "defaultEntailmentRegime": ("Service", "EntailmentRegime"),
    "defaultSupportedEntailmentProfile": ("Service", "EntailmentProfile"),
    "extensionFunction": ("Service", "Function"),
    "extensionAggregate": ("Service", "Aggregate"),
    "languageExtension": ("Service", "Feature"),
    "supportedLanguage": ("Service", "Language"),
    "propertyFeature": ("Service", "Feature"),
    "defaultDataset": ("Service", "Dataset"),
    "availableGraphs": ("Service", "GraphCollection"),
    "resultFormat": ("Service", None),
    "inputFormat": ("Service", None),
    "defaultGraph": ("Dataset", "Graph"),
    "namedGraph": ("GraphCollection", "NamedGraph"),
    "name": ("NamedGraph", "IRI"),
    "graph": ("NamedGraph", "Graph"),
    "entailmentRegime": ("NamedGraph", "EntailmentRegime"),
    "supportedEntailmentProfile": ("NamedGraph", "EntailmentProfile"),
}
#: The file format IRIs of http://www.w3.org/ns/formats/ (W3C "Unique URIs for File Formats").
FORMAT_NAMES = {"JSON-LD", "N3", "N-Triples", "N-Quads", "LD_Patch", "microdata", "OWL_XML", "OWL_Functional",
                "OWL_Manchester", "POWDER", "POWDER-S", "PROV-N", "PROV-XML", "RDFa", "RDF_JSON", "RDF_XML",
                "RIF_XML", "SPARQL_Results_XML", "SPARQL_Results_JSON", "SPARQL_Results_CSV",
                "SPARQL_Results_TSV", "Turtle", "TriG"}


def superclasses(name: str) -> set[str]:
    out = {name}
    while name in SUBCLASS:
        name = SUBCLASS[name]
        out.add(name)
    return out


def sd_types(graph: Graph, node) -> set[str]:
    """The SD classes `node` belongs to: stated types, the class of a defined instance, and their superclasses."""
    names = {str(t)[len(SD):] for t in graph.objects(node, RDF.type) if str(t).startswith(str(SD))}
    if isinstance(node, URIRef) and str(node).startswith(str(SD)) and str(node)[len(SD):] in SD_INSTANCES:
        names.add(SD_INSTANCES[str(node)[len(SD):]])
    return set().union(*(superclasses(n) for n in names)) if names else set()


def schema_problems(graph: Graph) -> list[str]:
    """What in the description does not agree with the SD vocabulary (empty when it conforms)."""
    problems = []
    for s, p, o in graph:
        for term in (p, o) + ((s,) if isinstance(s, URIRef) else ()):
            if isinstance(term, URIRef) and str(term).startswith(str(SD)):
                local = str(term)[len(SD):]
                if local not in SD_CLASSES | set(SD_INSTANCES) | set(SD_PROPERTIES):
                    problems.append(f"sd:{local} is not a term of the Service Description vocabulary ({s} {p} {o})")
        if p == RDF.type and isinstance(o, URIRef) and str(o).startswith(str(SD)) \
                and str(o)[len(SD):] not in SD_CLASSES:
            problems.append(f"{s} is typed sd:{str(o)[len(SD):]}, which is not a class")
        if not str(p).startswith(str(SD)) or str(p)[len(SD):] not in SD_PROPERTIES:
            continue
        prop = str(p)[len(SD):]
        domain, range_ = SD_PROPERTIES[prop]
        subject_types = sd_types(graph, s)
        if subject_types and domain not in subject_types:
            problems.append(f"the subject of sd:{prop} must be an sd:{domain}; {s} is {sorted(subject_types)}")
        if isinstance(o, Literal):
            problems.append(f"sd:{prop} must point to a resource, not the literal {o!r}")
            continue
        if range_ == "IRI":
            if not isinstance(o, URIRef):
                problems.append(f"the object of sd:{prop} must be an IRI; {s} has a blank node")
            continue
        if range_ is not None:
            object_types = sd_types(graph, o)
            if object_types and range_ not in object_types:
                problems.append(f"the object of sd:{prop} must be an sd:{range_}; {o} is {sorted(object_types)}")
        if prop in ("resultFormat", "inputFormat") and str(o).startswith(FORMATS) \
                and str(o)[len(FORMATS):] not in FORMAT_NAMES:
            problems.append(f"sd:{prop} {o} is not one of the W3C format IRIs")
    for named in set(graph.objects(None, SD.namedGraph)) | set(graph.subjects(RDF.type, SD.NamedGraph)):
        names = list(graph.objects(named, SD.name))
        if len(names) != 1:
            problems.append(f"a named graph description must have exactly one sd:name; {named} has {len(names)}")
    for dataset in graph.objects(None, SD.defaultDataset):
        if len(list(graph.objects(dataset, SD.defaultGraph))) > 1:
            problems.append(f"the dataset {dataset} has more than one sd:defaultGraph")
    return problems


# --- implementations, one per manifest entry --------------------------------------------------------

def fetch(client, server, accept: str | None = None) -> tuple[Graph, str]:
    """GET the endpoint without a query; the parsed RDF and its media type."""
    headers = {"Accept": accept} if accept else {}
    response = client.get(server.sparql, headers=headers)
    assert response.status_code == 200, response.text
    kind = media_type(response.headers.get("content-type"))[0]
    assert kind in RDF_TYPES, f"GET {server.sparql} (Accept: {accept}) answered {kind!r}, not RDF"
    with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = Graph().parse(data=response.text, format=RDF_TYPES[kind], publicID=server.sparql)
    return graph, kind


def returns_rdf(client, server):
    """A GET without Accept (httpx sends */*) returns RDF; so does one that asks for each RDF format
    a generic client may ask for (Turtle, RDF/XML, N-Triples, JSON-LD)."""
    graph, _ = fetch(client, server)
    assert len(graph) > 0
    for accept in ("text/turtle", "application/rdf+xml", "application/n-triples", "application/ld+json"):
        graph, kind = fetch(client, server, accept)
        assert kind == accept and len(graph) > 0, (accept, kind)


def has_endpoint_triple(client, server):
    """Some sd:Service in the description has sd:endpoint <the URL the GET was sent to>."""
    graph, _ = fetch(client, server)
    endpoint = URIRef(server.sparql)
    services = set(graph.subjects(SD.endpoint, endpoint))
    assert services, f"no sd:endpoint <{endpoint}>; the description has {list(graph.objects(None, SD.endpoint))}"
    assert any((s, RDF.type, SD.Service) in graph for s in services), "the subject of sd:endpoint is not an sd:Service"


def conforms_to_schema(client, server):
    """The description uses the SD vocabulary as §3 of the Recommendation defines it: only its terms,
    domains and ranges respected, sd:endpoint and sd:name IRIs, one sd:name per named graph."""
    graph, _ = fetch(client, server)
    assert set(graph.subjects(RDF.type, SD.Service)), "no sd:Service in the description"
    problems = schema_problems(graph)
    assert not problems, "\n".join(problems)


IMPLEMENTATIONS = {
    "returns-rdf": returns_rdf,
    "has-endpoint-triple": has_endpoint_triple,
    "conforms-to-schema": conforms_to_schema,
}


def test_manifest_is_the_one_described():
    assert len(ENTRIES) == SUITE_SIZE, [e.name for e in ENTRIES]
    assert not set(IMPLEMENTATIONS) - {e.name for e in ENTRIES}, "implementations of tests the manifest does not have"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_w3c_service_description(client, server, entry):
    implementation = IMPLEMENTATIONS.get(entry.name)
    if implementation is None:
        pytest.fail(f"manifest entry {entry.name} ({entry.label!r}) has no implementation in IMPLEMENTATIONS")
    implementation(client, server)


def test_schema_check_finds_what_does_not_conform():
    """The conformance check itself: a description with typical mistakes is caught."""
    bad = Graph()
    service, dataset, named = URIRef("http://example.org/sparql"), BNode(), BNode()
    bad.add((service, RDF.type, SD.Service))
    bad.add((service, SD.endpoint, Literal("http://example.org/sparql")))  # literal, not an IRI
    bad.add((service, SD.supportedLanguage, SD.SPARQL11Querry))  # not a term
    bad.add((service, SD.feature, SD.SPARQL11Query))  # a Language is a Feature: fine
    bad.add((service, SD.defaultDataset, dataset))
    bad.add((dataset, RDF.type, SD.NamedGraph))  # a dataset typed as a named graph
    bad.add((dataset, SD.namedGraph, named))
    bad.add((named, RDF.type, SD.NamedGraph))  # no sd:name
    bad.add((service, SD.resultFormat, URIRef(FORMATS + "SPARQL_Results_JSONX")))
    problems = "\n".join(schema_problems(bad))
    for expected in ("sd:endpoint must point to a resource", "sd:SPARQL11Querry is not a term",
                     "the object of sd:defaultDataset must be an sd:Dataset", "exactly one sd:name",
                     "SPARQL_Results_JSONX is not one of the W3C format IRIs"):
        assert expected in problems, problems
    assert "sd:feature" not in problems, problems
