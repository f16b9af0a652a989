"""`gros load --bulk`: files of millions of triples into one named graph of the on-disk store,
checked as far as is affordable at that size, and written whole or not at all.

The small path (loading.py) holds the files in memory and runs pyshacl over the whole content
plus the files: right for a survey, hopeless for 10 million triples (176 s per 100,000). Here:

1. Staging. The store is copied as a RocksDB checkpoint (hard links, so cheap at any size) into
   a folder beside it, and everything happens in the copy. The original stays open, holding
   its lock, so no other gros or oxigraph process can write it meanwhile. Only when every
   check has passed is the copy renamed into place; until then the store is untouched, and a
   refused or interrupted load leaves it exactly as it was.
2. Parsing with Oxigraph's bulk loader straight into the target graph of the copy (N-Triples
   without blank nodes), or streamed through Oxigraph's parser with blank nodes replaced by
   skolem IRIs, as everywhere in our store (other formats). Parse errors name file, line and
   column, as in the small path.
3. The checks that stay cheap at any size, as SPARQL over the copy: terms in our namespace
   (gros:) exist in the ontology; links to our instance IRIs point at something described.
4. The shapes, per policy (`--shapes`): *all* validates every resource of the graph, in
   batches of focus nodes, each batch with its neighbourhood (below), in a bounded number of
   worker processes; *sample:N* validates N resources drawn with a fixed seed; *none* skips
   SHACL for trusted data. What was and was not checked is printed and recorded in the store's
   bookkeeping graph next to the graph's name. How a batch is validated: batch_shapes.py.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyoxigraph as ox

from gros.shacl import batch as batch_shapes
from gros.shacl import validation
from gros.ingest.loading import LoadOutcome, LoadRefused, check_graph_name, prepare_content
from gros.progress import Progress
from gros.settings import Settings
from gros.content.files import FORMATS, ContentFile, SourceError, _positioned
from gros.content.skolem import Skolemizer
from gros.store.embedded import GraphStore, StoreError, books_path, open_store
from gros.namespaces import GROS, XSD

#: From this total file size on, `gros load` takes the bulk path by itself (the small path's
#: pyshacl run over everything takes minutes from about 20,000 triples, some 4 MB of N-Triples).
BULK_THRESHOLD = 4 * 1024 * 1024
#: From this size on an N-Triples file is cut in pieces that load in parallel.
PARALLEL_FROM = 32 * 1024 * 1024
SAMPLE_SEED = 20240601

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
# Bookkeeping about a bulk-loaded graph, in the meta graph next to the store's own.
LOADED_AT = ox.NamedNode(GROS + "bulkLoadedAt")
LOADED_FROM = ox.NamedNode(GROS + "bulkLoadedFrom")
TRIPLE_COUNT = ox.NamedNode(GROS + "bulkTripleCount")
SHAPES_CHECKED = ox.NamedNode(GROS + "bulkShapesChecked")
CHECKS = ox.NamedNode(GROS + "bulkChecks")
BOOKKEEPING = (LOADED_AT, LOADED_FROM, TRIPLE_COUNT, SHAPES_CHECKED, CHECKS)


# --- what to check -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShapesPolicy:
    """--shapes all | sample:N | none."""
    mode: str = "all"
    sample: int = 0

    @classmethod
    def parse(cls, text: str) -> "ShapesPolicy":
        text = text.strip().lower()
        if text in ("all", "none"):
            return cls(text)
        match = re.fullmatch(r"sample:(\d+)", text)
        if match and int(match.group(1)) > 0:
            return cls("sample", int(match.group(1)))
        raise ValueError(f"--shapes {text!r}: expected all, none or sample:N (N > 0)")

    def __str__(self) -> str:
        return f"sample:{self.sample}" if self.mode == "sample" else self.mode


@dataclass
class BulkOutcome(LoadOutcome):
    checked: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    shapes: str = "all"


# --- reading files -------------------------------------------------------------------------------

class CountingReader:
    """A binary file (or the bytes `start`..`end` of one) for Oxigraph to read from, counting
    bytes and lines as it goes, so that the progress line can say how far the parser is
    (N-Triples and N-Quads: one triple a line)."""

    def __init__(self, path: Path, on_read: Callable[[int, int], None], start: int = 0, end: int | None = None):
        self.file = path.open("rb")
        self.file.seek(start)
        self.left = (path.stat().st_size if end is None else end) - start
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(min(size if size and size > 0 else 1 << 20, self.left))
        self.left -= len(data)
        self.on_read(len(data), data.count(b"\n"))
        return data

    def close(self) -> None:
        self.file.close()


def line_starts(path: Path, parts: int) -> list[int]:
    """Byte offsets cutting a line-based file into about `parts` equal pieces, each at a line start."""
    size = path.stat().st_size
    bounds = [0]
    with path.open("rb") as data:
        for part in range(1, parts):
            data.seek(size * part // parts)
            data.readline()
            if bounds[-1] < data.tell() < size:
                bounds.append(data.tell())
    return bounds + [size]


def lines_before(path: Path, offset: int) -> int:
    with path.open("rb") as data:
        count = 0
        while offset > 0:
            chunk = data.read(min(offset, 16 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def has_blank_nodes(path: Path) -> bool:
    """Whether an N-Triples file may hold a blank node: "_:" anywhere (also inside a literal,
    which only costs the slower path). A byte scan, far quicker than parsing."""
    with path.open("rb") as data:
        tail = b""
        while chunk := data.read(16 << 20):
            if b"_:" in tail + chunk[:1] or b"_:" in chunk:
                return True
            tail = chunk[-1:]
    return False


class Loader:
    """Parses the files into `graph` of `store`, reporting progress over all files' bytes."""

    def __init__(self, settings: Settings, store: ox.Store, graph: ox.NamedNode, paths: list[Path],
                 progress: Progress):
        self.settings = settings
        self.store = store
        self.graph = graph
        self.paths = paths
        self.progress = progress
        self.total_bytes = sum(p.stat().st_size for p in paths) or 1
        self.bytes = 0
        self.lines = 0  # N-Triples / N-Quads lines read, or quads parsed in other formats
        self.count_lines = True
        # Oxigraph's bulk loader releases the GIL while it parses and sorts, so pieces of one
        # N-Triples file, cut at line starts, load side by side (as `oxigraph load` does).
        self.threads = max(1, min(4, os.cpu_count() or 1))

    def _read(self, size: int, lines: int) -> None:
        self.bytes += size
        if self.count_lines:
            self.lines += lines
        self.progress.update(self.lines, self.bytes / self.total_bytes)

    def load(self) -> None:
        try:
            for path in self.paths:
                self._load_file(path)
        finally:
            # The caller alone keeps the store open, and closes it before removing its folder; a
            # parse error's traceback keeps this loader alive, so it must not hold the store.
            self.store = None

    def _load_file(self, path: Path) -> None:
        fmt = FORMATS[path.suffix.lower()]
        reader = CountingReader(path, self._read)
        try:
            if fmt == ox.RdfFormat.N_TRIPLES and not has_blank_nodes(path):
                self.count_lines = True
                self._parallel(path, fmt)
            else:
                self.count_lines = fmt in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.N_QUADS)
                self.store.bulk_extend(self._stream(reader, fmt, path))
        except SyntaxError as err:
            raise _positioned(path, err) from None
        except (OSError, ValueError) as err:
            raise SourceError(path, str(err)) from None
        finally:
            reader.close()

    def _parallel(self, path: Path, fmt) -> None:
        """Bulk-load the pieces of a line-based file in threads; a parse error is reported with
        its line in the whole file."""
        pieces = line_starts(path, self.threads if path.stat().st_size >= PARALLEL_FROM else 1)
        failures: list[tuple[int, Exception]] = []

        def load(index: int) -> None:
            piece = CountingReader(path, self._read, pieces[index], pieces[index + 1])
            try:
                self.store.bulk_load(input=piece, format=fmt, to_graph=self.graph)
            except (SyntaxError, OSError, ValueError) as err:
                failures.append((index, err))
            finally:
                piece.close()

        workers = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(len(pieces) - 1)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if failures:
            index, err = min(failures, key=lambda failure: failure[0])
            if isinstance(err, SyntaxError):
                located = _positioned(path, err)
                if located.line is not None and index:
                    located.line += lines_before(path, pieces[index])
                raise located
            raise err

    def _stream(self, reader: CountingReader, fmt, path: Path) -> Iterator[ox.Quad]:
        """Every statement of the file into the target graph (the small path does the same with
        the graphs of TriG and N-Quads files), blank nodes as skolem IRIs, as the store holds them."""
        skolem = Skolemizer(self.settings, prefix=f"bulk-{uuid.uuid4().hex[:12]}")
        graph = self.graph
        for number, quad in enumerate(ox.parse(input=reader, format=fmt), 1):
            yield ox.Quad(skolem.term(quad.subject), quad.predicate, skolem.term(quad.object), graph)
            if not self.count_lines and not number % 10_000:
                self.lines += 10_000
                self.progress.update(self.lines, self.bytes / self.total_bytes)


