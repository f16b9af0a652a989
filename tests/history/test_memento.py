"""Memento (RFC 7089) for /id/..., `gros history`, and the history across a restart and a
backup and restore, over real HTTP on servers of minimal.ttl."""
from __future__ import annotations

import subprocess
import time
from email.utils import format_datetime, parsedate_to_datetime
from datetime import timedelta

import httpx
import pytest

from server_fixture import BASE, GROS, TOKEN, start_server, update

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
GRAPH = BASE + "graph/runtime-memento-test"
PATH = "/id/region/netherlands"
IRI = BASE + PATH.lstrip("/")


def links(response: httpx.Response) -> dict[str, str]:
    """rel -> URL of a Link header (a rel list like "original timegate" gives both)."""
    out = {}
    for part in response.headers.get("link", "").split(", <"):
        url, _, params = part.lstrip("<").partition(">")
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "rel":
                for rel in value.strip('"').split():
                    out[rel] = url
    return out


def timemap(http) -> list[tuple[str, str, str]]:
    response = http.get("/timemap" + PATH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/link-format")
    entries = []
    for line in response.text.strip().split(",\n"):
        url = line[1:line.index(">")]
        rel = line.split('rel="')[1].split('"')[0]
        when = line.split('datetime="')[1].split('"')[0] if 'datetime="' in line else ""
        entries.append((url, rel, when))
    return entries


@pytest.fixture
def history_server(tmp_path):
    running = start_server(tmp_path, TOKEN)
    yield running
    running.stop()


def test_memento_round_trip_restart_backup_and_restore(history_server, tmp_path):
    http = httpx.Client(base_url=history_server.url, timeout=60)
    current = http.get(PATH, headers={"Accept": "text/turtle"})
    assert current.status_code == 200
    assert links(current)["timegate"] == PATH and links(current)["timemap"] == "/timemap" + PATH
    assert "Accept-Datetime" in current.headers["vary"]

    time.sleep(1.2)  # HTTP dates have seconds: the write falls in a later second than the load
    response = update(http, f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <{IRI}> <{RDFS}comment> "na de wijziging"@nl }} }}')
    assert response.status_code in (200, 204), response.text
    versions = timemap(http)
    mementos = [v for v in versions if "memento" in v[1].split()]
    assert len(mementos) == 2
    (first_url, _, first_time), (second_url, _, second_time) = mementos

    # As of before the write: the shipped description; as of after: with the comment.
    before = http.get(PATH, headers={"Accept": "text/turtle", "Accept-Datetime": first_time})
    assert before.status_code == 200, before.text
    assert before.headers["memento-datetime"] == first_time
    assert before.headers["content-location"] == first_url
    assert {"original", "timegate", "timemap", "memento"} <= set(links(before))
    assert "na de wijziging" not in before.text and "Nederland" in before.text
    after = http.get(PATH, headers={"Accept": "text/turtle", "Accept-Datetime": second_time})
    assert after.headers["memento-datetime"] == second_time and "na de wijziging" in after.text
    long_before = format_datetime(parsedate_to_datetime(first_time) - timedelta(days=400), usegmt=True)
    assert http.get(PATH, headers={"Accept-Datetime": long_before}).status_code == 404
    assert http.get(PATH, headers={"Accept-Datetime": "yesterday"}).status_code == 400

    # The mementos themselves never change.
    old = http.get(first_url, headers={"Accept": "text/turtle"})
    assert old.status_code == 200 and old.headers["memento-datetime"] == first_time
    assert "immutable" in old.headers["cache-control"] and "na de wijziging" not in old.text

    # Reverting is writing the earlier version back: here, removing the comment.
    assert update(http, f'DELETE DATA {{ GRAPH <{GRAPH}> {{ <{IRI}> <{RDFS}comment> "na de wijziging"@nl }} }}'
                  ).status_code in (200, 204)
    now = [v for v in timemap(http) if "memento" in v[1].split()]
    assert len(now) == 3
    nt = {"Accept": "application/n-triples"}
    assert sorted(http.get(now[2][0], headers=nt).text.splitlines()) == sorted(
        http.get(first_url, headers=nt).text.splitlines())

    # gros history prints the versions, with who and when.
    printed = subprocess.run([str(GROS), "history", PATH, "--store", str(history_server.store)],
                             capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("default") >= 2 and "content" in printed.stdout and "update" in printed.stdout

    feed_before = http.get("/ldes/1", headers={"Accept": "application/n-quads"}).content
    entry_before = http.get("/ldes").content
    http.close()

    # A restart keeps the history; a backup and restore of the stopped store too.
    history_server.stop()
    backup = tmp_path / "backup.nq"
    done = subprocess.run([str(GROS), "backup", "--store", str(history_server.store), "-o", str(backup)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    restarted = start_server(tmp_path / "again", TOKEN, "--store", str(history_server.store))
    restored_store = tmp_path / "restored"
    done = subprocess.run([str(GROS), "restore", "--store", str(restored_store), str(backup)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    on_restored = start_server(tmp_path / "restored-server", TOKEN, "--store", str(restored_store))
    try:
        for server in [restarted, on_restored]:
            with httpx.Client(base_url=server.url, timeout=60) as again:
                assert again.get("/ldes/1", headers={"Accept": "application/n-quads"}).content == feed_before
                assert again.get("/ldes").content == entry_before
                assert [v[2] for v in timemap(again)] == [v[2] for v in versions] + [timemap(again)[-1][2]]
    finally:
        restarted.stop()
        on_restored.stop()
    printed = subprocess.run([str(GROS), "history", IRI, "--store", str(restored_store)], capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("update") == 2 and "create" in printed.stdout
    first_version = printed.stdout.splitlines()[2].split()[0]
    shown = subprocess.run([str(GROS), "history", IRI, "--store", str(restored_store), "--version", first_version],
                           capture_output=True, text=True)
    assert shown.returncode == 0 and "Nederland" in shown.stdout and "na de wijziging" not in shown.stdout
