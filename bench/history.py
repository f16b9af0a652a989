"""The cost of the change log (make bench-history): per write, per feed page, on disk.

In process, on a store of the shipped content (ontology/ + data/ of the checkout), with the same
GraphStore.apply the service uses:
- a write with and without the change log (before_commit + apply + committed) — the same
  1,000 writes (alternately adding and changing a comment on one of 50 resources, in a runtime
  graph) on two fresh stores; the per-write difference is the log's cost;
- the render time of a full feed page (250 members) and of the entry point, in TriG and Turtle,
  and of the catalogue's feed (DCAT-AP Feed: its entry point and first page, which also work out
  which changes are the catalogue's);
- the size of the log on disk for the content, and per 1,000 writes.
Results are printed and written to bench/RESULTS.md under the heading below (replacing that
section, so the file holds the latest run).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from gros.content.files import find_files, read_files  # noqa: E402
from gros.history.catalogue import CatalogueStream  # noqa: E402
from gros.history.keeper import History  # noqa: E402
from gros.history.stream import Stream  # noqa: E402
from gros.http.feed import serialise  # noqa: E402
from gros import formats  # noqa: E402
from gros.settings import Settings  # noqa: E402
from gros.store.embedded import GraphStore  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import report as report_file  # noqa: E402  (bench/report.py: replace_section)

WRITES = 1000
HEADING = "## Change log and feed"  # also replaces a section written with a date in its heading
RESULTS = ROOT / "bench" / "RESULTS.md"
COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")


def prepared(folder: Path, with_history: bool):
    settings = Settings(root=ROOT).with_(store_path=folder / "store")
    store = GraphStore(settings)
    store.sync(read_files(find_files(settings)))
    history = History(settings, store) if with_history else None
    if history:
        history.catch_up()
    return settings, store, history


def writes(settings, store, history) -> list[float]:
    graph = ox.NamedNode(settings.graph_base + "bench-runtime")
    subjects = sorted({q.subject for q in store.store.quads_for_pattern(None, None, None)
                       if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(settings.id_base)},
                      key=lambda n: n.value)[:50]
    last: dict = {}
    times = []
    for i in range(WRITES):
        subject = subjects[i % len(subjects)]
        added = [ox.Quad(subject, COMMENT, ox.Literal(f"bench {i}"), graph)]
        removed = [last[subject]] if subject in last else []
        began = time.perf_counter()
        if history:
            pending = history.before_commit("bench", removed, added, [])
            revision = store.apply(removed, added)
            history.committed(pending, removed, added, revision)
        else:
            store.apply(removed, added)
        times.append((time.perf_counter() - began) * 1000)
        last[subject] = added[0]
    return times


def render(stream: Stream, fn, fmt, rounds: int = 20) -> float:
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        serialise(fn(), fmt)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings, plain_store, _ = prepared(tmp / "plain", False)
        plain = writes(settings, plain_store, None)
        settings, store, history = prepared(tmp / "logged", True)
        content_size = history.log.size()
        content_events = history.log.count()
        logged = writes(settings, store, history)
        size_after = history.log.size()
        stream = Stream(settings.base_iri, history.log)
        page = render(stream, lambda: stream.page_quads(1), formats.TRIG)
        page_ttl = render(stream, lambda: stream.page_quads(1), formats.TURTLE)
        entry = render(stream, stream.entry, formats.TRIG)
        pages = stream.pages()
        # The catalogue's feed: a process's first request reads the whole log for the catalogue's
        # changes (history/catalogue.py), later ones only what came since.
        first_catalogue = render(None, lambda: CatalogueStream(settings.base_iri, history.log).entry(), formats.TRIG,
                                 rounds=1)
        catalogue = CatalogueStream(settings.base_iri, history.log)
        catalogue_page = render(None, lambda: CatalogueStream(settings.base_iri, history.log).page_quads(1),
                                formats.TRIG)
        catalogue_members = catalogue.size()
    p50_plain, p50_logged = statistics.median(plain), statistics.median(logged)
    mean_plain, mean_logged = statistics.mean(plain), statistics.mean(logged)
    lines = [
        "", "## Change log and feed (bench/history.py)", "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
        f"Shipped content: {content_events:,} resources, one Create each; then {WRITES:,} writes of one changed "
        f"comment each (on 50 resources), in process through GraphStore.apply and the same calls to the log "
        f"that the writer process of gros serve makes around each commit.", "",
        "| measure | without the log | with the log | cost of the log |", "|---|---:|---:|---:|",
        f"| write, median ms | {p50_plain:.2f} | {p50_logged:.2f} | {p50_logged - p50_plain:+.2f} ms "
        f"({p50_logged / p50_plain:.2f}×) |",
        f"| write, mean ms | {mean_plain:.2f} | {mean_logged:.2f} | {mean_logged - mean_plain:+.2f} ms |",
        "", "| measure | value |", "|---|---:|",
        f"| feed page of 250 members, TriG, render ms (median of 20) | {page:.1f} |",
        f"| feed page of 250 members, Turtle, render ms | {page_ttl:.1f} |",
        f"| entry point ({pages} pages), TriG, render ms | {entry:.1f} |",
        f"| catalogue's feed ({catalogue_members} members), entry point, first request of a process, ms "
        f"| {first_catalogue:.1f} |",
        f"| catalogue's feed, page 1, TriG, render ms (median of 20) | {catalogue_page:.1f} |",
        f"| log on disk after the content | {content_size / 1e6:.2f} MB |",
        f"| log growth per 1,000 writes | {(size_after - content_size) / 1e6 * 1000 / WRITES:.2f} MB |",
    ]
    text = "\n".join(lines).lstrip("\n") + "\n\n"  # a blank line before the next section
    print(text)
    report_file.replace_section(RESULTS, HEADING, text)
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