# --- cheap checks, as SPARQL over the staged store -------------------------------------------------

def _values(store: ox.Store, query: str) -> list:
    return [row[0] for row in store.query(query, use_default_graph_as_union=True)]


def count_triples(store: ox.Store, graph: str) -> int:
    rows = _values(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(rows[0].value)


def graph_predicates(store: ox.Store, graph: str) -> list[ox.NamedNode]:
    """The distinct predicates of the graph (one pass over it: 3.4 s at 10M triples, so the
    caller asks once and hands them to both checks)."""
    return _values(store, f"SELECT DISTINCT ?p WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def undefined_terms(store: ox.Store, graph: str, content: list[ContentFile], where: list[str],
                    predicates: list[ox.NamedNode]) -> list[validation.Result]:
    """Our-namespace predicates and classes of the graph that the ontology does not define.
    The distinct terms go through validation.undefined_terms, so the verdict and the messages
    are those of the small path and of `gros validate`."""
    classes = _values(store, f"SELECT DISTINCT ?c WHERE {{ GRAPH <{graph}> {{ ?s a ?c }} }} ")
    anchor = ox.NamedNode("urn:x-gros:bulk-probe")
    probe = ContentFile(Path(where[0]), "research", "")
    probe.triples = [ox.Triple(anchor, p, anchor) for p in predicates]
    probe.triples += [ox.Triple(anchor, RDF_TYPE, c) for c in classes if isinstance(c, ox.NamedNode)]
    results = [r for r in validation.undefined_terms([*content, probe]) if where[0] in r.files]
    for result in results:
        result.files = where
    return results


def undescribed_links(store: ox.Store, graph: str, id_base: str, where: list[str],
                      predicates: list[ox.NamedNode]) -> list[validation.Result]:
    """Objects of the graph under our instance namespace that nothing in the store describes.
    MINUS, not FILTER NOT EXISTS: Oxigraph runs the former as one pass over the subjects and
    the latter as a look-up per object (94 s against 61 s at 10M triples). What costs most is
    isIRI(?o): Oxigraph decodes every object to test it (41 of those 61 s). So the graph's
    predicates are split into groups of about as many triples each, one per core, whose
    queries run side by side (pyoxigraph lets go of the GIL while it evaluates): 36 s at 10M
    on two cores. The namespace is tested on the few IRIs left, not with STR() on every triple."""
    groups = predicate_groups(store, graph, predicates, min(4, os.cpu_count() or 1))

    def undescribed(group: list[ox.NamedNode]) -> list[ox.NamedNode]:
        predicates = " ".join(f"<{p.value}>" for p in group)
        return _values(store, f"""
            SELECT ?o WHERE {{
                {{ SELECT DISTINCT ?o WHERE {{ VALUES ?p {{ {predicates} }} GRAPH <{graph}> {{ ?s ?p ?o }}
                                              FILTER(isIRI(?o)) }} }}
                MINUS {{ ?o ?q ?v }}
            }}""")

    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        iris = {iri for found in pool.map(undescribed, groups) for iri in found}
    missing = sorted((iri for iri in iris if iri.value.startswith(id_base)), key=lambda iri: iri.value)
    anchor = ox.NamedNode("urn:x-gros:bulk-probe")
    probe = ContentFile(Path(where[0]), "research", "")
    probe.triples = [ox.Triple(anchor, anchor, iri) for iri in missing]
    results = validation.undescribed_resources([probe], id_base)
    for result in results:
        result.files = where
    return results


def predicate_groups(store: ox.Store, graph: str, predicates: list[ox.NamedNode], count: int
                     ) -> list[list[ox.NamedNode]]:
    """The graph's `predicates` in at most `count` groups of about as many triples each (largest
    first, each into the smallest group so far)."""
    sizes = {p: int(_values(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s <{p.value}> ?o }} }}")[0].value)
             for p in predicates}
    groups: list[list[ox.NamedNode]] = [[] for _ in range(min(count, len(predicates)))]
    totals = [0] * len(groups)
    for predicate in sorted(predicates, key=lambda p: (-sizes[p], p.value)):
        smallest = totals.index(min(totals))
        groups[smallest].append(predicate)
        totals[smallest] += sizes[predicate]
    return groups


