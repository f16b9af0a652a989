"""The `gros` command: a thin layer over the library.

Exit codes: 0 ok, 1 the data or result is invalid, 2 usage or input error. A command that meets
a `GrosError` it has nothing to add to lets it through: the command group prints its message and
exits with its exit code (`errors.py`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pyoxigraph as ox

from gros import patches
from gros.content import named_queries
from gros.shacl import validation
from gros.cli.options import ROOT_OPTION, command_settings, given, setting_options
from gros.errors import GrosError
from gros.settings import Settings
from gros.content.files import ContentErrors, SourceError, find_files, read_files
from gros.store.embedded import memory_store



def _input_error(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _read_content(settings: Settings):
    try:
        return read_files(find_files(settings))
    except ContentErrors as errors:
        for err in errors.errors:
            click.echo(f"{err}", err=True)
        click.echo(f"{len(errors.errors)} file(s) could not be read; nothing was validated.", err=True)
        sys.exit(2)
    except SourceError as err:
        _input_error(str(err))


class Commands(click.Group):
    """The `gros` group: every command's GrosError ends here, as `error: message` and its exit code."""

    def invoke(self, ctx):
        patches.apply()
        try:
            return super().invoke(ctx)
        except GrosError as err:
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)


def _show_version(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from gros import __version__

    click.echo(f"gros-kg {__version__}\ncontent: {Settings.from_env().content_in_use}")
    ctx.exit()


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and which content (checkout, folder or packaged) is in use, then exit.")
def main():
    """GROS knowledge graph: cross-border cooperation of the Netherlands with Belgium and Germany.

    Validate the content, run named queries, and serve it over SPARQL.
    """


@main.command()
@ROOT_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "turtle", "json"]), default="text",
              show_default=True, help="Report format.")
def validate(root, fmt):
    """Validate ontology/ and data/ against the SHACL shapes in shapes/.

    Reports every result with severity, shape, focus node, path, value, message (nl, en)
    and the file that describes the focus node; also classes and properties used but
    defined nowhere, and our IRIs that are linked to but never described.
    Exit 0: conforms; 1: violations; 2: a file could not be read.
    """
    settings = command_settings(root)
    files = _read_content(settings)
    try:
        report = validation.validate_content(settings, files)
    except ContentErrors as errors:  # a shapes file did not parse
        for err in errors.errors:
            click.echo(str(err), err=True)
        sys.exit(2)
    except SourceError as err:
        _input_error(str(err))
    if fmt == "json":
        click.echo(json.dumps(validation.render_json(report), indent=2, ensure_ascii=False))
    elif fmt == "turtle":
        click.echo(validation.render_graph(report).serialize(format="turtle"))
    else:
        click.echo(validation.render_text(report))
    sys.exit(0 if report.conforms else 1)


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        if "=" not in item:
            _input_error(f"--param expects NAME=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        params[key.strip()] = value
    return params


@main.command()
@ROOT_OPTION
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the query (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json"]), default="table",
              show_default=True, help="Output format (json is SPARQL 1.1 Query Results JSON).")
@click.option("--list", "list_only", is_flag=True, help="List the named queries with their titles.")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="en", show_default=True,
              help="Language of titles in --list.")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Query this on-disk store (say, one that gros load filled) instead of the content files.")
def query(root, name, params, fmt, list_only, lang, store_path):
    """Run the named query NAME of queries/ over the content files (no server needed).

    NAME may also be the path of a .rq file with the same header (title, description in nl and
    en). With --store PATH the query runs over that store: the GROS graph plus what gros load
    added to it.
    """
    settings = command_settings(root)
    available = named_queries.all_queries(settings.queries_dir)
    if list_only or not name:
        for query_name, named in available.items():
            params_text = " ".join(f"{p}=" for p in named.parameters)
            click.echo(f"{query_name:40} {named.title.get(lang, '')}" + (f"  [{params_text}]" if params_text else ""))
        if not name and not list_only:
            click.echo("\nRun one with: gros query NAME [--param NAME=VALUE]", err=True)
        return
    if name.endswith(".rq") and Path(name).is_file():
        available[name] = named_queries.read_query(Path(name))
    if name not in available:
        _input_error(f"no named query {name!r}. Known: {', '.join(available)}")
    named = available[name]
    if store_path:
        from gros.store.embedded import open_for_query

        store = open_for_query(store_path)
    else:
        store = memory_store(_read_content(settings))
    try:
        result = named_queries.run(store, named, _parse_params(params))
    except SyntaxError as err:
        _input_error(f"{named.path}: the query does not parse: {err}")
    if not isinstance(result, ox.QuerySolutions):
        _input_error(f"{named.path}: gros query runs SELECT queries; use the SPARQL endpoint for others")
    if fmt in ("csv", "tsv", "json"):
        formats = {"csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV,
                   "json": ox.QueryResultsFormat.JSON}
        sys.stdout.buffer.write(result.serialize(format=formats[fmt]))
        if fmt == "json":
            sys.stdout.write("\n")
        return
    click.echo(_table(named_queries.rows(result)))


