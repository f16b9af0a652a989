"""`gros history IRI`: the versions of one resource in a terminal, from the change log of a store
(also while `gros serve` runs on it: the log is read, never written).

Each line is one version: its number (the member of the change feed, /ldes/event/N), when (UTC),
what (create, update, delete), who (the token's name, or `content` for the content files) and the
size of the description. `--version N` prints that version in TriG (graph by graph), the text to
write back to revert a change (docs/publishing.md).

Exit codes: 0 ok; 2 no store, no history, or nothing known about the IRI.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
import pyoxigraph as ox

from gros.history.changes import parse
from gros.history.log import ChangeLog
from gros.settings import Settings


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("history")
@click.argument("iri")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="The store folder (default: the one gros serve uses for this checkout).")
@click.option("--version", "version", type=int, metavar="N", help="Print version N of the resource in TriG.")
def history(iri, store_path, version):
    """The versions of the resource IRI: when, what, who. A path such as /id/region/limburg-nl or
    id/region/limburg-nl stands for the IRI on the base."""
    settings = Settings.from_env()
    store_path = store_path or settings.default_store
    if iri.startswith("/") or iri.startswith("id/"):
        iri = settings.base_iri + iri.lstrip("/")
    if not ChangeLog.exists_for(store_path):
        _fail(f"the store at {store_path} has no history (it is written by gros serve; give --store PATH)")
    log = ChangeLog.for_store(store_path)
    events = log.versions(iri)
    if not events:
        _fail(f"the history of {store_path} knows nothing about <{iri}>")
    if version is not None:
        chosen = [e for e in events if e.seq == version]
        if not chosen:
            _fail(f"{version} is not a version of <{iri}>; its versions are {', '.join(str(e.seq) for e in events)}")
        quads = parse(chosen[0].description)
        sys.stdout.buffer.write(ox.serialize(quads, format=ox.RdfFormat.TRIG) or b"# deleted: no description\n")
        return
    click.echo(f"<{iri}>: {len(events)} versions")
    rows = [("version", "time (UTC)", "change", "who", "triples")]
    for event in events:
        rows.append((str(event.seq), event.published, event.kind, event.actor,
                     str(event.description.count("\n"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
