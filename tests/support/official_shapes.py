"""Running shapes over an export: the official ones copied into tests/external/ (see the README
there) and our own for the ELI profile (tests/shapes/eli-profile.ttl)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pyshacl
from rdflib import Graph

HERE = Path(__file__).resolve().parents[1]
EXTERNAL = HERE / "external"

#: DCAT-AP 3.0.1 (the split files that run in pyshacl).
DCAT_AP = ("dcat-ap/shapes.ttl", "dcat-ap/range.ttl", "dcat-ap/deprecateduris.ttl")
#: DCAT-AP-NL 3.0 adds these to DCAT-AP.
DCAT_AP_NL = ("dcat-ap-nl/dcat-ap-nl-SHACL.ttl", "dcat-ap-nl/dcat-ap-nl-SHACL-klassebereik.ttl",
              "dcat-ap-nl/dcat-ap-nl-SHACL-klassebereik-codelijsten.ttl")
#: DCAT-AP-NL 3.0's recommended properties (every shape a sh:Warning).
DCAT_AP_NL_RECOMMENDED = ("dcat-ap-nl/dcat-ap-nl-SHACL-aanbevolen.ttl",)
CPOV = ("cpov/core-public-organisation-ap-SHACL.ttl",)
ELI_PROFILE = HERE / "shapes" / "eli-profile.ttl"


@lru_cache(maxsize=8)
def shapes(files: tuple[str, ...]) -> Graph:
    graph = Graph()
    for name in files:
        path = Path(name) if Path(name).is_absolute() else EXTERNAL / name
        graph.parse(path, format="turtle")
    return graph


def violations(data: Graph, files: tuple[str, ...]) -> tuple[int, str]:
    """(number of sh:Violation results, pyshacl's report text) of `data` against the shapes."""
    _conforms, report, text = pyshacl.validate(data, shacl_graph=shapes(files), inference="none",
                                               advanced=True, allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    count = len(list(report.query(f"SELECT ?r WHERE {{ ?r <{sh}resultSeverity> <{sh}Violation> }}")))
    return count, text


def results(data: Graph, files: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    """Every validation result of `data` against the shapes, of any severity, as sorted
    (focus node, result path, source shape, severity local name) tuples."""
    _conforms, report, _text = pyshacl.validate(data, shacl_graph=shapes(files), inference="none",
                                                advanced=True, allow_warnings=True)
    sh = "http://www.w3.org/ns/shacl#"
    rows = report.query(f"""SELECT ?focus ?path ?shape ?severity WHERE {{
        ?r a <{sh}ValidationResult> ; <{sh}focusNode> ?focus ; <{sh}resultSeverity> ?severity ;
           <{sh}sourceShape> ?shape . OPTIONAL {{ ?r <{sh}resultPath> ?path }} }}""")
    return sorted((str(r.focus), str(r.path or ""), str(r.shape), str(r.severity).rsplit("#", 1)[-1])
                  for r in rows)