# --- which resources the shapes are run on -------------------------------------------------------

def resources(store: ox.Store, graph: str) -> list[str]:
    """The IRI subjects of the graph, sorted (so that a batch holds related resources)."""
    return [node.value for node in _values(store, f"""
        SELECT DISTINCT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} FILTER(isIRI(?s)) }} ORDER BY ?s""")]


# --- the whole load -------------------------------------------------------------------------------

def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def bulk_load_research_data(settings: Settings, graph: str, paths: list[Path], shapes: ShapesPolicy = ShapesPolicy(),
                            workers: int | None = None, progress: bool | None = None,
                            stream=None) -> BulkOutcome:
    """Check the files, then replace the named graph `graph` of the store with their content, as
    loading.load_research_data does, for files of any size (see the module's docstring)."""
    from gros.content.quads import content_files

    clock = time.monotonic
    timings: dict[str, float] = {}
    started = clock()
    if settings.store_path is None:
        settings = settings.with_(store_path=settings.default_store)
    for path in paths:
        if path.suffix.lower() not in FORMATS:
            raise LoadRefused(f"{path}: unknown file type {path.suffix!r}; expected one of {', '.join(FORMATS)}")
    content = content_files(settings)
    check_graph_name(settings, graph, {f.graph for f in content})
    prepare_content(settings)
    timings["prepare"] = clock() - started
    where = [str(p) for p in paths]

    target_path = settings.store_path
    staging = target_path.with_name(f"{target_path.name}.bulk-{uuid.uuid4().hex[:8]}")
    snapshot = staging.with_name(staging.name + "-shacl")
    target = open_store(target_path)  # held open: its lock keeps other writers out until the swap
    store = None
    try:
        try:
            target.backup(str(staging))
            if books_path(target_path).is_dir():  # the bookkeeping goes along (store.embedded)
                open_store(books_path(target_path)).backup(str(books_path(staging)))
        except OSError as err:
            raise StoreError(f"cannot make a staging copy of the store at {staging}: {err}") from None
        store = ox.Store(str(staging))
        name = ox.NamedNode(graph)
        if store.contains_named_graph(name):
            store.remove_graph(name)  # loading replaces the graph's earlier content

        step = clock()
        with Progress("parsing", stream=stream, enabled=progress) as shown:
            Loader(settings, store, name, paths, shown).load()
        store.flush()
        triples = count_triples(store, graph)
        timings["parse"] = clock() - step

        step = clock()
        predicates = graph_predicates(store, graph)
        results = undefined_terms(store, graph, content, where, predicates)
        results += undescribed_links(store, graph, settings.id_base, where, predicates)
        timings["terms_and_links"] = clock() - step
        checked = [f"every file parses ({triples:,} triples)",
                   "terms in our namespace (gros:) are defined in the ontology",
                   f"links to our instance IRIs ({settings.id_base}...) point at resources described in the store"]
        not_checked: list[str] = []

        step = clock()
        if shapes.mode == "none":
            not_checked.append("the SHACL shapes (--shapes none): no resource was validated")
        elif not any(r.severity == "Violation" for r in results):
            focus = resources(store, graph)
            chosen = focus
            if shapes.mode == "sample" and shapes.sample < len(focus):
                chosen = sorted(random.Random(SAMPLE_SEED).sample(focus, shapes.sample))
            store.backup(str(snapshot))
            count = workers or default_workers()
            with Progress("validating", unit="resources", total=len(chosen), stream=stream,
                          enabled=progress) as shown:
                shacl, validated = batch_shapes.validate(settings, snapshot, chosen, count, shown)
            for result in shacl:
                result.files = where
            results += shacl
            if shapes.mode == "sample" and len(chosen) < len(focus):
                checked.append(f"the SHACL shapes on a sample of {len(chosen):,} of the {len(focus):,} resources "
                               f"(seed {SAMPLE_SEED}), each with its neighbourhood")
                not_checked.append(f"the SHACL shapes on the other {len(focus) - len(chosen):,} resources "
                                   f"(--shapes {shapes})")
            else:
                checked.append(f"the SHACL shapes on all {len(focus):,} resources, each with its neighbourhood")
            if validated < len(chosen):
                not_checked.append(f"the SHACL shapes on {len(chosen) - validated:,} resources: validation stopped "
                                   f"after {batch_shapes.MAX_VIOLATIONS} violations")
        else:
            not_checked.append("the SHACL shapes: not run, the cheaper checks already failed")
        timings["shapes"] = clock() - step

        violations = [r for r in results if r.severity == "Violation"]
        if violations:
            raise LoadRefused(f"{len(violations)} violation(s) in the files; nothing was loaded", 1, results)

        step = clock()
        record(settings, store, staging, name, where, triples, shapes, checked, not_checked)
        store.flush()
        store = target = None  # closes both; the target's lock is released just before the swap
        swap(staging, target_path)
        timings["commit"] = clock() - step
    except SourceError as err:
        raise LoadRefused(f"{err}\nnothing was loaded") from None
    finally:
        store = target = None  # closed before their folders go
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    timings["total"] = clock() - started
    return BulkOutcome(graph, target_path, where, triples, [r for r in results if r.severity != "Violation"],
                       checked=checked, not_checked=not_checked, seconds=timings, shapes=str(shapes))


