"""Who changed what, through `gros serve` as it runs in public: several serving processes that
read the change log, one writer process that keeps it, and a token file of two named tokens.

Each write is read back over fresh connections (so by either serving process) in the feed, the
TimeMap and `gros history`; the same holds after a restart on the same store and on a store
restored from a `gros backup --store`, where a changed content file and further writes by each
token carry on the history.
"""
from __future__ import annotations

import subprocess

import httpx
import pyoxigraph as ox
import pytest

from ldes_client import AS, _store
from server_fixture import BASE, GROS, MINIMAL, WORKERS, start_server

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
GRAPH = BASE + "graph/runtime-attribution-test"
PATH = "/id/region/netherlands"
IRI = BASE + PATH.lstrip("/")
ALICE, BOB = "alice-token-5d1e-9a0b37", "bob-token-c44f-2b7e18"
NQ = {"Accept": "application/n-quads"}
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@pytest.fixture
def token_file(tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice:{ALICE}\nbob:{BOB}\n")
    tokens.chmod(0o600)
    return {"GROS_UPDATE_TOKEN_FILE": str(tokens)}


def write(url: str, text: str, token: str) -> None:
    response = httpx.post(url + "/sparql", content=text.encode(), timeout=60, headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 204), response.text


def comment(url: str, old: str | None, new: str, token: str) -> None:
    """Replace the test comment on the resource (one write, one new version)."""
    text = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <{IRI}> <{RDFS}comment> "{new}"@nl }} }}'
    if old is not None:
        text = f'DELETE DATA {{ GRAPH <{GRAPH}> {{ <{IRI}> <{RDFS}comment> "{old}"@nl }} }} ; ' + text
    write(url, text, token)


def fresh(url: str, path: str, **headers) -> httpx.Response:
    """A GET on a connection of its own: the serving process that answers is the one that accepts."""
    response = httpx.get(url + path, headers={**headers, "Connection": "close"}, timeout=60)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response


def versions(url: str) -> list[tuple[int, str, str]]:
    """(feed member number, kind, actor name) of every version of IRI, from the feed's own members."""
    out = []
    for line in fresh(url, "/timemap" + PATH).text.strip().split(",\n"):
        if "memento" not in line.split('rel="')[1].split('"')[0].split():
            continue
        seq = int(line[1:line.index(">")].split("/")[2])
        member = _store(ox.parse(fresh(url, f"/ldes/event/{seq}", **NQ).content, format=ox.RdfFormat.N_QUADS))
        event = ox.NamedNode(f"{BASE}ldes/event/{seq}")
        kind = next(member.quads_for_pattern(event, RDF_TYPE, None)).object.value.rsplit("#", 1)[1]
        agent = next(member.quads_for_pattern(event, ox.NamedNode(AS + "actor"), None)).object
        name = next(member.quads_for_pattern(agent, ox.NamedNode(AS + "name"), None)).object.value
        out.append((seq, kind, name))
    return out


def every_process_sees(url: str, expected: list[tuple[int, str, str]], entry: bytes | None = None) -> None:
    """Several fresh connections (spread over the serving processes) all read the same history."""
    for _ in range(2 * WORKERS):
        assert versions(url) == expected
        if entry is not None:
            assert fresh(url, "/ldes", Accept="application/trig").content == entry


