"""`gros release VERSION`: a versioned, checksummed snapshot of the graph in `dist/VERSION/`.

A release holds:
  gros.ttl.gz, gros.nt.gz, gros.nq.gz, gros.trig.gz, gros.jsonld.gz, gros.rdf.gz
                      every dump (export.py), gzip-compressed
  dcat-ap.ttl         the DCAT-AP description, with this release's dcat:version and dct:issued
  void.ttl, cpov.ttl, eli.ttl
                      the other registry profiles
  CHANGES.md, changes.json
                      the data changelog against the previous release in dist/: triples added and
                      removed per graph, resources (subjects) added and removed
  gros_kg-VERSION-py3-none-any.whl, gros_kg-VERSION.tar.gz
                      the package (wheel and sdist) with this content inside: `pip install` of
                      either gives the `gros` command and library with no checkout (setup.py)
  SHA256SUMS          checksums of all of the above, in the format `sha256sum -c` reads

One version everywhere: VERSION must be the package's version (gros.__version__, which the
wheel's metadata carries) and CITATION.cff's; the DCAT-AP description gets it as dcat:version.
A release refuses to start when they disagree.

Only valid content is released (the same validation as `gros validate`). The same content and
date give byte-identical files: dumps are sorted with stable blank-node labels, and gzip is
written without a timestamp. The folder appears whole or not at all (it is written next to its
place and then renamed).
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from gros.publish import export
from gros import formats
from gros.shacl import validation
from gros.settings import Settings
from gros.errors import GrosError
from gros.namespaces import XSD

VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
#: The dump a release's changelog is computed from (it keeps the named graphs).
BASELINE = export.dump_name(formats.NQUADS) + ".gz"


class ReleaseError(GrosError):
    """The release cannot be made; `exit_code` follows the CLI contract (1 invalid data, 2 usage)."""

    status = 500
    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2, report: validation.Report | None = None):
        self.exit_code = exit_code
        self.report = report
        super().__init__(message)


@dataclass
class GraphChange:
    added: int = 0
    removed: int = 0


@dataclass
class Changelog:
    previous: str | None
    graphs: dict[str, GraphChange] = field(default_factory=dict)
    resources_added: list[str] = field(default_factory=list)
    resources_removed: list[str] = field(default_factory=list)

    @property
    def triples_added(self) -> int:
        return sum(c.added for c in self.graphs.values())

    @property
    def triples_removed(self) -> int:
        return sum(c.removed for c in self.graphs.values())

    def as_dict(self) -> dict:
        return {"previous": self.previous,
                "graphs": {g: {"added": c.added, "removed": c.removed} for g, c in sorted(self.graphs.items())},
                "triples": {"added": self.triples_added, "removed": self.triples_removed},
                "resources": {"added": self.resources_added, "removed": self.resources_removed}}


@dataclass
class Release:
    version: str
    folder: Path
    files: list[str]
    changes: Changelog


@dataclass
class Packages:
    """Where a release's wheel and sdist come from: built from the checkout `checkout` (whose
    versions are checked first), or taken from `prebuilt`, a folder that `make dist` filled."""
    checkout: Path | None = None
    prebuilt: Path | None = None


# --- versions ---------------------------------------------------------------------------------

def version_key(version: str) -> tuple:
    """Natural order: 1.9 < 1.10, and 1.0 < 1.0.1."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", version) if part)


def previous_release(dist: Path, version: str) -> Path | None:
    """The latest release in `dist` before `version` (a folder with a gros.nq.gz), if any."""
    if not dist.is_dir():
        return None
    older = [p for p in dist.iterdir() if p.is_dir() and (p / BASELINE).is_file() and p.name != version
             and VERSION_PATTERN.match(p.name) and version_key(p.name) < version_key(version)]
    return max(older, key=lambda p: version_key(p.name), default=None)


# --- the changelog ----------------------------------------------------------------------------

def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def _canonical(quads: list[ox.Quad]) -> set[tuple[str, str, str]]:
    """The statements with blank nodes, relabelled canonically (rdflib's RDF canonicalisation),
    so that two files that differ only in blank-node labels compare equal."""
    from rdflib import Graph
    from rdflib.compare import to_canonical_graph

    from gros.content.files import to_rdflib

    graph = Graph()
    for q in quads:
        graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return {(s.n3(), p.n3(), o.n3()) for s, p, o in to_canonical_graph(graph)}