def record(settings: Settings, store: ox.Store, folder: Path, graph: ox.NamedNode, files: list[str], triples: int,
           shapes: ShapesPolicy, checked: list[str], not_checked: list[str]) -> None:
    """What was loaded and how it was checked, in the bookkeeping of the staging store in `folder`
    (a copy of the target's, store.embedded), with the move of the store's revision (so caches
    keyed by it see the new graph). It goes into place with the staging store."""
    keeper = GraphStore(settings, store=store, books=open_store(books_path(folder)))
    old = [q for p in BOOKKEEPING for q in keeper.records(graph, p)]
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    summary = "checked: " + "; ".join(checked) + (". NOT checked: " + "; ".join(not_checked) if not_checked else "")
    new = [ox.Quad(graph, LOADED_AT, ox.Literal(now, datatype=ox.NamedNode(XSD + "dateTime")), keeper.meta),
           ox.Quad(graph, TRIPLE_COUNT, ox.Literal(str(triples), datatype=ox.NamedNode(XSD + "integer")), keeper.meta),
           ox.Quad(graph, SHAPES_CHECKED, ox.Literal(str(shapes)), keeper.meta),
           ox.Quad(graph, CHECKS, ox.Literal(summary), keeper.meta)]
    new += [ox.Quad(graph, LOADED_FROM, ox.Literal(f), keeper.meta) for f in files]
    keeper.apply(old, new)


