"""The error model (errors.py): every error a person meets is a GrosError with a status and an exit
code, crosses a process boundary as data, and is translated in one place for HTTP and one for the CLI."""
from __future__ import annotations

import importlib
import pkgutil

import pytest
from click.testing import CliRunner

import gros
from gros.cli import main
from gros.errors import GrosError, HTTPProblem


def _package_errors() -> list[type[GrosError]]:
    for info in pkgutil.walk_packages(gros.__path__, "gros."):
        importlib.import_module(info.name)
    found, todo = [], [GrosError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_error_of_the_package_has_a_status_and_an_exit_code():
    errors = _package_errors()
    assert len(errors) >= 25  # the errors of every layer, not a handful
    for error in errors:
        assert 400 <= error.status <= 599, error
        assert error.exit_code in (1, 2), error


def test_exceptions_of_the_package_are_gros_errors():
    """No module defines an exception outside the model (but private control-flow ones)."""
    import inspect

    for info in pkgutil.walk_packages(gros.__path__, "gros."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module.__name__
                    and not name.startswith("_")):
                assert issubclass(value, GrosError), f"{module.__name__}.{name} is not a GrosError"


def test_an_error_travels_as_data_and_comes_back_the_same():
    from gros.content.files import SourceError

    err = SourceError("data/x.ttl", "expected '.'", line=3, column=7)
    back = GrosError.from_dict(err.to_dict())
    assert (str(back), back.status, back.details) == (str(err), 400, [{"file": "data/x.ttl", "line": 3, "column": 7}])


def test_an_http_problem_is_a_gros_error_with_its_status_first():
    problem = HTTPProblem(413, "too large", headers={"Retry-After": "1"})
    assert isinstance(problem, GrosError) and problem.status == 413 and problem.message == "too large"
    assert problem.to_dict() == {"error": "too large", "status": 413, "details": []}


@pytest.mark.parametrize("args, code, words", [
    (["query", "no-such-query"], 2, "no named query 'no-such-query'"),
    (["query", "--store", "/nonexistent/store", "bodies-by-legal-form"], 2, "there is no store at"),
    (["restore", "--store", "/tmp/gros-never-made", "/nonexistent/backup.nq"], 2, ""),
])
def test_the_cli_prints_the_message_and_exits_with_the_error_code(args, code, words):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert result.output.startswith("error: ") or "error" in result.output
    assert words in result.output
