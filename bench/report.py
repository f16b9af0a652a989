"""Writes bench/RESULTS.md from the results of bench/run.py (also: `python bench/report.py results.json`).

The text between `<!-- notes:begin -->` and `<!-- notes:end -->` in an existing RESULTS.md is
kept: that is where people write what the numbers mean.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

SERVERS = ("gros", "oxigraph", "rdflib-endpoint")
#: The `## ` sections this module writes; any other section of RESULTS.md (for example the page
#: render times of bench/pages.py) is kept as it is, after ours.
OWN_SECTIONS = ("## Machine and software", "## Targets", "## shipped data", "## generated graph",
                "## Queries", "## What bounds gros serve")
NOTES_BEGIN, NOTES_END = "<!-- notes:begin -->", "<!-- notes:end -->"
GB = 1024 ** 3
MB = 1024 ** 2


def summarise(cells: list[dict]) -> dict:
    """(server, query, clients) -> req/s over all rounds, mean p50/p99 of the rounds, errors."""
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        groups.setdefault((cell["server"], cell["query"], cell["clients"]), []).append(cell)
    out = {}
    for key, group in groups.items():
        seconds = sum(c["seconds"] for c in group)
        ok = sum(c["ok"] for c in group)
        timed = [c for c in group if c["ok"]]
        out[key] = {
            "rps": ok / seconds if seconds else 0.0,
            "ok": ok,
            "p50": sum(c["p50_ms"] for c in timed) / len(timed) if timed else None,
            "p99": sum(c["p99_ms"] for c in timed) / len(timed) if timed else None,
            "errors": sum(c["errors"] for c in group),
            "rounds": [round(c["rps"], 1) for c in group],
            "server_cores": sum(c.get("server_cores", 0) for c in group) / len(group),
            "machine_cores": sum(c.get("machine_cores", 0) for c in group) / len(group),
            "client_cores": sum(c.get("client_cores", 0) for c in group) / len(group),
            "background_cores": sum(c.get("background_cores", 0) for c in group) / len(group),
            "seconds": seconds,
        }
    return out


def fmt_rps(value: float | None, seconds: float = 0) -> str:
    if value is None:
        return "–"
    if value == 0:
        return f"0 (none in {seconds:.0f} s)"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 1 else f"{value:.2f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–" if not a else "∞ (peer: 0)"
    return f"{a / b:.2f}×" if a / b < 10 else f"{a / b:.0f}×"


def targets(results: dict) -> list[tuple[str, bool | None, str]]:
    rows = []
    checks = {"point": 0.5, "join": 0.9, "aggregate": 0.9}
    for query, needed in checks.items():
        found, met = [], True
        for name, dataset in results["datasets"].items():
            table = summarise(dataset["cells"])
            for clients in results["settings"]["clients"]:
                gros, ox = table.get(("gros", query, clients)), table.get(("oxigraph", query, clients))
                if gros and ox and ox["rps"]:
                    value = gros["rps"] / ox["rps"]
                    met &= value >= needed
                    found.append(f"{name} c{clients}: {value:.2f}")
        rows.append((f"{query} ≥ {needed}× oxigraph serve (req/s)", met if found else None, "; ".join(found)))
    found, met = [], True
    for name, dataset in results["datasets"].items():
        table = summarise(dataset["cells"])
        for (server, query, clients), gros in sorted(table.items()):
            if server != "gros":
                continue
            peer = table.get(("rdflib-endpoint", query, clients))
            if peer is None:
                continue
            value = gros["rps"] / peer["rps"] if peer["rps"] else float("inf")
            met &= value >= 10
            found.append(f"{name} {query} c{clients}: {'∞' if value == float('inf') else f'{value:.1f}'}")
    rows.append(("≥ 10× rdflib-endpoint on all (req/s)", met if found else None, "; ".join(found)))
    found, met = [], True
    for name, dataset in results["datasets"].items():
        cell = summarise(dataset["cells"]).get(("gros", "point", 4))
        if cell and cell["p99"] is not None:
            met &= cell["p99"] < 5
            found.append(f"{name}: {cell['p99']:.2f} ms")
    rows.append(("point lookup p99 < 5 ms at 4 clients", met if found else None, "; ".join(found)))
    synthetic = results["datasets"].get("synthetic")
    if synthetic and "gros" in synthetic.get("servers", {}):
        info = synthetic["servers"]["gros"]
        peak = max(info["peak_load"]["rss"], info["peak_serve"]["rss"])
        rows.append((f"resident memory < 1 GB at {results['settings']['triples']:,} triples", peak < GB,
                     f"peak RSS of the process tree {peak / MB:,.0f} MB (PSS {max(info['peak_load']['pss'], info['peak_serve']['pss']) / MB:,.0f} MB)"))
    else:
        rows.append(("resident memory < 1 GB at 1M triples", None, "not measured in this run"))
    return rows


def replace_section(path: Path, heading: str, section: str) -> None:
    """Put `section` (which starts with the `## ` line `heading`) into the Markdown file at `path`,
    in place of the section under that heading, or at the end when there is none. Used by the
    benchmarks that own one section of RESULTS.md (pages.py, serving.py)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if heading in text:
        head, _, rest = text.partition(heading)
        following = rest.find("\n## ")
        text = head + section + (rest[following + 1:] if following >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def foreign_sections(text: str) -> list[str]:
    """The `## ` sections of an existing RESULTS.md that another script wrote."""
    sections, current = [], None
    for line in text.splitlines():
        if line.startswith("## "):
            current = None if line.startswith(OWN_SECTIONS) else [line]
            if current is not None:
                sections.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(section).rstrip("\n") for section in sections]


