"""`gros release VERSION` (server/gros/release.py): dist/VERSION/ with gzip dumps, SHA256SUMS,
DCAT-AP, VoID and a changelog against the previous release.

The releases are made from a small content root (the real ontology, shapes, queries and catalogue,
with tests/fixtures/valid/minimal.ttl as data), so that validating it takes a second or two.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, XSD

from gros.publish import export
from gros.publish import release
import gros
from gros.settings import Settings

from official_shapes import DCAT_AP, DCAT_AP_NL, violations
from invoke import run_gros

ROOT = Path(__file__).resolve().parents[2]
DATASET = URIRef("https://w3id.org/gros/dataset")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")
DAY = dt.date(2025, 3, 1)


def make_root(folder: Path) -> Path:
    for name in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "data").mkdir()
    for path in (ROOT / "tests" / "fixtures" / "valid" / "minimal.ttl", ROOT / "data" / "catalog.ttl",
                 ROOT / "data" / "sources-reference.ttl"):  # the catalogue cites a reference source
        shutil.copy(path, folder / "data" / path.name)
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return make_root(tmp_path_factory.mktemp("release-root"))


@pytest.fixture(scope="module")
def first(root, tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    return release.make_release(Settings(root=root), "1.0.0", dist, issued=DAY)


def test_a_release_holds_every_dump_the_profiles_the_changelog_and_checksums(first):
    names = sorted(p.name for p in first.folder.iterdir())
    dumps = [export.dump_name(f) + ".gz" for f in export.DUMP_FORMATS]
    assert names == sorted(dumps + ["dcat-ap.ttl", "void.ttl", "cpov.ttl", "eli.ttl", "CHANGES.md", "changes.json",
                                    "SHA256SUMS"])
    assert not list(first.folder.parent.glob(".*partial"))  # nothing left of the staging folder


def test_sha256sums_match_every_file(first):
    lines = (first.folder / "SHA256SUMS").read_text().splitlines()
    listed = {}
    for line in lines:
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == {p.name for p in first.folder.iterdir()} - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((first.folder / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):  # the format the usual tool reads
        done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=first.folder, capture_output=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_gzip_dumps_hold_the_content(first, root):
    quads = set(export.content_quads(export.content_files(Settings(root=root))))
    with gzip.open(first.folder / "gros.nq.gz") as handle:
        assert set(ox.parse(handle.read(), format=ox.RdfFormat.N_QUADS)) == quads
    with gzip.open(first.folder / "gros.ttl.gz") as handle:
        assert {q.triple for q in ox.parse(handle.read(), format=ox.RdfFormat.TURTLE)} == {q.triple for q in quads}


def test_the_release_dcat_ap_names_version_and_date_and_conforms(first):
    graph = Graph().parse(first.folder / "dcat-ap.ttl")
    assert str(graph.value(DATASET, DCAT_VERSION)) == "1.0.0"
    assert graph.value(DATASET, DCTERMS.issued) == Literal("2025-03-01", datatype=XSD.date)
    count, report = violations(graph, DCAT_AP + DCAT_AP_NL)
    assert count == 0, report


def test_a_first_release_says_everything_is_new(first, root):
    changes = json.loads((first.folder / "changes.json").read_text())
    triples = len({q.triple for q in export.content_quads(export.content_files(Settings(root=root)))})
    assert changes["previous"] is None
    assert changes["triples"] == {"added": triples, "removed": 0}
    assert "first release" in (first.folder / "CHANGES.md").read_text()


def test_the_changelog_counts_triples_per_graph_and_resources(first, root, tmp_path):
    """A second release after an edit: triples added and removed per graph, resources added and removed."""
    edited = make_root(tmp_path / "root")
    minimal = edited / "data" / "minimal.ttl"
    text = minimal.read_text(encoding="utf-8")
    assert '"Nederland"@nl' in text
    text = text.replace('"Nederland"@nl', '"Nederland (land)"@nl', 1)  # one triple changed
    minimal.write_text(text + """
<organisation/test-agentschap> a gros:PublicOrganisation ;
    rdfs:label "Testagentschap"@nl , "Test agency"@en ;
    dcterms:source <source/facts> .
