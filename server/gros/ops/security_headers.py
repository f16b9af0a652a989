"""Security headers on every response: pages, /sparql, static files, errors and 500s alike.

- Content-Security-Policy: scripts, styles, images, fonts and fetches from this origin only;
  no inline script or style (no 'unsafe-inline'), no plugins, no framing, forms post here
  only. The pages have no inline script: the only <script> elements with content are JSON
  data blocks (type="application/json"), which browsers do not run. Should an inline script
  ever be needed, add the base64 SHA-256 of its exact text to INLINE_SCRIPT_HASHES; the
  policy then allows that script and nothing else.
- X-Content-Type-Options: nosniff (every response names its type; browsers must not guess).
- Referrer-Policy: strict-origin-when-cross-origin (other sites see our origin, not the
  page or the query that linked to them).

A pure ASGI middleware (no Starlette BaseHTTPMiddleware): it only edits the response start
message, so streamed SPARQL results stream as before. `install` wraps the whole middleware
stack, outside Starlette's ServerErrorMiddleware, so that the 500 page it sends carries the
headers too; a header a handler set itself is kept.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders

#: base64 SHA-256 digests of allowed inline scripts ("sha256-..."); none today.
INLINE_SCRIPT_HASHES: tuple[str, ...] = ()


def policy() -> str:
    scripts = " ".join(["'self'", *(f"'{digest}'" for digest in INLINE_SCRIPT_HASHES)])
    return "; ".join([
        "default-src 'self'", f"script-src {scripts}", "style-src 'self'", "img-src 'self'",
        "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
        "form-action 'self'", "frame-ancestors 'none'",
    ])


HEADERS = [
    ("content-security-policy", policy()),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
]


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app) -> None:
    """Wrap the app's whole middleware stack (see the module note on 500 responses)."""
    build = app.build_middleware_stack
    app.build_middleware_stack = lambda: SecurityHeaders(build())
