"""Ontology hygiene and the IRI policy (docs/contracts.md "Identifiers", "Labels, languages, provenance")."""
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from gros.settings import Settings
from gros.content.files import find_files, read_files, to_graph
from gros.shacl.validation import declared_terms, undefined_terms, undescribed_resources

ROOT = Path(__file__).resolve().parents[2]
GROS = "https://w3id.org/gros/def#"
ID = "https://w3id.org/gros/id/"
INSTANCE_IRI = re.compile(r"^https://w3id\.org/gros/id/[a-z]+/[a-z0-9]+(-[a-z0-9]+)*(--[a-z0-9]+(-[a-z0-9]+)*)?$")
KINDS = {"region", "organisation", "body", "agreement", "membership", "event", "programme", "goal", "motive",
         "obstacle", "news", "publication", "source", "concept", "scheme", "geometry", "amount"}
MAIN_CLASSES = ["Region", "Country", "FederalState", "Province", "Municipality", "PublicOrganisation",
                "CooperationBody", "CrossBorderBody", "Euregio", "EGTC", "BGTS", "Zweckverband",
                "LegalInstrument", "Treaty", "EUAct", "Regulation", "Membership", "Programme", "NewsItem"]


@pytest.fixture(scope="module")
def files():
    return read_files(find_files(Settings(root=ROOT)))


@pytest.fixture(scope="module")
def ontology(files) -> Graph:
    return to_graph([f for f in files if f.path.name == "gros.ttl"])


@pytest.fixture(scope="module")
def everything(files) -> Graph:
    return to_graph(files)


def _terms(ontology: Graph):
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, RDFS.Datatype)
    return sorted({s for k in kinds for s in ontology.subjects(RDF.type, k) if str(s).startswith(GROS)})


def _by_lang(graph: Graph, subject, predicate) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal):
            out.setdefault(value.language or "", []).append(str(value))
    return out


def test_ontology_header(ontology):
    onto = URIRef("https://w3id.org/gros/def")
    assert (onto, RDF.type, OWL.Ontology) in ontology
    for prop in (OWL.versionIRI, OWL.versionInfo, URIRef("http://purl.org/dc/terms/license"),
                 URIRef("http://purl.org/dc/terms/creator")):
        assert ontology.value(onto, prop) is not None, prop


def test_every_term_has_one_label_and_one_definition_in_nl_and_en(ontology):
    terms = _terms(ontology)
    assert len(terms) > 80
    for term in terms:
        labels = _by_lang(ontology, term, RDFS.label)
        definitions = _by_lang(ontology, term, SKOS.definition)
        for lang in ("nl", "en"):
            assert len(labels.get(lang, [])) == 1, f"{term}: label@{lang} {labels.get(lang)}"
            assert len(definitions.get(lang, [])) == 1, f"{term}: definition@{lang}"
        assert (term, RDFS.isDefinedBy, URIRef("https://w3id.org/gros/def")) in ontology


@pytest.mark.parametrize("name", MAIN_CLASSES)
def test_main_classes_are_labelled_in_german_and_french(ontology, name):
    labels = _by_lang(ontology, URIRef(GROS + name), RDFS.label)
    assert labels.get("de") and labels.get("fr"), name


def test_part_of_is_transitive_and_borders_symmetric(ontology):
    assert (URIRef(GROS + "partOf"), RDF.type, OWL.TransitiveProperty) in ontology
    assert (URIRef(GROS + "borders"), RDF.type, OWL.SymmetricProperty) in ontology


def test_every_gros_term_in_the_modelling_guide_is_defined(ontology):
    guide = (ROOT / "docs" / "modelling.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`gros:([A-Za-z][A-Za-z0-9]*)`", guide))
    defined = {str(t)[len(GROS):] for t in _terms(ontology)}
    assert named - defined == set()


def test_no_term_is_used_but_undefined(files):
    assert undefined_terms(files) == []


def test_no_link_to_an_undescribed_instance(files):
    assert undescribed_resources(files, ID) == []


def test_instance_iris_follow_the_policy(everything):
    subjects = {str(s) for s in everything.subjects() if str(s).startswith(ID)}
    assert len(subjects) > 300
    bad = sorted(s for s in subjects if not INSTANCE_IRI.match(s) or s[len(ID):].split("/")[0] not in KINDS)
    assert bad == []


def test_every_instance_has_a_source_and_labels_in_nl_and_en(everything):
    source = URIRef("http://purl.org/dc/terms/source")
    for subject in {s for s in everything.subjects(RDF.type, None) if str(s).startswith(ID)}:
        kind = str(subject)[len(ID):].split("/")[0]
        labels = _by_lang(everything, subject, RDFS.label)
        assert len(labels.get("nl", [])) == 1 and len(labels.get("en", [])) == 1, subject
        if kind != "source":
            assert everything.value(subject, source) is not None, subject


def test_graph_names_are_unique_file_stems(files):
    stems = [f.path.stem for f in files]
    assert len(stems) == len(set(stems))
    assert all(f.graph == "https://w3id.org/gros/graph/" + f.path.stem for f in files)


def test_reused_terms_are_declared_with_their_vocabulary(files):
    reused = to_graph([f for f in files if f.path.name == "reused-terms.ttl"])
    declared = declared_terms(files)
    for term in reused.subjects(RDFS.isDefinedBy, None):
        assert str(term) in declared, term
