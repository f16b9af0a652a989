"""Settings declared once (settings.py): the environment, the flags and the docs all come from one list."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gros.cli import main
from gros.settings import SettingError, Settings, declarations, markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_docs_settings_md():
    assert markdown_table() in (ROOT / "docs" / "settings.md").read_text(), \
        "docs/settings.md is out of date: paste gros.settings.markdown_table() into it"
    for name, declared in declarations().items():
        assert declared.help, f"{name} has no help"
        assert declared.env and declared.env.startswith("GROS_"), f"{name} has no environment variable"


def test_every_serve_flag_comes_from_a_declaration():
    help_text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    for name, declared in declarations().items():
        if declared.flag:
            assert declared.flag in help_text and declared.env in help_text, name


@pytest.mark.parametrize("variable, value, words", [
    ("GROS_WORKERS", "many", "GROS_WORKERS is 'many', but workers must be a whole number"),
    ("GROS_QUERY_TIMEOUT", "0", "GROS_QUERY_TIMEOUT is '0', but query_timeout must be at least 0.1"),
    ("GROS_PAGE_ITEMS", "1.5", "GROS_PAGE_ITEMS is '1.5', but page_items must be a whole number"),
])
def test_a_bad_environment_value_names_the_variable_and_the_value(variable, value, words):
    with pytest.raises(SettingError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ={variable: value})


def test_the_cli_reports_a_bad_environment_value_with_exit_code_2():
    result = CliRunner().invoke(main, ["query", "--list"], env={"GROS_MAX_ROWS": "lots"})
    assert result.exit_code == 2
    assert "GROS_MAX_ROWS is 'lots'" in result.output


def test_flags_win_over_the_environment_which_wins_over_the_default():
    assert Settings.from_env(environ={}).workers == 2
    assert Settings.from_env(environ={"GROS_WORKERS": "3"}).workers == 3
    assert Settings.from_env(environ={"GROS_WORKERS": "3"}, workers=5).workers == 5
    assert Settings.from_env(environ={"GROS_ALLOW_SERVICE": "http://a/ http://b/"}).allow_service == (
        "http://a/", "http://b/")
