"""What the maps show, as GeoJSON: the cooperation bodies' seats and offices (points) and the
regions they cover (polygons), a page of bodies at a time, or, for one resource, the places it
has.

A region's shape is its own point geometry (geo:hasGeometry/geo:asWKT) or, for a region with
a gros:nutsCode, the NUTS polygon (boundaries.py). A place with neither is listed with
"no geometry known" rather than guessed from a neighbour or a parent region.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from gros.web import boundaries
from gros.web import catalogue
from gros.web.labels import label
from gros.namespaces import GEO, GROS

HAS_GEOMETRY = ox.NamedNode(GEO + "hasGeometry")
AS_WKT = ox.NamedNode(GEO + "asWKT")
NUTS_CODE = ox.NamedNode(GROS + "nutsCode")
SEAT, OFFICE, COVERS = (ox.NamedNode(GROS + n) for n in ("seat", "office", "coversArea"))
#: The links from a resource to the places a small map on its page shows.
PLACE_LINKS = [SEAT, OFFICE, COVERS, ox.NamedNode(GROS + "governs"), ox.NamedNode(GROS + "place")]
ROLES = {SEAT: "seat", OFFICE: "office", COVERS: "area"}
BODY = GROS + "CooperationBody"
#: Geometries a view remembers (the places of a page or two of bodies; NUTS polygons are shared).
SHAPES_REMEMBERED = 5000
_UNKNOWN = object()


def shape(view, node: ox.NamedNode) -> dict | None:
    """The GeoJSON geometry of a region or geometry node: its WKT point/polygon, else its NUTS polygon."""
    cache = view.memo("shapes", SHAPES_REMEMBERED)
    found = cache.get(node, _UNKNOWN)
    if found is not _UNKNOWN:
        return found
    found = None
    for holder in [node, *view.objects(node, HAS_GEOMETRY)]:
        for wkt in view.objects(holder, AS_WKT):
            found = boundaries.wkt_geometry(wkt.value)
            if found:
                break
        if found:
            break
    if found is None:
        for code in view.objects(node, NUTS_CODE):
            found = boundaries.nuts_geometry(code.value)
            if found:
                break
    cache[node] = found
    return found


def point_first(view, node) -> dict | None:
    """For a seat or office: the point if there is one (a city with a NUTS-3 code has both)."""
    for geometry in view.objects(node, HAS_GEOMETRY):
        for wkt in view.objects(geometry, AS_WKT):
            found = boundaries.wkt_geometry(wkt.value)
            if found:
                return found
    return shape(view, node)


def has_place(view, iri: ox.NamedNode) -> bool:
    if shape(view, iri) is not None:
        return True
    return any(shape(view, place) is not None
               for link in PLACE_LINKS for place in view.objects(iri, link) if isinstance(place, ox.NamedNode))


def feature(geometry: dict, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def about(view, iri: ox.NamedNode, lang: str, linker) -> dict:
    """The features of one resource: its own shape, and the places it links to."""
    features = []
    own = shape(view, iri)
    if own:
        features.append(feature(own, kind="self", label=label(view, iri, lang), href=linker.href(iri.value)))
    for link in PLACE_LINKS:
        for place in view.objects(iri, link):
            if not isinstance(place, ox.NamedNode):
                continue
            role = ROLES.get(link, "area")
            geometry = point_first(view, place) if role in ("seat", "office") else shape(view, place)
            if geometry:
                features.append(feature(geometry, kind=role, label=label(view, place, lang),
                                        href=linker.href(place.value)))
    return collection(features)


def collection(features: list[dict]) -> dict:
    # Polygons first, so that points are drawn on top of them.
    features.sort(key=lambda f: f["geometry"]["type"] == "Point")
    return {"type": "FeatureCollection", "features": features, "attribution": boundaries.ATTRIBUTION}


@dataclass
class Place:
    iri: str
    label: str
    href: str | None
    known: bool  # a geometry is known


@dataclass
class BodyPlaces:
    iri: str
    label: str
    href: str | None
    seats: list[Place] = field(default_factory=list)
    offices: list[Place] = field(default_factory=list)
    areas: list[Place] = field(default_factory=list)


@dataclass
class Overview:
    """One page of the map: the GeoJSON and the table of the bodies `offset` to `offset + size`."""
    geojson: dict
    rows: list[BodyPlaces]
    total: int  # cooperation bodies in all
    offset: int
    by_name: bool  # the bodies are in name order (else in the store's order: too many to sort)


def overview(view, lang: str, linker, offset: int = 0) -> Overview:
    """A page of the map: settings.page_items cooperation bodies (by name) with their seats and
    offices (points) and the regions they cover (one polygon per region, naming the bodies of
    this page that cover it), and the same as rows for the page's table. A page at a time, so
    that a map of tens of thousands of bodies neither fills the memory nor the browser."""
    size = view.settings.page_items
    page = catalogue.members(view, BODY, lang, offset, size)
    rows: list[BodyPlaces] = []
    points: list[dict] = []
    areas: dict[ox.NamedNode, list[BodyPlaces]] = {}
    for body in page.resources:
        entry = BodyPlaces(body.value, label(view, body, lang), linker.href(body.value))
        rows.append(entry)
        for role, kind in ROLES.items():
            for place in view.objects(body, role):
                if not isinstance(place, ox.NamedNode):
                    continue
                geometry = point_first(view, place) if kind in ("seat", "office") else shape(view, place)
                item = Place(place.value, label(view, place, lang), linker.href(place.value), geometry is not None)
                {"seat": entry.seats, "office": entry.offices, "area": entry.areas}[kind].append(item)
                if geometry is None:
                    continue
                if kind == "area":
                    areas.setdefault(place, []).append(entry)
                else:
                    points.append(feature(geometry, kind=kind, label=entry.label, href=entry.href,
                                          place=item.label, placeHref=item.href))
    features = []
    for region, covering in areas.items():
        features.append(feature(shape(view, region), kind="area", label=label(view, region, lang),
                                href=linker.href(region.value),
                                bodies=[{"label": b.label, "href": b.href} for b in sorted(covering, key=lambda b: b.label.lower())]))
    rows.sort(key=lambda b: b.label.lower())
    for entry in rows:
        for places in (entry.seats, entry.offices, entry.areas):
            places.sort(key=lambda p: p.label.lower())
    geojson = collection(features + points)
    # GeoJSON allows members of its own: a client can tell that this is one page of the bodies
    geojson["bodies"] = {"total": page.total, "offset": offset, "shown": len(rows)}
    return Overview(geojson, rows, page.total, offset, page.by_name)