@main.command()
@ROOT_OPTION
@setting_options("host", "port", "store_path", "query_timeout", "timeout_penalty", "workers", "query_threads", "cache_bytes", "max_rows", "max_body",
                 "allow_service", "rate_queries", "rate_writes", "rate_burst_seconds", "remote_query",
                 "remote_update", "remote_graph_store")
def serve(root, **flags):
    """Validate and load the content, then serve SPARQL 1.1 on http://HOST:PORT/sparql.

    Updates are enabled when GROS_UPDATE_TOKEN is set, or GROS_UPDATE_TOKEN_FILE names a file of
    `name:token` lines; clients then send Authorization: Bearer <token>. Without either the
    service is read-only.
    """
    from gros.runtime.arenas import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread starts: memory stays flat under writes (arenas.py)
    settings = command_settings(root, **given(flags))
    if settings.remote and settings.remote_update is None:
        _input_error("--remote-query needs --remote-update too: the content files are loaded into the "
                     "remote store on start")
    if settings.store_path and settings.remote:
        _input_error("give either --store PATH (the embedded store) or --remote-query URL, not both")
    from gros.cli.serving import serve_processes

    serve_processes(settings)


@main.command()
@click.option("--url", help="Base URL of a running gros server (e.g. http://127.0.0.1:8000).")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of a store that no server is using.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The backup file (N-Quads); FILE.sha256 is written next to it.")
@click.option("--gzip", "compress", is_flag=True, help="Compress the backup with gzip.")
def backup(url, store_path, output, compress):
    """Write every graph of the store to one N-Quads file, with a SHA-256 checksum file.

    From a running server (--url: read over HTTP through the Graph Store Protocol, checked to be
    one revision) or from the store folder of a stopped one (--store).
    Exit 0: written; 2: no store, unreachable server, or the file cannot be written.
    """
    from gros.store import backup as backups

    if bool(url) == bool(store_path):
        _input_error("give either --url URL or --store PATH")
    from gros.history import archive

    summary = (backups.backup_url(url, output, compress, base_iri=command_settings(None).base_iri) if url
               else backups.backup_store(store_path, output, compress))
    at = f" at revision {summary.revision}" if summary.revision is not None else ""
    click.echo(f"{summary.quads} quads in {summary.graphs} named graphs and the default graph{at} "
               f"written to {summary.path} (sha256 {summary.sha256})", err=True)
    # The change log goes next to the backup (history/archive.py); --url reads the public
    # interface only, so its restore starts a new history.
    saved = archive.save(store_path, output) if store_path else None
    if saved:
        click.echo(f"the history (change log) written to {saved}", err=True)
    elif url:
        click.echo("the history is not in a --url backup: back up the stopped store with --store to keep it",
                   err=True)


@main.command()
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="A new folder for the store (refused when it exists and is not empty).")
@click.option("--no-checksum", is_flag=True, help="Restore a backup that has no FILE.sha256 next to it.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore(store_path, no_checksum, file):
    """Load the backup FILE (N-Quads, gzip or not) into a new store, then check that the store
    holds exactly the quads of the file. Start the server on it with gros serve --store PATH.

    Exit 0: restored and checked; 1: the file does not match its checksum or does not load;
    2: usage error (target not empty, file missing).
    """
    from gros.store import backup as backups

    from gros.history import archive

    summary = backups.restore(file, store_path, check=not no_checksum)
    click.echo(f"{summary.quads} quads in {summary.graphs} named graphs restored into {summary.path}; "
               f"the store holds exactly the quads of {file}", err=True)
    if archive.load(file, store_path):
        click.echo(f"the history (change log) restored from {archive.companion(file)}", err=True)


def _table(rows: list[dict]) -> str:
    if not rows:
        return "(no results)"
    columns = list(rows[0])
    cells = [[("" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    out.append(f"({len(rows)} rows)")
    return "\n".join(out)


# gros export | release | links | load (cli_publish.py)
from gros.cli.publish import COMMANDS as _PUBLISHING  # noqa: E402

for _command in _PUBLISHING:
    main.add_command(_command)

# gros reconcile (cli/reconcile.py)
from gros.cli.reconcile import reconcile as _reconcile  # noqa: E402

main.add_command(_reconcile)

# gros history (cli/history.py)
from gros.cli.history import history as _history  # noqa: E402

main.add_command(_history)


if __name__ == "__main__":
    main()
