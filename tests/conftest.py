"""Shared fixtures: the checkout's content, and small throw-away content roots for broken-data tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gros.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(root=ROOT)


@pytest.fixture
def small_root(tmp_path: Path) -> Path:
    """A content root with the real ontology, shapes and queries, and a small valid data set.

    Tests add broken files to its data/ folder; validating it takes a fraction of a second.
    """
    for folder in ("ontology", "shapes", "queries"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "data").mkdir()
    shutil.copy(FIXTURES / "valid" / "minimal.ttl", tmp_path / "data" / "minimal.ttl")
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """Tests marked `virtuoso` need Debian's Virtuoso: they run only with GROS_TEST_VIRTUOSO=1 (`make test-virtuoso`)."""
    if os.environ.get("GROS_TEST_VIRTUOSO") == "1":
        return
    skip = pytest.mark.skip(reason="Virtuoso tests run with `make test-virtuoso` (GROS_TEST_VIRTUOSO=1)")
    for item in items:
        if item.get_closest_marker("virtuoso"):
            item.add_marker(skip)


# The HTTP tests' fixtures (`server`, `readonly_server`, `scratch_server`, `client`, `known`, `fresh_graph`) live in
# server_fixture.py; the built and installed package (`built_package`, `installed`) in package_fixture.py.
pytest_plugins = ["server_fixture", "package_fixture"]
