"""`gros reconcile`: the names of one column of a CSV file matched to our IRIs, without a server.

The table is written back (to standard output or --output) with four columns added: the IRI of
the best candidate, its label, its score (0-100) and whether it is a certain match. Only a
certain match should be joined on without a look: see docs/reconciliation.md.

Exit codes: 0 ok, 2 usage or input error (a column or type that does not exist, a file that
cannot be read).
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import click

from gros.content.files import ContentErrors, SourceError
from gros.reconciliation import properties as props
from gros.reconciliation.index import UnknownType, local_index
from gros.reconciliation.service import LANGUAGES, reconcile_names
from gros.settings import Settings
from gros.store.embedded import StoreError

ADDED = ("gros_iri", "gros_label", "gros_score", "gros_match")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _read(path: Path) -> tuple[list[str], list[dict], csv.Dialect]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        _fail(f"{path} is not UTF-8 text (byte {err.start}); save the table as UTF-8 CSV")
    except OSError as err:
        _fail(f"{path} cannot be read: {err.strerror}")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames:
        _fail(f"{path} has no header row")
    return list(reader.fieldnames), list(reader), dialect


@click.command("reconcile")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--column", "-c", required=True, help="The column with the names to match.")
@click.option("--type", "-t", "type_", metavar="TYPE",
              help="Only candidates of this type: a class IRI or gros:Region, gros:CooperationBody, "
                   "org:Organization, gros:LegalInstrument (or a class under them).")
@click.option("--property", "-p", "properties", multiple=True, metavar="COLUMN=PROPERTY",
              help="Compare this column with a property of the candidates, e.g. land=country or "
                   f"code=nuts-code (properties: {', '.join(props.defined())}; repeatable).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the table here instead of to standard output.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of the labels written.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder with ontology/ and data/ (default: this checkout, or GROS_ROOT).")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Match against this on-disk store (say, one that gros load filled) instead of the content files.")
def reconcile(file, column, type_, properties, output, lang, root, store_path):
    """Match the names in COLUMN of the CSV FILE to IRIs of the knowledge graph.

    Adds the columns gros_iri, gros_label, gros_score (0-100) and gros_match (true only when the
    best candidate is certain: a high score, well ahead of the next, no property against it).
    Case, accents, hyphens, word order, "&"/"en"/"und", prefixes such as Provincie, Kreis,
    Stadt, Euregio and small typos are taken care of; names in nl, en, de and fr are known.

    Example: gros reconcile regions.csv --column naam --type gros:Region --property land=country
    """
    fields, rows, dialect = _read(file)
    if column not in fields:
        _fail(f"{file} has no column {column!r}; its columns are {', '.join(map(repr, fields))}")
    mapping = {}
    for item in properties:
        name, sep, pid = item.partition("=")
        if not sep or not name.strip() or not pid.strip():
            _fail(f"--property expects COLUMN=PROPERTY, got {item!r}")
        if name.strip() not in fields:
            _fail(f"--property {item}: {file} has no column {name.strip()!r}")
        try:
            props.find(pid.strip())
        except props.PropertyError as err:
            _fail(f"--property {item}: {err}")
        mapping[name.strip()] = pid.strip()
    settings = Settings.from_env(root=root.resolve() if root else None)
    try:
        index = local_index(settings, store_path)
    except (ContentErrors, SourceError, StoreError) as err:
        _fail(str(err))
    try:
        found = reconcile_names(index, [row.get(column) for row in rows], type_,
                                [{pid: row.get(col) for col, pid in mapping.items()} for row in rows], lang=lang)
    except UnknownType as err:
        _fail(str(err))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields + [f for f in ADDED if f not in fields], dialect=dialect,
                            lineterminator="\n")
    writer.writeheader()
    for row, result in zip(rows, found):
        writer.writerow({**row, "gros_iri": result["id"] or "", "gros_label": result["name"] or "",
                         "gros_score": "" if result["score"] is None else f"{result['score']:g}",
                         "gros_match": "true" if result["match"] else "false"})
    if output is None:
        click.echo(out.getvalue(), nl=False)
    else:
        output.write_text(out.getvalue(), encoding="utf-8")
    matched = sum(1 for r in found if r["match"])
    click.echo(f"{len(rows)} rows: {matched} matched, {sum(1 for r in found if r['id'] and not r['match'])} "
               f"with candidates to check, {sum(1 for r in found if not r['id'])} without candidates", err=True)
