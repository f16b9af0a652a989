"""The `gros` command: help, exit codes, messages people can act on."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gros.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("command", [[], ["validate"], ["query"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_console_script_validates_the_shipped_data():
    gros = Path(sys.executable).with_name("gros")
    completed = subprocess.run([str(gros), "validate", "--root", str(ROOT)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "conforms" in completed.stdout


def test_validate_exit_1_names_focus_node_shape_and_file(small_root):
    (small_root / "data" / "typo.ttl").write_text(
        "<https://w3id.org/gros/id/organisation/x> <https://w3id.org/gros/def#memberof> "
        "<https://w3id.org/gros/id/region/netherlands> .\n", encoding="utf-8")
    result = run("validate", "--root", str(small_root))
    assert result.exit_code == 1
    assert "data/typo.ttl" in result.output
    assert "focus node: https://w3id.org/gros/def#memberof" in result.output
    assert "shape:      https://w3id.org/gros/shape#UndefinedTerm" in result.output
    assert "nl: " in result.output and "en: " in result.output


def test_validate_exit_2_on_a_file_that_does_not_parse(small_root):
    (small_root / "data" / "broken.ttl").write_text(
        '@prefix ex: <http://example.org/> .\n\nex:a ex:b "no end .\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--root", str(small_root)])
    assert result.exit_code == 2
    assert f"{small_root / 'data' / 'broken.ttl'}:3:" in result.output


@pytest.mark.parametrize("fmt", ["json", "turtle"])
def test_validate_machine_formats(small_root, fmt):
    result = run("validate", "--root", str(small_root), "--format", fmt)
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.output)["conforms"] is True
    else:
        from rdflib import Graph
        from rdflib.namespace import SH
        graph = Graph().parse(data=result.output, format="turtle")
        assert (None, SH.conforms, None) in graph


def test_query_list_names_every_query():
    result = run("query", "--list", "--root", str(ROOT))
    assert result.exit_code == 0
    for path in (ROOT / "queries").glob("*.rq"):
        assert path.stem in result.output


def test_unknown_query_is_exit_2_with_the_known_names():
    result = CliRunner().invoke(main, ["query", "no-such-query", "--root", str(ROOT)])
    assert result.exit_code == 2 and "no-such-query" in result.output and "Known:" in result.output


def test_query_with_unknown_parameter_is_exit_2():
    name = sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))[0]
    result = CliRunner().invoke(main, ["query", name, "--param", "nonsense=1", "--root", str(ROOT)])
    assert result.exit_code == 2 and "nonsense" in result.output


def test_query_formats(tmp_path):
    name = "bodies-covering-region" if (ROOT / "queries" / "bodies-covering-region.rq").exists() else \
        sorted(p.stem for p in (ROOT / "queries").glob("*.rq"))[0]
    table = run("query", name, "--root", str(ROOT))
    assert table.exit_code == 0 and "rows)" in table.output
    as_json = json.loads(run("query", name, "--root", str(ROOT), "--format", "json").output)
    assert as_json["results"]["bindings"]
    csv_text = run("query", name, "--root", str(ROOT), "--format", "csv").output
    assert csv_text.splitlines()[0].split(",") == as_json["head"]["vars"]


def test_serve_refuses_to_start_on_invalid_data_and_prints_the_report(small_root, tmp_path):
    (small_root / "data" / "typo.ttl").write_text(
        "<https://w3id.org/gros/id/organisation/x> <https://w3id.org/gros/def#memberof> "
        "<https://w3id.org/gros/id/region/netherlands> .\n", encoding="utf-8")
    gros = Path(sys.executable).with_name("gros")
    completed = subprocess.run([str(gros), "serve", "--root", str(small_root), "--store", str(tmp_path / "store"),
                                "--port", "1"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert "does not start" in completed.stderr
    assert "https://w3id.org/gros/def#memberof" in completed.stderr and "data/typo.ttl" in completed.stderr


def test_serve_reports_a_broken_file_with_its_position(small_root, tmp_path):
    (small_root / "data" / "broken.ttl").write_text('<a> <b> "open .\n', encoding="utf-8")
    gros = Path(sys.executable).with_name("gros")
    completed = subprocess.run([str(gros), "serve", "--root", str(small_root), "--store", str(tmp_path / "store"),
                                "--port", "1"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert f"{small_root / 'data' / 'broken.ttl'}:1:" in completed.stderr
