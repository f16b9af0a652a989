"""Memento (RFC 7089) for the resources of /id/...: every version the change log holds.

- The original resource `/id/x` is its own TimeGate ("200-style negotiation", RFC 7089 §4.1.2):
  without `Accept-Datetime` it answers as always, with `Link` rels `original timegate` and
  `timemap` and `Vary: Accept-Datetime`; with `Accept-Datetime` it answers with the version that
  was current at that time: `Memento-Datetime`, `Content-Location` naming the memento, and the
  links `original`, `timegate`, `timemap`, `memento`.
- The TimeMap `/timemap/id/x` (`application/link-format`, RFC 6690) lists every version.
- A memento `/memento/{seq}/id/x` is the description of x as event `seq` of the change feed left
  it; it never changes (`Cache-Control: immutable`).

Times: the log keeps microseconds; HTTP dates have seconds. A version belongs to the second it
was written in, so `Accept-Datetime` T selects the last version written before the end of second T.
Only versions are mementos: a deletion ends the previous one. Asked for a time before the first
version, or after a deletion, the TimeGate answers 404 with the links (RFC 7089 §4.1.2 leaves the
status of "no memento" to the server).
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Request
from starlette.responses import Response

from gros.errors import HTTPProblem
from gros.history.changes import parse
from gros.history.log import Event
from gros.web.dereference import (
    OFFERED,
    choose_format,
    iri_for,
    serialise,
    split_suffix,
)

router = APIRouter()
LINK_FORMAT = "application/link-format"


def log_of(request: Request):
    history = request.app.state.service.history
    return history.log if history is not None else None


def http_date(event: Event) -> str:
    return format_datetime(event.time.replace(microsecond=0), usegmt=True)


def _links(path: str, memento: Event | None = None) -> list[str]:
    # A header value holds no control characters: the path as it travels in a URL (percent-encoded).
    path = quote(path, safe="/:@!$&'()*+,;=-._~%")
    links = [f'<{path}>; rel="original timegate"', f'</timemap{path}>; rel="timemap"; type="{LINK_FORMAT}"']
    if memento is not None:
        links.append(f'<{memento_path(memento.seq, path)}>; rel="memento"; datetime="{http_date(memento)}"')
    return links


def memento_path(seq: int, path: str) -> str:
    return f"/memento/{seq}{path}"


def _merge(response: Response, name: str, value: str) -> None:
    old = response.headers.get(name)
    response.headers[name] = f"{old}, {value}" if old else value


def annotate(request: Request, path: str, response: Response) -> Response:
    """Add the TimeGate and TimeMap links to an answer of the original resource."""
    if log_of(request) is None:
        return response
    original, _ = split_suffix(path)
    _merge(response, "Link", ", ".join(_links(original)))
    _merge(response, "Vary", "Accept-Datetime")
    return response


def asked(request: Request) -> bool:
    return "accept-datetime" in request.headers and log_of(request) is not None


def versions(request: Request, path: str) -> tuple[str, list[Event]]:
    original, _ = split_suffix(path)
    iri = iri_for(request.app.state.service.settings, original)
    return original, log_of(request).versions(iri)


def as_of(events: list[Event], moment: datetime) -> Event | None:
    """The event that set the resource's state at `moment` (None: it did not exist yet)."""
    found = None
    end_of_second = moment.replace(microsecond=0) + timedelta(seconds=1)
    for event in events:
        if event.time < end_of_second:
            found = event
    return found


def _body(request: Request, event: Event, path: str):
    fmt = choose_format(request, split_suffix(path)[1])
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in parse(event.description)]
    return fmt, triples


async def timegate(request: Request, path: str, page_fn=None) -> Response:
    """The resource as it was at the request's Accept-Datetime."""
    text = request.headers["accept-datetime"]
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise HTTPProblem(400, f"Accept-Datetime {text!r} is not an HTTP date (RFC 7089 §2.1.1); write it like "
                               f"'Tue, 20 Mar 2001 20:35:00 GMT'")
    original, events = await asyncio.to_thread(versions, request, path)
    event = as_of(events, moment.astimezone(timezone.utc))
    headers = {"Vary": "Accept-Datetime, Accept", "Link": ", ".join(_links(original, event))}
    if event is None or event.kind == "delete":
        when = "did not exist yet" if event is None else "had been deleted"
        raise HTTPProblem(404, f"<{iri_for(request.app.state.service.settings, original)}> {when} at {text} "
                               f"(its versions: /timemap{original})", headers=headers)
    return await _memento(request, event, original, path, headers, page_fn)


async def _memento(request, event, original, path, headers, page_fn) -> Response:
    fmt, triples = _body(request, event, path)
    headers = {**headers, "Memento-Datetime": http_date(event), "Content-Location": memento_path(event.seq, original)}
    if fmt.name == "html" and page_fn is not None:
        return await page_fn(request, ox.NamedNode(event.resource), original, triples, headers)
    if fmt.name == "html":
        fmt = OFFERED[1]
    body = serialise(triples, fmt, request.app.state.service.settings)
    return Response(b"" if request.method == "HEAD" else body, media_type=fmt.content_type, headers=headers)


@router.api_route("/timemap/id/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def timemap(request: Request, rest: str):
    if log_of(request) is None:
        raise HTTPProblem(404, "this service keeps no history: it runs on a remote store (docs/publishing.md)")
    original, events = await asyncio.to_thread(versions, request, "/id/" + rest)
    kept = [e for e in events if e.kind != "delete"]
    if not kept:
        raise HTTPProblem(404, f"there is no version of <{iri_for(request.app.state.service.settings, original)}>")
    lines = [f'<{original}>; rel="original"', f'<{original}>; rel="timegate"',
             f'</timemap{original}>; rel="self"; type="{LINK_FORMAT}"; '
             f'from="{http_date(kept[0])}"; until="{http_date(kept[-1])}"']
    for index, event in enumerate(kept):
        rel = "memento"
        if index == 0:
            rel = "first memento"
        if index == len(kept) - 1:
            rel = "last memento" if len(kept) > 1 else "first last memento"
        lines.append(f'<{memento_path(event.seq, original)}>; rel="{rel}"; datetime="{http_date(event)}"')
    body = (",\n".join(lines) + "\n").encode()
    return Response(b"" if request.method == "HEAD" else body, media_type=LINK_FORMAT,
                    headers={"Cache-Control": "no-cache"})


async def memento(request: Request, seq: int, rest: str, page_fn=None):
    """A memento (its route is in pages.py, which renders the HTML form with `page_fn`)."""
    log = log_of(request)
    if log is None:
        raise HTTPProblem(404, "this service keeps no history: it runs on a remote store (docs/publishing.md)")
    path = "/id/" + rest
    original, _ = split_suffix(path)
    event = await asyncio.to_thread(log.event, seq)
    iri = iri_for(request.app.state.service.settings, original)
    if event is None or event.resource != iri or event.kind == "delete":
        raise HTTPProblem(404, f"version {seq} is not a version of <{iri}> (its versions: /timemap{original})")
    headers = {"Link": ", ".join(_links(original, event)), "Cache-Control": "public, max-age=31536000, immutable",
               "Vary": "Accept"}
    return await _memento(request, event, original, path, headers, page_fn)
