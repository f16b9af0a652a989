"""The namespaces of the vocabularies the package code refers to."""
from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SH, SKOS, XSD

GROS = Namespace("https://w3id.org/gros/def#")
GROS_ID = Namespace("https://w3id.org/gros/id/")
GSHAPE = Namespace("https://w3id.org/gros/shape#")
ORG = Namespace("http://www.w3.org/ns/org#")

__all__ = ["GROS", "GROS_ID", "GSHAPE", "ORG", "DCTERMS", "OWL", "RDF", "RDFS", "SH", "SKOS", "XSD"]