""", encoding="utf-8")
    dist = first.folder.parent
    second = release.make_release(Settings(root=edited), "1.1.0", dist, issued=DAY)
    changes = json.loads((second.folder / "changes.json").read_text())
    assert changes["previous"] == "1.0.0"
    assert changes["graphs"] == {"https://w3id.org/gros/graph/minimal": {"added": 5, "removed": 1}}
    assert changes["resources"] == {"added": ["https://w3id.org/gros/id/organisation/test-agentschap"], "removed": []}
    markdown = (second.folder / "CHANGES.md").read_text()
    assert "since 1.0.0" in markdown and "test-agentschap" in markdown
    # The previous release is the latest before the new version, not the newest folder.
    assert release.previous_release(dist, "1.0.5").name == "1.0.0"
    assert release.previous_release(dist, "1.10.0").name == "1.1.0"
    assert release.previous_release(dist, "0.9") is None


def test_a_release_is_reproducible(root, first, tmp_path):
    again = release.make_release(Settings(root=root), "1.0.0", tmp_path / "dist", issued=DAY)
    assert (again.folder / "SHA256SUMS").read_bytes() == (first.folder / "SHA256SUMS").read_bytes()


def test_version_order_is_natural():
    assert release.version_key("1.9") < release.version_key("1.10")
    assert release.version_key("1.0") < release.version_key("1.0.1")
    assert release.version_key("2024.1") > release.version_key("2023.12")


def cli(*args):
    return run_gros(*args)


def test_the_command_refuses_to_overwrite_and_bad_versions(first, root):
    dist = str(first.folder.parent)
    done = cli("release", "1.0.0", "--root", str(root), "--dist", dist, "--no-package")
    assert done.returncode == 2 and b"--force" in done.stderr
    done = cli("release", "../escape", "--root", str(root), "--dist", dist, "--no-package")
    assert done.returncode == 2 and b"not a version" in done.stderr
    assert not (first.folder.parent.parent / "escape").exists()


def test_invalid_content_is_not_released(tmp_path):
    root = make_root(tmp_path / "root")
    (root / "data" / "broken.ttl").write_text(
        "<https://w3id.org/gros/id/region/nowhere> a <https://w3id.org/gros/def#Region> .\n", encoding="utf-8")
    done = cli("release", "2.0.0", "--root", str(root), "--dist", str(tmp_path / "dist"), "--no-package")
    assert done.returncode == 1, done.stderr.decode()
    assert b"region/nowhere" in done.stderr
    assert not (tmp_path / "dist" / "2.0.0").exists()


# --- the package in a release -------------------------------------------------------------------

def fake_checkout(folder: Path, package: str, citation: str) -> Path:
    """A content root that looks like a checkout, stating the given versions."""
    root = make_root(folder)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "server" / "gros").mkdir(parents=True)
    (root / "server" / "gros" / "__init__.py").write_text(f'__version__ = "{package}"\n', encoding="utf-8")
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    (root / "CITATION.cff").write_text(text.replace(f"version: {gros.__version__}\n", f"version: {citation}\n"),
                                       encoding="utf-8")
    return root


def test_the_checkout_citation_and_package_state_one_version():
    import yaml

    assert yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["version"] == gros.__version__
    assert release.source_versions(ROOT) == {"the package (server/gros/__init__.py, __version__)": gros.__version__,
                                             "CITATION.cff (version:)": gros.__version__}


@pytest.mark.parametrize("package, citation", [("2.0.0", "1.9.0"), ("1.9.0", "2.0.0"), ("1.9.0", "1.9.0")])
def test_a_release_whose_versions_disagree_is_refused(tmp_path, package, citation):
    root = fake_checkout(tmp_path / "root", package, citation)
    done = cli("release", "2.0.0", "--root", str(root), "--dist", str(tmp_path / "dist"))
    assert done.returncode == 2, done.stderr.decode()
    message = done.stderr.decode()
    assert "versions disagree" in message and "CITATION.cff" in message and "__init__.py" in message
    assert not (tmp_path / "dist" / "2.0.0").exists()


def test_a_content_folder_that_is_not_a_checkout_needs_packages_or_no_package(root, tmp_path):
    done = cli("release", "3.0.0", "--root", str(root), "--dist", str(tmp_path / "dist"))
    assert done.returncode == 2 and b"not a checkout" in done.stderr and b"--no-package" in done.stderr
    assert not (tmp_path / "dist").exists()


def test_packages_of_another_version_are_refused(root, built_package, tmp_path):
    done = cli("release", "9.9.9", "--root", str(root), "--dist", str(tmp_path / "dist"),
               "--packages", str(built_package))
    assert done.returncode == 2 and b"gros_kg-9.9.9" in done.stderr
    assert not (tmp_path / "dist" / "9.9.9").exists()


def test_a_release_carries_the_wheel_and_sdist_with_one_version_everywhere(built_package, tmp_path):
    """The release of this checkout, with the package `make dist` built (package_fixture.py)."""
    version = gros.__version__
    dist = tmp_path / "dist"
    done = run_gros("release", version, "--dist", str(dist), "--date", "2025-03-01",
                    "--packages", str(built_package), cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    folder = dist / version
    wheel, sdist = folder / f"gros_kg-{version}-py3-none-any.whl", folder / f"gros_kg-{version}.tar.gz"
    assert wheel.read_bytes() == next(built_package.glob("*.whl")).read_bytes()
    assert sdist.is_file()
    sums = dict(reversed(line.split("  ", 1)) for line in (folder / "SHA256SUMS").read_text().splitlines())
    for path in (wheel, sdist):
        assert sums[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
    dcat = Graph().parse(folder / "dcat-ap.ttl")
    assert {str(v) for v in dcat.objects(DATASET, DCAT_VERSION)} == {version}
    assert release.package_version(wheel) == release.package_version(sdist) == version
    import yaml

    assert str(yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["version"]) == version
