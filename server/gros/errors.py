"""Error responses in one shape (DESIGN.md): JSON for machines, HTML for browsers, text otherwise.

JSON: {"error": message, "status": code, "details": [...]}; details carry file, line, focus
node, shape and the like. Every error raised while answering a request is an `HTTPProblem`.
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


class HTTPProblem(Exception):
    def __init__(self, status: int, message: str, details: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        super().__init__(message)


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


def problem_response(request: Request | None, problem: HTTPProblem) -> Response:
    accept = request.headers.get("accept") if request is not None else None
    kind = _preferred(accept)
    headers = dict(problem.headers)
    headers.setdefault("Cache-Control", "no-store")
    reason = HTTPStatus(problem.status).phrase
    if kind == "text/html" and request is not None:
        columns = sorted({k for d in problem.details for k in d})
        return TEMPLATES.TemplateResponse(
            request, "error.html",
            {"status": problem.status, "reason": reason, "message": problem.message,
             "details": [{k: _text(v) for k, v in d.items()} for d in problem.details], "columns": columns},
            status_code=problem.status, headers=headers)
    if kind == "text/plain":
        lines = [f"{problem.status} {reason}: {problem.message}"]
        lines += ["  " + ", ".join(f"{k}: {_text(v)}" for k, v in d.items()) for d in problem.details]
        return Response("\n".join(lines) + "\n", status_code=problem.status, headers=headers,
                        media_type="text/plain; charset=utf-8")
    body = {"error": problem.message, "status": problem.status, "details": problem.details}
    return Response(json.dumps(body, ensure_ascii=False), status_code=problem.status, headers=headers,
                    media_type="application/json")


def _text(value) -> str:
    if isinstance(value, dict):
        return " / ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return "" if value is None else str(value)