def write(results: dict, out: Path) -> None:
    notes = ""
    others: list[str] = []
    if out.exists():
        text = out.read_text()
        if NOTES_BEGIN in text and NOTES_END in text:
            notes = text[text.index(NOTES_BEGIN) + len(NOTES_BEGIN):text.index(NOTES_END)]
        others = foreign_sections(text)
    m, g = results["machine"], results["gros"]
    lines = ["# Benchmark results: gros serve vs oxigraph serve vs rdflib-endpoint", ""]
    lines += [f"Measured {results['date']} by `bench/run.py`{' --quick (smoke run: short cells, one round)' if results.get('quick') else ''}; "
              f"the raw numbers are in `bench/results.json`. How to run and what is measured: `bench/README.md`.", ""]
    lines += ["## Machine and software", "",
              f"- {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB memory, Linux {m['kernel']}, Python {m['python']}",
              f"- gros: gros-kg {g.get('gros-kg')}, pyoxigraph {g.get('pyoxigraph')}, FastAPI {g.get('fastapi')}, "
              f"Starlette {g.get('starlette')}, uvicorn {g.get('uvicorn')} (uvloop {g.get('uvloop') or 'not installed'}, "
              f"httptools {g.get('httptools') or 'not installed'}); `gros serve` with its defaults (2 query workers)",
              f"- peers: oxigraph {m['peers'].get('oxigraph')} (`oxigraph serve`), rdflib-endpoint {m['peers'].get('rdflib-endpoint')} "
              f"(rdflib {m['peers'].get('rdflib')})",
              f"- load: {results.get('client', '?')}; {results['settings']['duration']:g} s per cell, "
              f"{results['settings']['rounds']} round(s), servers interleaved per cell and their order rotated per round; "
              f"loopback only; total wall time {results.get('wall_seconds', 0) / 60:.1f} min",
              "- the client and all three servers share the same cores: at 4 clients the client (wrk) and the server "
              "compete for 2 cores, so absolute numbers are lower than on a bigger machine; the ratios are the point", ""]

    lines += ["## Targets", "", "| target | met | measured (gros / peer) |", "|---|---|---|"]
    for name, met, detail in targets(results):
        lines.append(f"| {name} | {'yes' if met else 'no' if met is not None else 'n/a'} | {detail} |")
    lines.append("")

    for name, dataset in results["datasets"].items():
        table = summarise(dataset["cells"])
        lines += [f"## {dataset['label']}: {dataset.get('triples', 0):,} triples", ""]
        if dataset.get("gros_refused"):
            lines += [f"gros serve refused to start on the shipped content (\"{dataset['gros_refused']}\"), so gros "
                      f"served the same files from a preloaded store (see the loading table below).", ""]
        params = dataset.get("parameters", {})
        lines += [f"Point-lookup subject `<{params.get('subject')}>`; join region `<{params.get('region')}>`.", ""]
        lines += ["| query | clients | gros req/s | p50 ms | p99 ms | oxigraph req/s | p50 ms | p99 ms | "
                  "rdflib-endpoint req/s | p50 ms | p99 ms | gros/oxigraph | gros/rdflib | errors g/o/r |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for query in results["queries"]:
            for clients in results["settings"]["clients"]:
                cells = [table.get((s, query, clients)) for s in SERVERS]
                if not any(cells):
                    continue
                row = [query, str(clients)]
                for cell in cells:
                    row += [fmt_rps(cell["rps"], cell["seconds"]), fmt_ms(cell["p50"]), fmt_ms(cell["p99"])] if cell else ["–"] * 3
                gros, ox, rdf = cells
                row += [ratio(gros and gros["rps"], ox and ox["rps"]), ratio(gros and gros["rps"], rdf and rdf["rps"]),
                        "/".join(str(c["errors"]) if c else "–" for c in cells)]
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
        answers = dataset.get("answers", {})
        if answers:
            lines += ["Result size of each query (rows, or triples for CONSTRUCT) and the first, cold request:", "",
                      "| query | " + " | ".join(SERVERS) + " |", "|---|" + "---|" * len(SERVERS)]
            for query, by_server in answers.items():
                cells = []
                for server in SERVERS:
                    a = by_server.get(server)
                    cells.append("–" if not a else f"{a['rows']} rows, {a['bytes']:,} B, {fmt_ms(a['first_ms'])} ms"
                                 if a["status"] == 200 else f"HTTP {a['status']}")
                lines.append(f"| {query} | " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["Loading and memory (each server's whole process tree; RSS counts shared pages once per process, "
                  "PSS shares them out):", "",
                  "| server | how the data got in | ready after | peak RSS loading | peak RSS serving | PSS serving | processes |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for server in SERVERS:
            info = dataset.get("servers", {}).get(server)
            if info:
                lines.append(f"| {server} | {info['how']} | {info['load_seconds']:.1f} s | "
                             f"{info['peak_load']['rss'] / MB:,.0f} MB | {info['peak_serve']['rss'] / MB:,.0f} MB | "
                             f"{info['peak_serve']['pss'] / MB:,.0f} MB | {info['processes']} |")
        lines.append("")
        if table:
            lines += ["CPU during the cells (cores busy, mean over rounds): the server's process tree, the load "
                      "client, and everything else on the machine (background: other people's jobs on a shared "
                      "machine; it was waited out before each cell when it could be, and its figure here says how "
                      "much noise a cell had).", "",
                      "| query | clients | " + " | ".join(f"{s} server / client / background" for s in SERVERS) + " |",
                      "|---|---:|" + "---:|" * len(SERVERS)]
            for query in results["queries"]:
                for clients in results["settings"]["clients"]:
                    cells = [table.get((s, query, clients)) for s in SERVERS]
                    if any(cells):
                        lines.append(f"| {query} | {clients} | " + " | ".join(
                            f"{c['server_cores']:.2f} / {c['client_cores']:.2f} / {c['background_cores']:.2f}" if c else "–"
                            for c in cells) + " |")
            lines.append("")
        if dataset.get("profile"):
            lines += profile_section(dataset["profile"])

    lines += ["## Queries", ""]
    for key, title in results["queries"].items():
        lines.append(f"- **{key}**: {title}")
    lines.append("")
    first = next(iter(results["datasets"].values()), None)
    if first and first.get("queries"):
        for key, text in first["queries"].items():
            lines += [f"{key} (as sent for {next(iter(results['datasets']))}):", "```sparql", text.strip(), "```"]
        lines.append("")
    lines += ["## What bounds gros serve", "", NOTES_BEGIN + (notes or "\n(not written yet)\n") + NOTES_END, ""]
    for section in others:
        lines += [section, ""]
    out.write_text("\n".join(lines))


def profile_section(profile: dict) -> list[str]:
    when = f" (measured {profile['measured']})" if profile.get("measured") else ""
    lines = [f"### Profile of gros serve, point lookup, {profile['clients']} clients, {profile['seconds']:.0f} s{when}", ""]
    if profile.get("load"):
        load = profile["load"]
        lines.append(f"Load during the profile: {load['rps']:,.0f} req/s, p50 {load['p50_ms']:.2f} ms, "
                     f"p99 {load['p99_ms']:.2f} ms (py-spy sampling slows the server a little).")
        lines.append("")
    if profile.get("cpu"):
        lines += ["CPU per process during the profile (cores busy):", "",
                  "| process | cores |", "|---|---:|"]
        for name, cores in profile["cpu"].items():
            lines.append(f"| {name} | {cores:.0f} |" if name.startswith("worker processes") else f"| {name} | {cores:.2f} |")
        lines.append("")
    for title, key in (("Main process (uvicorn, event loop), samples holding the GIL", "main"),
                       ("Query workers, samples not waiting for a job", "workers")):
        part = profile.get("pyspy", {}).get(key)
        if not part:
            continue
        busy = f" = {part['busy_share']:.0%} of the wall time" if part.get("busy_share") is not None else ""
        threads = ", ".join(f"{name} {share:.0%}" for name, share in part.get("threads", []))
        lines += [f"{title}: {part['samples']:,} samples{busy} (by thread: {threads}). Each sample is counted "
                  f"in the layer of its innermost frame:", "", "| layer | share |", "|---|---:|"]
        for layer, share in part["layers"]:
            lines.append(f"| {layer} | {share:.1%} |")
        lines += ["", "Top functions by own time:", "", "| function | share |", "|---|---:|"]
        for function, share in part["top"]:
            lines.append(f"| `{function}` | {share:.1%} |")
        lines.append("")
    if profile.get("health") or profile.get("point_without_pyspy"):
        lines += ["Without the profiler: the point lookup against `GET /health` (same uvicorn, FastAPI, CORS and "
                  "access-log stack, no query worker, no pyoxigraph):", "",
                  "| request | clients | req/s | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
        for label, key in (("GET /sparql point lookup", "point_without_pyspy"), ("GET /health", "health")):
            for clients, cell in sorted((profile.get(key) or {}).items(), key=lambda kv: int(kv[0])):
                lines.append(f"| {label} | {clients} | {cell['rps']:,.0f} | {cell['p50_ms']:.2f} | {cell['p99_ms']:.2f} |")
        lines.append("")
    if profile.get("roundtrip"):
        rt = profile["roundtrip"]
        lines += ["Per-request cost of the pieces, measured without HTTP (median of "
                  f"{rt['n']} sequential requests, one process):", "",
                  "| piece | µs per request |", "|---|---:|"]
        for piece, micros in rt["pieces"].items():
            lines.append(f"| {piece} | {micros:,.0f} |")
        lines.append("")
        if rt.get("pool"):
            p = rt["pool"]
            lines += ["The worker pool alone, as `gros serve` sets it up (2 workers), with 4 concurrent point lookups "
                      "and no HTTP: "
                      f"{p['jobs_per_s']:,.0f} jobs/s, p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms; CPU per job "
                      f"{p['main_cpu_us_per_job']:,.0f} µs in the calling process (event loop, thread pool, pickling) and "
                      f"{p['worker_cpu_us_per_job']:,.0f} µs in the workers ({p['main_cores']:.2f} + {p['worker_cores']:.2f} cores).", ""]
    if profile.get("error"):
        lines += [f"Profiling was incomplete: {profile['error']}", ""]
    return lines


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results.json"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent / "RESULTS.md"
    write(json.loads(source.read_text()), target)
