"""The `gros` command: a thin layer over the library.

Exit codes (DESIGN.md): 0 ok, 1 the data or result is invalid, 2 usage or input error.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
import pyoxigraph as ox

from . import queries as named_queries
from . import validation
from .settings import Settings
from .sources import ContentErrors, SourceError, find_files, read_files
from .store import memory_store

ROOT_OPTION = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path),
    help="Folder with ontology/, data/, shapes/ and queries/ (default: this checkout, or GROS_ROOT).")


def _settings(root: Path | None, **overrides) -> Settings:
    return Settings.from_env(root=root.resolve() if root else None, **overrides)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gros-kg")
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
    settings = _settings(root)
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
def query(root, name, params, fmt, list_only, lang):
    """Run the named query NAME of queries/ over the content files (no server needed)."""
    settings = _settings(root)
    try:
        available = named_queries.all_queries(settings.queries_dir)
    except named_queries.QueryFileError as err:
        _input_error(str(err))
    if list_only or not name:
        for query_name, named in available.items():
            params_text = " ".join(f"{p}=" for p in named.parameters)
            click.echo(f"{query_name:40} {named.title.get(lang, '')}" + (f"  [{params_text}]" if params_text else ""))
        if not name and not list_only:
            click.echo("\nRun one with: gros query NAME [--param NAME=VALUE]", err=True)
        return
    if name not in available:
        _input_error(f"no named query {name!r}. Known: {', '.join(available)}")
    named = available[name]
    store = memory_store(_read_content(settings))
    try:
        result = named_queries.run(store, named, _parse_params(params))
    except named_queries.ParameterError as err:
        _input_error(str(err))
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
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the on-disk store (default: var/store in the checkout, or GROS_STORE).")
@click.option("--query-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds a query or update may run before it is stopped (503).")
@click.option("--workers", "workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Query worker processes, i.e. queries that run at once.")
@click.option("--max-rows", type=click.IntRange(min=0), default=100_000, show_default=True,
              help="Most result rows (or triples) per response; 0 for no limit.")
@click.option("--max-body", type=click.IntRange(min=1024), default=10 * 1024 * 1024, show_default=True,
              help="Largest request body in bytes (413 above).")
@click.option("--allow-service", multiple=True, metavar="IRI",
              help="An endpoint that SERVICE and LOAD may contact (repeatable; none by default).")
def serve(root, host, port, store_path, query_timeout, workers, max_rows, max_body, allow_service):
    """Validate and load the content, then serve SPARQL 1.1 on http://HOST:PORT/sparql.

    Updates are enabled when GROS_UPDATE_TOKEN is set; clients then send
    Authorization: Bearer <token>. Without it the service is read-only.
    """
    import uvicorn

    from .app import create_app
    from .service import InvalidContent, Service
    from .store import StoreError

    settings = _settings(root, host=host, port=port, store_path=store_path, query_timeout=query_timeout,
                         workers=workers, max_rows=max_rows, max_body=max_body,
                         allow_service=tuple(allow_service) or None)
    service = Service(settings)
    try:
        service.prepare()
    except InvalidContent as err:
        click.echo(validation.render_text(err.report), err=True)
        click.echo("The shipped data is not valid; the server does not start.", err=True)
        sys.exit(1)
    except ContentErrors as errors:
        for err in errors.errors:
            click.echo(str(err), err=True)
        sys.exit(2)
    except (SourceError, StoreError) as err:
        _input_error(str(err))
    click.echo(f"Serving the GROS knowledge graph on http://{host}:{port}/sparql "
               f"({'updates enabled' if settings.update_token else 'read-only'})", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Our access log has the timing; uvicorn's own would repeat each line without it.
    uvicorn.run(create_app(settings, service), host=host, port=port, log_level="info", access_log=False)


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


if __name__ == "__main__":
    main()
