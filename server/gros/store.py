"""The embedded Oxigraph store: open it, load the content files into their named graphs.

Only this module writes to the store (DESIGN.md, habits).
"""
from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from .sources import ContentFile


def open_store(path: Path | None = None) -> ox.Store:
    """An on-disk store at `path`, or an in-memory store when `path` is None."""
    if path is None:
        return ox.Store()
    path.mkdir(parents=True, exist_ok=True)
    return ox.Store(str(path))


def quads(files: list[ContentFile]):
    for content in files:
        graph = ox.NamedNode(content.graph)
        for t in content.triples:
            yield ox.Quad(t.subject, t.predicate, t.object, graph)


def memory_store(files: list[ContentFile]) -> ox.Store:
    """All content in a fresh in-memory store, one named graph per file."""
    store = ox.Store()
    store.extend(quads(files))
    return store