def swap(staging: Path, target: Path) -> None:
    """Put the checked copy in the store's place: two renames on one file system, the old store
    removed after. Between them (microseconds) there is no store at `target`: a process that
    starts exactly then finds none and makes a new one."""
    retired = target.with_name(f"{target.name}.replaced-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(target, retired)
        os.rename(staging, target)
    except OSError as err:
        if retired.exists() and not target.exists():
            os.rename(retired, target)
        raise StoreError(f"could not put the loaded store in place at {target}: {err}") from None
    shutil.rmtree(retired, ignore_errors=True)


def wants_bulk(paths: Iterable[Path]) -> bool:
    return sum(p.stat().st_size for p in paths) >= BULK_THRESHOLD


# --- what the command prints ---------------------------------------------------------------------

#: Results printed in full; the rest are counted per shape (a bulk file can break a rule a
#: million times, and one example of each is what a person fixes from).
SHOWN_RESULTS = 20


def render_results(results: list[validation.Result]) -> str:
    ordered = sorted(results, key=lambda r: (validation.SEVERITY_ORDER.get(r.severity, 9), r.focus))
    lines = [validation.render_text(validation.Report([r])).rsplit("\n", 1)[0] for r in ordered[:SHOWN_RESULTS]]
    if len(ordered) > SHOWN_RESULTS:
        counts: dict[tuple[str, str], int] = {}
        for r in ordered:
            key = (r.severity, r.rule or r.shape or r.constraint or "?")
            counts[key] = counts.get(key, 0) + 1
        lines.append(f"... {len(ordered) - SHOWN_RESULTS} more; all {len(ordered)} by rule:")
        lines += [f"  {n:>8,}  {severity}: {rule}" for (severity, rule), n in sorted(counts.items())]
    return "\n".join(lines)


def render_outcome(outcome: BulkOutcome) -> str:
    lines = [render_results(outcome.warnings)] if outcome.warnings else []
    took = outcome.seconds
    lines.append(f"{outcome.triples:,} triples from {len(outcome.files)} file(s) loaded into <{outcome.graph}> "
                 f"of the store {outcome.store} in {took.get('total', 0):.1f} s: parsing {took.get('parse', 0):.1f} s "
                 f"({outcome.triples / max(took.get('parse', 0), 1e-9):,.0f} triples/s), terms and links "
                 f"{took.get('terms_and_links', 0):.1f} s, shapes {took.get('shapes', 0):.1f} s, "
                 f"commit {took.get('commit', 0):.1f} s.")
    lines += ["Checked:"] + [f"  - {text}" for text in outcome.checked]
    if outcome.not_checked:
        lines += ["NOT checked:"] + [f"  - {text}" for text in outcome.not_checked]
    lines.append(f"Query them with our data: gros query --store {outcome.store} QUERY.rq, "
                 f"or gros serve --store {outcome.store}")
    return "\n".join(lines)