def _statements(quads: list[ox.Quad]) -> dict[str, set]:
    """Per graph: the statements, ground ones as text, those with blank nodes canonicalised."""
    ground: dict[str, set] = defaultdict(set)
    blank: dict[str, list[ox.Quad]] = defaultdict(list)
    for q in quads:
        graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else ""
        if _has_blank(q):
            blank[graph].append(q)
        else:
            ground[graph].add((str(q.subject), str(q.predicate), str(q.object)))
    for graph, items in blank.items():
        ground[graph] |= {("bnode",) + t for t in _canonical(items)}
    return ground


def _subjects(quads: list[ox.Quad]) -> set[str]:
    return {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}


def changelog(old: list[ox.Quad] | None, new: list[ox.Quad], previous: str | None) -> Changelog:
    """What changed from `old` to `new` (None: a first release, everything is new)."""
    old = old or []
    before, after = _statements(old), _statements(new)
    log = Changelog(previous)
    for graph in sorted(set(before) | set(after)):
        a, b = before.get(graph, set()), after.get(graph, set())
        change = GraphChange(added=len(b - a), removed=len(a - b))
        if change.added or change.removed:
            log.graphs[graph or "(default graph)"] = change
    old_subjects, new_subjects = _subjects(old), _subjects(new)
    log.resources_added = sorted(new_subjects - old_subjects)
    log.resources_removed = sorted(old_subjects - new_subjects)
    return log


def render_changes(version: str, log: Changelog) -> str:
    since = f"since {log.previous}" if log.previous else "first release: everything is new"
    lines = [f"# Data changes in {version} ({since})", "",
             f"{log.triples_added} triples added, {log.triples_removed} removed; "
             f"{len(log.resources_added)} resources added, {len(log.resources_removed)} removed.", ""]
    if log.graphs:
        lines += ["| graph | triples added | triples removed |", "|---|---:|---:|"]
        lines += [f"| {g} | {c.added} | {c.removed} |" for g, c in sorted(log.graphs.items())]
        lines.append("")
    for title, items in (("Resources added", log.resources_added), ("Resources removed", log.resources_removed)):
        if items and log.previous:  # a first release would list every resource; changes.json does
            lines += [f"## {title} ({len(items)})", ""] + [f"- <{iri}>" for iri in items] + [""]
    return "\n".join(lines)


# --- the package ------------------------------------------------------------------------------

_INIT_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def is_checkout(root: Path) -> bool:
    """Whether `root` is a checkout of gros-kg (the package can be built from it)."""
    return (root / "pyproject.toml").is_file() and (root / "server" / "gros" / "__init__.py").is_file()


def source_versions(checkout: Path) -> dict[str, str | None]:
    """The versions a checkout states: the package's and CITATION.cff's (None where absent)."""
    import yaml

    init = checkout / "server" / "gros" / "__init__.py"
    found = _INIT_VERSION.search(init.read_text(encoding="utf-8"))
    citation = checkout / "CITATION.cff"
    cff = yaml.safe_load(citation.read_text(encoding="utf-8")) if citation.is_file() else {}
    return {"the package (server/gros/__init__.py, __version__)": found.group(1) if found else None,
            "CITATION.cff (version:)": str(cff["version"]) if cff and cff.get("version") is not None else None}


def check_versions(version: str, checkout: Path) -> None:
    """Raise ReleaseError unless the package and CITATION.cff both state `version`."""
    stated = source_versions(checkout)
    wrong = {where: found for where, found in stated.items() if found != version}
    if wrong:
        listed = "; ".join(f"{where}: {found or 'none'}" for where, found in stated.items())
        raise ReleaseError(f"the versions disagree: you asked for {version}, but {listed}. The package, "
                           f"CITATION.cff and the release (dcat:version) carry one version: set it in both files "
                           f"and release again")