def printed(store) -> list[tuple[str, str, str]]:
    """(version, change, who) of IRI as `gros history` prints them."""
    done = subprocess.run([str(GROS), "history", IRI, "--store", str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [tuple(line.split()[i] for i in (0, 2, 3)) for line in done.stdout.splitlines()[2:]]


def log_events(url: str) -> int:
    """How many members the feed has (the entry point's relations name every page)."""
    pages = [p for p in range(1, 1000) if httpx.get(f"{url}/ldes/{p}", timeout=60).status_code == 200]
    last = _store(ox.parse(fresh(url, f"/ldes/{pages[-1]}", **NQ).content, format=ox.RdfFormat.N_QUADS))
    return (len(pages) - 1) * 250 + len(list(last.quads_for_pattern(None, ox.NamedNode(
        "https://w3id.org/tree#member"), None)))


def test_each_token_name_is_kept_with_its_change_across_processes_restart_and_restore(tmp_path, token_file):
    first = start_server(tmp_path / "first", None, env=token_file)
    try:
        url = first.url
        shipped = versions(url)
        assert [(kind, who) for _, kind, who in shipped] == [("Create", "content")]
        comment(url, None, "een", ALICE)
        comment(url, "een", "twee", BOB)
        comment(url, "twee", "drie", ALICE)
        seen = versions(url)
        assert [(kind, who) for _, kind, who in seen] == [
            ("Create", "content"), ("Update", "alice"), ("Update", "bob"), ("Update", "alice")]
        every_process_sees(url, seen)
        # gros history reads the log while the writer process keeps it.
        assert printed(first.store) == [(str(seq), kind.lower(), who) for seq, kind, who in seen]
        entry = fresh(url, "/ldes", Accept="application/trig").content
        count = log_events(url)
        feed = {p: fresh(url, f"/ldes/{p}", **NQ).content for p in range(1, count // 250 + 2)}
    finally:
        first.stop()

    # A restart on the same store: the same history, byte for byte, and nothing new in it.
    again = start_server(tmp_path / "again", None, "--store", str(first.store), env=token_file)
    try:
        every_process_sees(again.url, seen, entry)
        assert log_events(again.url) == count
        assert {p: fresh(again.url, f"/ldes/{p}", **NQ).content for p in feed} == feed
        comment(again.url, "drie", "vier", BOB)
        after_restart = versions(again.url)
        assert after_restart[:-1] == seen and after_restart[-1][1:] == ("Update", "bob")
        assert after_restart[-1][0] == count + 1  # the numbering carries on
        assert log_events(again.url) == count + 1
    finally:
        again.stop()

    backup = tmp_path / "backup.nq"
    done = subprocess.run([str(GROS), "backup", "--store", str(first.store), "-o", str(backup)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    restored = tmp_path / "restored-store"
    done = subprocess.run([str(GROS), "restore", "--store", str(restored), str(backup)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert printed(restored) == [(str(seq), kind.lower(), who) for seq, kind, who in after_restart]

    # A server on the restored store, whose content file changed meanwhile: the same history, the
    # file's change by `content` (that resource only), and each token's next write is its own.
    changed = tmp_path / "changed-data"
    changed.mkdir()
    (changed / "minimal.ttl").write_text(MINIMAL.read_text() + f'\n<{IRI}> <{RDFS}comment> "in het bestand"@nl .\n')
    on_restored = start_server(tmp_path / "restored", None, "--store", str(restored), env=token_file, data=changed)
    try:
        url = on_restored.url
        loaded = versions(url)
        assert loaded[:-1] == after_restart and loaded[-1] == (count + 2, "Update", "content")
        assert log_events(url) == count + 2
        every_process_sees(url, loaded)
        comment(url, "vier", "vijf", ALICE)
        write(url, f'DELETE DATA {{ GRAPH <{GRAPH}> {{ <{IRI}> <{RDFS}comment> "vijf"@nl }} }}', BOB)
        final = versions(url)
        assert final[:-2] == loaded
        assert [row[1:] for row in final[-2:]] == [("Update", "alice"), ("Update", "bob")]
        assert [row[0] for row in final[-2:]] == [count + 3, count + 4]
        every_process_sees(url, final)
        # The last write took the runtime comment away: what is left is the shipped version and
        # the file's new comment.
        nt = {"Accept": "application/n-triples"}
        assert sorted(fresh(url, f"/memento/{final[-1][0]}{PATH}", **nt).text.splitlines()) == sorted(
            fresh(url, f"/memento/{shipped[0][0]}{PATH}", **nt).text.splitlines()
            + [f'<{IRI}> <{RDFS}comment> "in het bestand"@nl .'])
    finally:
        on_restored.stop()
