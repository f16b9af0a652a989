"""How pages link: an IRI of ours to its page on this server, any other IRI as it is.

A language chosen with ?lang= travels with every local link, so that a reader who switched
to German stays in German; a language that came from the browser's Accept-Language does not
need to (the browser sends it again).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from gros.web.dereference import PREFIXES, local_path


class Linker:
    def __init__(self, settings, lang: str, explicit: bool):
        self.settings = settings
        self.lang = lang
        self.explicit = explicit

    def local(self, path: str, **params) -> str:
        """A local URL, with ?lang= when the reader chose the language."""
        path, hash_, fragment = path.partition("#")
        if self.explicit:
            params = {**params, "lang": self.lang}
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return path + (("?" + query) if query else "") + (hash_ + fragment)

    def href(self, iri: str) -> str | None:
        """The page of one of our IRIs, or None for an IRI that is not ours."""
        path = local_path(self.settings, iri)
        return self.local(path) if path else None

    def href_or_iri(self, iri: str) -> str:
        """For an href: the page of one of our IRIs, another IRI as it is when a browser may
        follow it (safe_external), else "" (a link to nowhere rather than to a script)."""
        return self.href(iri) or safe_external(iri) or ""

    def class_page(self, iri: str) -> str:
        return self.local("/classes/" + quote(curie(iri) or iri, safe=":"))


def safe_external(iri: str) -> str | None:
    """`iri` if a browser may follow it as a link: http(s), mailto and ftp only. An IRI such as
    javascript:... is valid RDF, but as an href it would run a script; such IRIs are shown as text."""
    scheme = iri.split(":", 1)[0].lower()
    return iri if scheme in ("http", "https", "mailto", "ftp") else None


def curie(iri: str) -> str | None:
    """prefix:local for IRIs in a namespace we know, else None."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            local = iri[len(namespace):]
            if all(c.isalnum() or c in "-_." for c in local):
                return f"{prefix}:{local}"
    return None


def expand(name: str) -> str | None:
    """The IRI of a CURIE we know (the inverse of curie()); a full IRI is returned as it is."""
    prefix, colon, local = name.partition(":")
    if colon and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    if name.startswith(("http://", "https://")):
        return name
    return None
