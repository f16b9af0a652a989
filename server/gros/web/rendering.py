"""What every HTML page shares: the language, the links, the template context, the static
files, and the caching of a rendered page.

Pages are rendered by Jinja with autoescaping on (errors.TEMPLATES): every text from the
store reaches the HTML escaped, whatever it holds.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from gros.web import boundaries
from gros import formats
from gros.web import i18n
from gros.errors import TEMPLATES
from gros.web.dereference import caching_headers, etag, not_modified
from gros.web.links import Linker

STATIC = Path(__file__).parent / "static"


@lru_cache(maxsize=None)
def static_url(path: str) -> str:
    """/static/{path}, with a version from the file's content so that browsers never keep an old one."""
    file = STATIC / path
    try:
        version = hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    except FileNotFoundError:
        version = "missing"
    return f"/static/{path}?v={version}"


def assets_built() -> bool:
    return (STATIC / "build" / "map.js").is_file() and (STATIC / "build" / "query.js").is_file()


def language(request: Request) -> i18n.Language:
    return i18n.negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def linker(request: Request, lang: i18n.Language) -> Linker:
    return Linker(request.app.state.service.settings, lang.code, lang.explicit)


def context(request: Request, lang: i18n.Language, **extra) -> dict:
    """The context every page template gets (base.html uses it), plus `extra`."""
    code = lang.code
    params = {k: v for k, v in request.query_params.items() if k != "lang"}
    switch = [{"code": c, "name": i18n.NAMES[c], "current": c == code,
               "url": request.url.path + "?" + urlencode({**params, "lang": c})} for c in i18n.LANGUAGES]
    links = linker(request, lang)
    return {"lang": code, "lang_explicit": lang.explicit, "t": lambda key, **values: i18n.translate(key, code, **values),
            "link": links.local, "href": links.href_or_iri, "languages": switch, "static": static_url,
            "request_path": request.url.path, "attribution": boundaries.ATTRIBUTION, **extra}


def _default_t(key: str, **values) -> str:
    return i18n.translate(key, "en", **values)


# Pages rendered without a page context (the error pages of errors.py) still get the shared
# layout: English, no switcher.
TEMPLATES.env.globals.update(t=_default_t, link=lambda path, **params: path, languages=[], static=static_url,
                             lang="en", request_path="/", attribution=boundaries.ATTRIBUTION)


def offset_param(request: Request, name: str) -> int:
    """A paging offset from the URL (?offset=, ?incoming=); anything but digits counts as 0."""
    raw = request.query_params.get(name, "0")
    return int(raw) if raw.isdigit() else 0


def render(request: Request, template: str, values: dict, headers: dict | None = None, status: int = 200) -> Response:
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status, headers=headers)


def page_tag(request: Request, view, lang: i18n.Language) -> tuple[str, dict]:
    """The ETag and caching headers of an HTML page at this URL, revision and language."""
    tag = etag(view, formats.HTML, lang.code, extra=request.url.path + "?" + request.url.query)
    return tag, caching_headers(view, tag)


def unchanged(request: Request, view, lang: i18n.Language) -> tuple[Response | None, dict]:
    """(304 response or None, headers for the full response)."""
    tag, headers = page_tag(request, view, lang)
    if not_modified(request, view, tag):
        return Response(status_code=304, headers=headers), headers
    return None, headers
