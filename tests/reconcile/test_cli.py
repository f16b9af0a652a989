"""`gros reconcile FILE.csv --column NAME`: the table comes back with IRI, label, score and match."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from gros.cli.main import main

ID = "https://w3id.org/gros/id/"
GROS = Path(sys.executable).with_name("gros")


def test_a_semicolon_csv_gets_four_columns_and_keeps_its_own(tmp_path):
    table = tmp_path / "regions.csv"
    table.write_text("naam;land;opmerking\nProvincie Limburg;NL;a\nProvincie Limburg;België;b\n"
                     "Kreis Kleve;;c\nProvincie Utrecht;NL;d\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["reconcile", str(table), "--column", "naam", "--type", "gros:Region",
                                       "--property", "land=country", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")), delimiter=";"))
    assert list(rows[0]) == ["naam", "land", "opmerking", "gros_iri", "gros_label", "gros_score", "gros_match"]
    assert [(r["gros_iri"], r["gros_match"]) for r in rows[:3]] == [
        (ID + "region/limburg-nl", "true"), (ID + "region/limburg-be", "true"),
        (ID + "region/kreis-kleve", "true")]
    # The graph has no province of Utrecht: the city may be offered as the best candidate, never matched.
    assert rows[3]["gros_match"] == "false" and rows[3]["gros_iri"] != ID + "region/utrecht"
    assert [r["opmerking"] for r in rows] == ["a", "b", "c", "d"]
    assert 0 <= float(rows[0]["gros_score"]) <= 100
    assert "4 rows: 3 matched" in result.output  # the summary goes to standard error


def test_as_a_command_writing_to_standard_output(tmp_path):
    table = tmp_path / "bodies.csv"
    table.write_text("name\nEuregio Maas-Rhein\nEms-Dollart-Region\n", encoding="utf-8")
    done = subprocess.run([str(GROS), "reconcile", str(table), "-c", "name", "--lang", "nl"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["gros_iri"] for r in rows] == [ID + "body/euregio-maas-rijn", ID + "body/ems-dollart-region"]
    assert rows[1]["gros_label"] == "Eems Dollard Regio"


def test_mistakes_are_named_with_exit_code_2(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("naam\nEurode\n", encoding="utf-8")
    runner = CliRunner()
    for args, message in [(["--column", "name"], "has no column 'name'"),
                          (["--column", "naam", "--type", "gros:Person"], "unknown type"),
                          (["--column", "naam", "--property", "land=country"], "has no column 'land'"),
                          (["--column", "naam", "--property", "naam=colour"], "unknown property"),
                          (["--column", "naam", "--property", "naam"], "COLUMN=PROPERTY")]:
        result = runner.invoke(main, ["reconcile", str(table), *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    missing = runner.invoke(main, ["reconcile", str(tmp_path / "nothing.csv"), "--column", "naam"])
    assert missing.exit_code == 2 and "cannot be read" in missing.output