def package_version(path: Path) -> str:
    """The version in a wheel's or sdist's metadata (what pip would install)."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            text = wheel.read(name).decode("utf-8")
    else:
        with tarfile.open(path) as sdist:
            member = next(m for m in sdist.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
            text = sdist.extractfile(member).read().decode("utf-8")
    found = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
    return found.group(1) if found else ""


def find_packages(folder: Path, version: str) -> list[Path]:
    """The wheel and the sdist of `version` in `folder`; raises ReleaseError when one is missing
    or its metadata says another version."""
    wheels = sorted(folder.glob(f"gros_kg-{version}-*.whl"))
    sdists = sorted(folder.glob(f"gros_kg-{version}.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise ReleaseError(f"{folder} should hold one wheel (gros_kg-{version}-*.whl) and one sdist "
                           f"(gros_kg-{version}.tar.gz); it holds {len(wheels)} and {len(sdists)}. Build them "
                           f"with make dist (Python packaging spells versions its own way: 1.0.0rc1, not 1.0.0-rc1)")
    for path in (*wheels, *sdists):
        stated = package_version(path)
        if stated != version:
            raise ReleaseError(f"{path.name} says it is version {stated!r}, not {version}")
    return [*wheels, *sdists]


def build_packages(checkout: Path, outdir: Path) -> list[Path]:
    """Build the wheel and the sdist of `checkout` into `outdir` (`python -m build`, as make dist
    does: the sdist first, then the wheel from the sdist, which proves the sdist complete)."""
    try:
        import build  # noqa: F401  (only to say what is missing)
    except ImportError:
        raise ReleaseError("building the package needs the `build` tool: pip install build "
                           "(or make dist, then gros release VERSION --packages dist)") from None
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(checkout)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ReleaseError(f"the package did not build from {checkout}:\n{tail}")
    return sorted(p for p in outdir.iterdir() if p.suffix in (".whl", ".gz"))


def _package_files(packages: Packages, version: str, scratch: Path) -> dict[str, bytes]:
    if packages.prebuilt is not None:
        found = find_packages(packages.prebuilt, version)
    else:
        build_packages(packages.checkout, scratch)
        found = find_packages(scratch, version)
    return {path.name: path.read_bytes() for path in found}


# --- writing a release ------------------------------------------------------------------------

def _read_baseline(folder: Path) -> list[ox.Quad]:
    with gzip.open(folder / BASELINE, "rb") as handle:
        return list(ox.parse(handle.read(), format=ox.RdfFormat.N_QUADS))


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def make_release(settings: Settings, version: str, dist: Path, issued: dt.date | None = None,
                 force: bool = False, packages: Packages | None = None) -> Release:
    """Validate the content and write `dist/VERSION/`; raises ReleaseError.

    With `packages`, the release carries the wheel and sdist too (the versions are checked before
    anything else is done); without, only the dumps and profiles.
    """
    if not VERSION_PATTERN.match(version):
        raise ReleaseError(f"{version!r} is not a version: use letters, digits, '.', '-', '_' or '+' "
                           f"(for example 1.0.0), starting with a letter or digit")
    target = dist / version
    if target.exists() and not force:
        raise ReleaseError(f"{target} already exists; a release is never overwritten silently "
                           f"(pass --force to replace it)")
    if packages is not None and packages.checkout is not None:
        check_versions(version, packages.checkout)
    if packages is not None and packages.prebuilt is not None:
        find_packages(packages.prebuilt, version)  # refuse now rather than after the dumps
    files = export.content_files(settings)
    report = validation.validate_content(settings, files)
    if not report.conforms:
        raise ReleaseError(f"the content does not pass the shapes ({len(report.violations)} violations); "
                           f"nothing was released", exit_code=1, report=report)
    issued = issued or dt.date.today()
    quads = export.content_quads(files)
    store = ox.Store()
    store.extend(quads)

    outputs: dict[str, bytes] = {}
    for fmt in export.DUMP_FORMATS:
        outputs[export.dump_name(fmt) + ".gz"] = _gzip(export.serialize(quads, fmt))
    bindings = {"version": ox.Literal(version),
                "issued": ox.Literal(issued.isoformat(), datatype=ox.NamedNode(XSD + "date"))}
    for name in export.profile_names(settings):
        query = export.profile_query(settings, name)
        triples = export.run_profile(store, query, bindings if name == "dcat-ap" else None)
        outputs[f"{name}.ttl"] = export.serialize(triples, formats.TURTLE)

    previous = previous_release(dist, version)
    log = changelog(_read_baseline(previous) if previous else None, quads, previous.name if previous else None)
    outputs["CHANGES.md"] = render_changes(version, log).encode("utf-8")
    outputs["changes.json"] = (json.dumps(log.as_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if packages is not None:
        with tempfile.TemporaryDirectory(prefix="gros-package-") as scratch:
            outputs.update(_package_files(packages, version, Path(scratch)))
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(outputs.items()))
    outputs["SHA256SUMS"] = sums.encode("ascii")

    dist.mkdir(parents=True, exist_ok=True)
    staging = dist / f".{version}.{uuid.uuid4().hex[:8]}.partial"
    staging.mkdir()
    try:
        for name, data in outputs.items():
            (staging / name).write_bytes(data)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Release(version, target, sorted(outputs), log)
