"""One error model for the whole package, and its rendering as an HTTP response.

Every error a person can meet is a `GrosError`: a plain message, `details` (a list of small dicts
naming file, line, column, focus node, shape and the like), the HTTP `status` a request gets for
it and the `exit_code` the CLI ends with (0 ok, 1 the data or result is invalid, 2 usage or input
error). Each layer raises the error that describes what went wrong; only two places translate it:
the HTTP app's exception handler (`problem_response`: JSON for machines, an HTML page for browsers,
plain text otherwise) and the CLI's command group (`gros.cli.main`). Query workers send errors as
data (`to_dict` / `from_dict`), since an exception does not cross a process boundary.

JSON: {"error": message, "status": code, "details": [...]}.
"""
from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path

import mimeparse
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "web" / "templates"))


class GrosError(Exception):
    """An error with a plain message, what it concerns, its HTTP status and its CLI exit code.

    Subclasses set `status` and `exit_code` for their kind; a single raise may override them."""

    status: int = 500
    exit_code: int = 1

    def __init__(self, message: str = "", details: list[dict] | None = None, *, status: int | None = None,
                 exit_code: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.details = list(details or [])
        self.headers = dict(headers or {})
        if status is not None:
            self.status = status
        if exit_code is not None:
            self.exit_code = exit_code

    def to_dict(self) -> dict:
        """The error as data (the JSON body of a response, and how a worker sends it)."""
        return {"error": str(self), "status": self.status, "details": self.details}

    @classmethod
    def from_dict(cls, data: dict) -> GrosError:
        return cls(data["error"], data.get("details"), status=data.get("status", 500))


class HTTPProblem(GrosError):
    """An error about the HTTP request itself (a parameter, a header, a size), raised by the
    protocol layers; it carries the status first, as the protocol tables read."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        self.message = message
        super().__init__(message, details, status=status, headers=headers)


def negotiated(request: Request, offered):
    """formats.negotiate for a request (its Accept and ?format=), with the protocol's answers
    when nothing fits: 406 for an Accept we cannot meet, 400 for an unknown ?format=."""
    from gros import formats

    try:
        return formats.negotiate(request.headers.get("accept"), offered, request.query_params.get("format"))
    except formats.NotAcceptable as err:
        raise HTTPProblem(406, str(err)) from None
    except formats.UnknownFormat as err:
        raise HTTPProblem(400, str(err)) from None


def _preferred(accept: str | None) -> str:
    # python-mimeparse lets the last of equally good types win: JSON for */*.
    offered = ["text/plain", "text/html", "application/json"]
    try:
        best = mimeparse.best_match(offered, (accept or "application/json")[:4096])
    except (ValueError, IndexError):
        best = ""
    if best:
        return best
    # The client asked for something else (say, text/csv results): a plain-text error reads anywhere.
    return "text/plain"


def problem_response(request: Request | None, problem: GrosError) -> Response:
    accept = request.headers.get("accept") if request is not None else None
    kind = _preferred(accept)
    headers = dict(problem.headers)
    headers.setdefault("Cache-Control", "no-store")
    reason = HTTPStatus(problem.status).phrase
    message = str(problem)
    if kind == "text/html" and request is not None:
        columns = sorted({k for d in problem.details for k in d})
        return TEMPLATES.TemplateResponse(
            request, "error.html",
            {"status": problem.status, "reason": reason, "message": message,
             "details": [{k: _text(v) for k, v in d.items()} for d in problem.details], "columns": columns},
            status_code=problem.status, headers=headers)
    if kind == "text/plain":
        lines = [f"{problem.status} {reason}: {message}"]
        lines += ["  " + ", ".join(f"{k}: {_text(v)}" for k, v in d.items()) for d in problem.details]
        return Response("\n".join(lines) + "\n", status_code=problem.status, headers=headers,
                        media_type="text/plain; charset=utf-8")
    body = problem.to_dict()
    return Response(json.dumps(body, ensure_ascii=False), status_code=problem.status, headers=headers,
                    media_type="application/json")


def _text(value) -> str:
    if isinstance(value, dict):
        return " / ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return "" if value is None else str(value)
