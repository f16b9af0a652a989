"""`gros backup` and `gros restore`, run as commands: a backup of a running server
(--url) and of a stopped store (--store), gzip or not, with a checksum; a restore into a new
store holds the same quads, and a server started on it serves the same graphs at the same
revision. A restore refuses a store that is not empty, a file that does not match its
checksum, and a backup without one unless told.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from launch import environment, spawn, wait_ready
from server_fixture import GRAPH_BASE, GROS, TOKEN, dump_store, revision

from gros.store.backup import backup_store
from gros.settings import Settings
from gros.content.files import find_files, read_files
from gros.store.embedded import GraphStore, books_path


def gros(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GROS), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def quads_of(store_path: Path) -> set[ox.Quad]:
    """The store's quads and its bookkeeping's (a store of its own inside the folder)."""
    quads = set()
    for path in (store_path, books_path(store_path)):
        store = ox.Store.read_only(str(path))
        quads |= set(store.quads_for_pattern(None, None, None, None))
    return quads


def checksum_ok(path: Path) -> bool:
    line = path.with_name(path.name + ".sha256").read_text()
    digest, name = line.split()
    return name == path.name and hashlib.sha256(path.read_bytes()).hexdigest() == digest


@pytest.fixture
def stopped_store(small_root, tmp_path) -> Path:
    """A store on disk that no server uses: the small content root loaded as `gros serve` would."""
    settings = Settings(root=small_root, store_path=tmp_path / "store")
    graph_store = GraphStore(settings)
    graph_store.sync(read_files(find_files(settings)))
    graph_store.store.flush()
    del graph_store
    return tmp_path / "store"


@pytest.mark.parametrize("compress", [False, True])
def test_a_stopped_store_round_trips(stopped_store, tmp_path, compress):
    backup = tmp_path / ("backup.nq.gz" if compress else "backup.nq")
    made = gros("backup", "--store", str(stopped_store), "-o", str(backup), *(["--gzip"] if compress else []))
    assert made.returncode == 0, made.stderr
    assert checksum_ok(backup)
    assert (backup.read_bytes()[:2] == b"\x1f\x8b") == compress
    restored = gros("restore", "--store", str(tmp_path / "restored"), str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "exactly the quads" in restored.stderr
    original = quads_of(stopped_store)
    assert original and quads_of(tmp_path / "restored") == original


def test_the_same_store_gives_the_same_backup_bytes(stopped_store, tmp_path):
    one = backup_store(stopped_store, tmp_path / "one.nq.gz", compress=True)
    two = backup_store(stopped_store, tmp_path / "two.nq.gz", compress=True)
    assert one.sha256 == two.sha256 and one.quads == two.quads > 0
    assert (tmp_path / "one.nq.gz").read_bytes() == (tmp_path / "two.nq.gz").read_bytes()


def test_a_running_servers_store_cannot_be_read_directly(server, tmp_path):
    made = gros("backup", "--store", str(server.store), "-o", str(tmp_path / "b.nq"))
    assert made.returncode == 2
    assert "in use" in made.stderr and "--url" in made.stderr
    assert not (tmp_path / "b.nq").exists()


@pytest.fixture(scope="module")
def url_backup(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gros-backup")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        before, at = dump_store(http), revision(http)
    backup = folder / "live.nq.gz"
    made = gros("backup", "--url", server.url, "-o", str(backup), "--gzip")
    assert made.returncode == 0, made.stderr
    return folder, backup, before, at, made.stderr


def test_a_running_server_backs_up_over_http(url_backup):
    folder, backup, before, at, said = url_backup
    assert checksum_ok(backup)
    assert f"at revision {at}" in said
    with gzip.open(backup) as lines:
        quads = list(ox.parse(lines, format=ox.RdfFormat.N_QUADS))
    graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)} - {GRAPH_BASE + "meta"}
    assert graphs == {name for name in before if name != "DEFAULT" and before[name]}


def test_a_server_on_the_restored_store_serves_the_same_graphs_and_counts_on_from_the_revision(server, url_backup):
    folder, backup, before, at, _ = url_backup
    store = folder / "restored"
    restored = gros("restore", "--store", str(store), str(backup))
    assert restored.returncode == 0, restored.stderr
    running = wait_ready(spawn(folder, server.root, store, environment(TOKEN), log_name="restored.log"))
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            # An HTTP backup carries the revision but not the content hashes (bookkeeping is no part of
            # the dataset), so the content files are loaded again: the revision goes on from `at`.
            assert revision(http) > at
            assert dump_store(http) == before
    finally:
        running.stop()


def test_restore_refuses_a_store_that_is_not_empty(stopped_store, tmp_path):
    backup = tmp_path / "b.nq"
    assert gros("backup", "--store", str(stopped_store), "-o", str(backup)).returncode == 0
    before = sorted(p.name for p in stopped_store.iterdir())
    refused = gros("restore", "--store", str(stopped_store), str(backup))
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert sorted(p.name for p in stopped_store.iterdir()) == before


def test_restore_refuses_a_file_that_does_not_match_its_checksum(stopped_store, tmp_path):
    backup = tmp_path / "b.nq"
    assert gros("backup", "--store", str(stopped_store), "-o", str(backup)).returncode == 0
    backup.write_bytes(backup.read_bytes().replace(b'"', b"'", 1))
    refused = gros("restore", "--store", str(tmp_path / "new"), str(backup))
    assert refused.returncode == 1 and "checksum" in refused.stderr
    assert not (tmp_path / "new").exists()


def test_restore_without_a_checksum_file_needs_to_be_told(stopped_store, tmp_path):
    backup = tmp_path / "b.nq"
    assert gros("backup", "--store", str(stopped_store), "-o", str(backup)).returncode == 0
    backup.with_name("b.nq.sha256").unlink()
    refused = gros("restore", "--store", str(tmp_path / "new"), str(backup))
    assert refused.returncode == 2 and "--no-checksum" in refused.stderr
    done = gros("restore", "--no-checksum", "--store", str(tmp_path / "new"), str(backup))
    assert done.returncode == 0, done.stderr
    assert quads_of(tmp_path / "new") == quads_of(stopped_store)


def test_a_truncated_backup_restores_nothing(stopped_store, tmp_path):
    backup = tmp_path / "b.nq.gz"
    assert gros("backup", "--store", str(stopped_store), "-o", str(backup), "--gzip").returncode == 0
    backup.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    refused = gros("restore", "--no-checksum", "--store", str(tmp_path / "new"), str(backup))
    assert refused.returncode == 1, refused.stderr
    assert not (tmp_path / "new").exists()
