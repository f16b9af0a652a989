"""The commands that publish the graph and bring other data to it: `gros export`, `gros release`,
`gros links` and `gros load`. cli.py registers them on the `gros` group.

Exit codes (docs/contracts.md): 0 ok, 1 the data or result is invalid, 2 usage or input error.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gros.publish import export
from gros import formats
from gros.cli.options import ROOT_OPTION, command_settings
from gros.publish import outlinks
from gros.shacl import validation
from gros.settings import Settings
from gros.content.files import ContentErrors, SourceError

FORMAT_NAMES = [f.name for f in export.DUMP_FORMATS]


def _fail(message: str, code: int = 2):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _content(settings: Settings):
    try:
        return export.content_files(settings)
    except ContentErrors as errors:
        for err in errors.errors:
            click.echo(str(err), err=True)
        _fail(f"{len(errors.errors)} file(s) could not be read; nothing was exported")
    except SourceError as err:
        _fail(str(err))


def _write(data: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    except OSError as err:
        _fail(f"cannot write {output}: {err}")


@click.command("export")
@ROOT_OPTION
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), default="turtle", show_default=True,
              help="RDF syntax. nquads and trig keep the named graphs (one per file); the others hold "
                   "the union of all graphs. jsonld is compacted with the published @context.")
@click.option("--profile", metavar="NAME",
              help="A registry profile instead of the whole graph: dcat-ap, cpov, eli or void "
                   "(the CONSTRUCT queries in queries/export/).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write every dump (gros.ttl, gros.nt, ...) and every profile (dcat-ap.ttl, ...) into this folder.")
def export_command(root, fmt, profile, output, folder):
    """Export the graph, read from the content files (no server needed).

    \b
    gros export --format nquads -o gros.nq
    gros export --profile dcat-ap --format turtle
    gros export --dir dist
    Exit 0: written; 2: unknown profile, unreadable file or unwritable output.
    """
    settings = command_settings(root)
    if folder and (output or profile):
        _fail("--dir writes every dump and profile; it does not combine with -o or --profile")
    files = _content(settings)
    chosen = export.dump_format(fmt)
    if folder:
        quads = export.content_quads(files)
        written = []
        for dump_fmt in export.DUMP_FORMATS:
            _write(export.serialize(quads, dump_fmt), folder / export.dump_name(dump_fmt))
            written.append(export.dump_name(dump_fmt))
        for name in export.profile_names(settings):
            _write(export.serialize(export.export_profile(settings, name, files), formats.TURTLE),
                   folder / f"{name}.ttl")
            written.append(f"{name}.ttl")
        click.echo(f"{len(quads)} statements; wrote {', '.join(written)} to {folder}", err=True)
        return
    if profile:
        try:
            items = export.export_profile(settings, profile, files)
        except export.UnknownProfile as err:
            _fail(str(err))
    else:
        items = export.content_quads(files)
    _write(export.serialize(items, chosen), output)
    if output:
        click.echo(f"{len(items)} statements written to {output}", err=True)


@click.command("release")
@ROOT_OPTION
@click.argument("version")
@click.option("--dist", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the releases (default: dist/ in the content root).")
@click.option("--date", "issued", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Release date for dct:issued (default: today).")
@click.option("--force", is_flag=True, help="Replace dist/VERSION when it exists.")
@click.option("--packages", "prebuilt", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Take the wheel and sdist of VERSION from this folder (say, dist/ after make dist) "
                   "instead of building them.")
@click.option("--no-package", is_flag=True,
              help="Release the dumps and profiles only, for a content folder that is not a checkout.")
def release_command(root, version, dist, issued, force, prebuilt, no_package):
    """Write dist/VERSION/: every dump (gzip), the package (wheel and sdist, built from this
    checkout), SHA256SUMS, the DCAT-AP description, VoID, the CPOV and ELI profiles, and a data
    changelog against the previous release in dist/.

    VERSION must be the version of the package (server/gros/__init__.py) and of CITATION.cff;
    the DCAT-AP description gets it too.

    Exit 0: released; 1: the content does not pass the shapes; 2: bad or disagreeing version,
    existing release, unreadable file, package not built.
    """
    from gros.publish.release import Packages, ReleaseError, is_checkout, make_release

    settings = command_settings(root)
    dist = dist or settings.root / "dist"
    if no_package and prebuilt:
        _fail("--no-package releases no package; it does not combine with --packages")
    if no_package:
        packages = None
    elif is_checkout(settings.root):
        packages = Packages(checkout=settings.root, prebuilt=prebuilt)
    elif prebuilt:
        packages = Packages(prebuilt=prebuilt)
    else:
        _fail(f"{settings.root} is not a checkout of gros-kg, so the package cannot be built from it: run "
              f"gros release in a checkout (or --root CHECKOUT), give --packages DIR with the wheel and sdist, "
              f"or release the dumps only with --no-package")
    try:
        made = make_release(settings, version, dist, issued.date() if issued else None, force, packages)
    except ReleaseError as err:
        if err.report is not None:
            click.echo(validation.render_text(err.report), err=True)
        _fail(str(err), err.exit_code)
    except ContentErrors as errors:
        for err in errors.errors:
            click.echo(str(err), err=True)
        _fail(f"{len(errors.errors)} file(s) could not be read; nothing was released")
    changes = made.changes
    since = f"since {changes.previous}" if changes.previous else "first release"
    click.echo(f"released {version} in {made.folder}: {len(made.files)} files; {since}: "
               f"+{changes.triples_added} -{changes.triples_removed} triples, "
               f"+{len(changes.resources_added)} -{len(changes.resources_removed)} resources", err=True)


@click.command("links")
@ROOT_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def links_command(root, fmt):
    """Links out: per class, the share of instances with a link of each kind (Wikidata, NUTS,
    ISO 3166-2, EU country table, CELEX, ELI, treaty numbers, TOOI, ROR, GeoNames), and a check
    that every identifier matches the syntax of its system (queries/links/links.rq).

    Exit 0: every identifier is well-formed; 1: one or more are malformed.
    """
    settings = command_settings(root)
    report = outlinks.link_report(settings, _content(settings))
    if fmt == "json":
        click.echo(json.dumps(outlinks.render_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo(outlinks.render_text(report))
    sys.exit(0 if report.ok else 1)


@click.command("load")
@ROOT_OPTION
@click.option("--graph", "graph", required=True, metavar="IRI",
              help="The named graph to put the files in (its earlier content is replaced).")
@click.option("--store", "store_path", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the on-disk store (default: GROS_STORE, else var/store in the content folder; for the "
                   "packaged content, store/ in your user data folder).")
@click.option("--bulk/--no-bulk", default=None,
              help="The path for large files (millions of triples), taken by itself from 4 MB of files on: "
                   "bulk parsing into a staging copy of the store, the term and link checks as SPARQL, the "
                   "shapes per --shapes in batches over worker processes; the copy replaces the store only "
                   "when every check passed.")
@click.option("--shapes", "shapes", default="all", show_default=True, metavar="all|sample:N|none",
              help="With --bulk: validate every resource of the files against our shapes (all), a fixed "
                   "sample of N resources, or none (trusted data). Parsing, gros: terms and links to our "
                   "IRIs are always checked. What was NOT checked is printed and recorded in the store.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="With --bulk: processes validating the shapes (default: the cores, at most 4).")
@click.option("--progress/--no-progress", default=None,
              help="With --bulk: show progress (triples, rate, time left) on stderr; default: only when "
                   "stderr is a terminal.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
def load_command(root, graph, store_path, bulk, shapes, workers, progress, files):
    """Load your own RDF FILES (Turtle, N-Triples, TriG, N-Quads, RDF/XML, JSON-LD) into the named
    graph IRI of a local store that also holds the GROS graph, after checking them against our
    ontology and shapes wherever they use our terms. Then query both at once with
    gros query --store PATH, or serve them with gros serve --store PATH.

    Checked, always: every file parses (errors give file:line:column); terms in our namespace
    (gros:) exist in the ontology; links to our instance IRIs point at described resources;
    unless --bulk --shapes says otherwise, every resource that uses our classes passes our
    shapes. Nothing is written unless all of that passes.

    Exit 0: loaded; 1: the files break our shapes (nothing loaded); 2: unreadable file, bad graph
    IRI, or the store is in use.
    """
    from gros.ingest import bulk as bulk_path
    from gros.ingest.loading import LoadRefused, load_research_data
    from gros.runtime.service import InvalidContent
    from gros.store.embedded import StoreError

    try:
        policy = bulk_path.ShapesPolicy.parse(shapes)
    except ValueError as err:
        _fail(str(err))
    if policy.mode != "all" and bulk is False:
        _fail(f"--shapes {policy} needs the bulk path; leave out --no-bulk")
    if bulk is None:
        bulk = policy.mode != "all" or bulk_path.wants_bulk(files)
    settings = command_settings(root, store_path=store_path)
    try:
        if bulk:
            outcome = bulk_path.bulk_load_research_data(settings, graph, list(files), policy, workers, progress)
        else:
            outcome = load_research_data(settings, graph, list(files))
    except LoadRefused as err:
        if bulk:
            click.echo(bulk_path.render_results(err.results), err=True)
        else:
            for result in err.results:
                click.echo(validation.render_text(validation.Report([result])).rsplit("\n", 1)[0], err=True)
        _fail(str(err), err.exit_code)
    except InvalidContent as err:
        click.echo(validation.render_text(err.report), err=True)
        _fail("the GROS content does not pass its shapes; nothing was loaded", 1)
    except ContentErrors as errors:
        for err in errors.errors:
            click.echo(str(err), err=True)
        _fail("the GROS content could not be read; nothing was loaded")
    except (SourceError, StoreError) as err:
        _fail(str(err))
    if bulk:
        click.echo(bulk_path.render_outcome(outcome), err=True)
        return
    for warning in outcome.warnings:
        click.echo(validation.render_text(validation.Report([warning])).rsplit("\n", 1)[0], err=True)
    click.echo(f"{outcome.triples} triples from {len(outcome.files)} file(s) loaded into <{outcome.graph}> "
               f"of the store {outcome.store}. Query them with our data: "
               f"gros query --store {outcome.store} QUERY.rq, or gros serve --store {outcome.store}", err=True)


COMMANDS = [export_command, release_command, links_command, load_command]

