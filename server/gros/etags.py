"""Entity tags, one format for every response: `"r{revision}-{fingerprint}"`.

The revision of the store comes first, so that any write changes every tag (and `gros backup
--url` can read the revision a response was made from); the fingerprint is a short hash of what
else selects the representation (format, language, query text, ...). Pages add `weak` (W/): their
HTML is equivalent, not byte-identical, across restarts of the same revision.
"""
from __future__ import annotations

import hashlib
import re

_REVISION = re.compile(r'^(?:W/)?"r(\d+)-')


def make(revision: int | str, *parts: object, weak: bool = False) -> str:
    fingerprint = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f'{"W/" if weak else ""}"r{revision}-{fingerprint}"'


def of_content(body: bytes) -> str:
    """The tag of a fixed document that does not follow the store (say, /context.jsonld)."""
    return '"c-' + hashlib.sha256(body).hexdigest()[:16] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2): "*" or any listed tag, compared weakly."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or tag.removeprefix("W/") in tags


def revision_of(tag: str | None) -> int | None:
    """The store revision a tag was made from, or None for another kind of tag."""
    match = _REVISION.match(tag or "")
    return int(match.group(1)) if match else None
