"""Turn commuters-illustrative.csv into RDF that links each row to a GROS region.

    python docs/examples/commuters_to_rdf.py docs/examples/commuters-illustrative.csv > commuters.ttl

THE NUMBERS ARE ILLUSTRATIVE: invented for the guide docs/integrating-your-data.md, not
statistics. The example shows the technique: your rows name regions by their NUTS code, and the
named query region-codes of the GROS graph gives the GROS IRI of each code, so every
observation links to https://w3id.org/gros/id/region/... and joins with our data.
"""
from __future__ import annotations

import csv
import sys

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

import gros

EX = Namespace("https://example.org/commuters/def#")  # your own vocabulary
DATA = "https://example.org/commuters/id/"  # your own resources


def region_iris() -> dict[str, str]:
    """GROS region IRI per NUTS code, from the named query region-codes (no server needed)."""
    return {row["nutsCode"]: row["region"] for row in gros.query("region-codes") if row["nutsCode"]}


def convert(path: str) -> Graph:
    regions = region_iris()
    graph = Graph()
    graph.bind("ex", EX)
    dataset = URIRef(DATA + "dataset")
    graph.add((dataset, RDF.type, EX.Dataset))
    graph.add((dataset, RDFS.label, Literal("Cross-border commuters per province (illustrative)", lang="en")))
    graph.add((dataset, RDFS.comment, Literal(
        "ILLUSTRATIVE: numbers invented for the GROS guide 'Integrating your data'; not statistics.", lang="en")))
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            region = regions.get(row["nuts_code"])
            if region is None:
                sys.exit(f"{path}: no GROS region has the NUTS code {row['nuts_code']!r}")
            observation = URIRef(f"{DATA}observation/{row['nuts_code'].lower()}-{row['year']}")
            graph.add((observation, RDF.type, EX.CommuterCount))
            graph.add((observation, EX.inDataset, dataset))
            graph.add((observation, EX.region, URIRef(region)))
            graph.add((observation, EX.year, Literal(row["year"], datatype=XSD.gYear)))
            graph.add((observation, EX.outgoingCommuters, Literal(int(row["outgoing_commuters"]))))
            graph.add((observation, RDFS.comment, Literal(row["status"], lang="en")))
    return graph


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python commuters_to_rdf.py FILE.csv > FILE.ttl")
    sys.stdout.write(convert(sys.argv[1]).serialize(format="turtle"))
