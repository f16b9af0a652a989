"""The namespaces of the vocabularies the package code refers to, defined once.

Each is an rdflib Namespace, which is a str: `RDFS + "label"`, f"{RDFS}label", `iri.startswith(RDFS)`
work on the IRI as text (for pyoxigraph and SPARQL text), and `RDFS.label` gives an rdflib URIRef.
(rdflib's own RDFS, XSD, ... are closed DefinedNamespace classes, which are not str.)
"""
from rdflib import Namespace

RDF = Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
RDFS = Namespace("http://www.w3.org/2000/01/rdf-schema#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SH = Namespace("http://www.w3.org/ns/shacl#")

GROS = Namespace("https://w3id.org/gros/def#")
GROS_ID = Namespace("https://w3id.org/gros/id/")
GSHAPE = Namespace("https://w3id.org/gros/shape#")
ORG = Namespace("http://www.w3.org/ns/org#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
SPARQL_RESULTS = Namespace("http://www.w3.org/2005/sparql-results#")
ITS = "http://www.w3.org/2005/11/its"  # carries the base direction of a literal in XML results

__all__ = ["GROS", "GROS_ID", "GSHAPE", "ORG", "GEO", "SD", "FORMATS", "SPARQL_RESULTS", "ITS", "DCTERMS", "OWL",
           "RDF", "RDFS", "SH", "SKOS", "XSD"]
