// The maps of the GROS pages: every element `.gros-map[data-src]` becomes a Leaflet map of the
// GeoJSON at data-src (seats and offices as points, covered regions as polygons), drawn over
// the country outlines at data-countries. There is no tile layer: nothing is loaded from
// another server, so the map works offline and under the pages' Content-Security-Policy.
// Popups are built from DOM nodes with textContent, never from HTML strings: names come
// from the data and may hold anything.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import "./map.css";

const STYLE = {
  country: { color: "#7a8794", weight: 1, fillColor: "#f3f1ea", fillOpacity: 1 },
  area: { color: "#1f6f8b", weight: 1.5, fillColor: "#1f6f8b", fillOpacity: 0.12 },
  self: { color: "#b8512b", weight: 2, fillColor: "#b8512b", fillOpacity: 0.15 },
};
const POINT = {
  seat: { radius: 7, color: "#ffffff", weight: 2, fillColor: "#b8512b", fillOpacity: 1 },
  office: { radius: 5, color: "#ffffff", weight: 2, fillColor: "#6b4c9a", fillOpacity: 1 },
  self: { radius: 7, color: "#ffffff", weight: 2, fillColor: "#b8512b", fillOpacity: 1 },
  area: { radius: 5, color: "#ffffff", weight: 2, fillColor: "#1f6f8b", fillOpacity: 1 },
};
const BORDER_REGION = [[49.4, 2.5], [53.7, 8.6]];

function localLink(text, href) {
  // Only links to our own pages (paths starting with "/"): anything else is shown as text.
  if (typeof href === "string" && href.startsWith("/") && !href.startsWith("//")) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

function popup(properties, labels) {
  const box = document.createElement("div");
  box.className = "gros-popup";
  const title = document.createElement("strong");
  title.append(localLink(properties.label || "", properties.href));
  box.append(title);
  if (properties.place) {
    const line = document.createElement("div");
    line.append(`${labels[properties.kind] || properties.kind}: `, localLink(properties.place, properties.placeHref));
    box.append(line);
  }
  if (Array.isArray(properties.bodies) && properties.bodies.length) {
    const caption = document.createElement("div");
    caption.textContent = labels.coveredBy || "";
    const list = document.createElement("ul");
    for (const body of properties.bodies) {
      const item = document.createElement("li");
      item.append(localLink(body.label, body.href));
      list.append(item);
    }
    box.append(caption, list);
  }
  return box;
}

async function json(url) {
  const response = await fetch(url, { headers: { Accept: "application/geo+json, application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function draw(element) {
  const labels = {
    seat: element.dataset.seat, office: element.dataset.office, area: element.dataset.area,
    self: element.dataset.self, coveredBy: element.dataset.coveredBy,
  };
  const map = L.map(element, { zoomSnap: 0.25, scrollWheelZoom: element.classList.contains("large") });
  map.attributionControl.setPrefix("Leaflet");
  if (element.dataset.attribution) map.attributionControl.addAttribution(
    element.dataset.attribution.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]));
  map.fitBounds(BORDER_REGION);

  if (element.dataset.countries) {
    try {
      L.geoJSON(await json(element.dataset.countries), { style: STYLE.country, interactive: false }).addTo(map);
    } catch (error) {
      // Without outlines the points still mean something; the page says whether boundaries are installed.
    }
  }
  const data = await json(element.dataset.src);
  const layer = L.geoJSON(data, {
    // Points get their look from pointToLayer; a style here would paint over it.
    style: (f) => (f.geometry.type === "Point" ? {} : STYLE[f.properties.kind] || STYLE.area),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { ...(POINT[f.properties.kind] || POINT.seat),
      className: `gros-marker gros-${f.properties.kind}` }),
    onEachFeature: (f, shape) => {
      shape.bindPopup(() => popup(f.properties, labels));
      shape.bindTooltip(f.properties.label || "", { direction: "top" });
    },
  }).addTo(map);
  const bounds = layer.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.1), { maxZoom: 9 });
  }
  element.dataset.features = String(data.features.length);
  element.classList.add("gros-map-ready");
}

for (const element of document.querySelectorAll(".gros-map[data-src]")) {
  draw(element).catch((error) => {
    element.classList.add("gros-map-failed");
    element.textContent = element.dataset.failed || String(error);
  });
}
