"""The jobs the service runs and the messages their answers travel in.

A query job is answered by a stream of messages `(Kind, payload)`: one HEAD, any number of
CHUNKs of serialised bytes, then END; or one WHOLE (head, body and end of a small answer at
once); or one ERROR, whose payload is a `GrosError.to_dict()` (errors.GrosError.from_dict reads
it back). An update job is answered by one END carrying the gate's verdict, or one ERROR.

Jobs are frozen dataclasses, so that every place that makes one (the SPARQL protocol, the Graph
Store, named queries, downloads) fills in the same fields, and so that a query job can be part
of a cache key (runtime/cache.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Kind(StrEnum):
    HEAD = "head"
    CHUNK = "chunk"
    END = "end"
    WHOLE = "whole"
    ERROR = "error"


#: Messages after which a job has nothing more to say.
FINAL = frozenset({Kind.END, Kind.WHOLE, Kind.ERROR})


@dataclass(frozen=True)
class QueryJob:
    """A read query. `limit` is the row limit (None: none, for the service's own queries);
    `accept` and `format` choose the serialisation; the graphs are the protocol's dataset."""

    text: str
    accept: str = ""
    format: str | None = None
    limit: int | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None
    has_from: bool = False
    #: variable name -> term (pyoxigraph terms), for named queries' parameters
    substitutions: tuple[tuple[str, object], ...] = ()
    #: the read-only snapshot of the revision to read (None: the store itself, or a remote one)
    snapshot: str | None = None

    def key(self) -> tuple:
        """What selects the answer, apart from the revision (see runtime/cache.py)."""
        return (" ".join(self.text.split()), self.accept, self.format, self.limit, self.default_graphs,
                self.named_graphs, self.base_iri, tuple((k, str(v)) for k, v in self.substitutions))


@dataclass(frozen=True)
class UpdateJob:
    """A write: a SPARQL update (`text`), or a Graph Store change: the quads of `added`
    (N-Quads), replacing `drop_graphs` and, with `clear_default`, the default graph."""

    text: str | None = None
    using: tuple[str, ...] = ()
    using_named: tuple[str, ...] = ()
    base_iri: str | None = None
    added: bytes = b""
    drop_graphs: tuple[str, ...] = ()
    clear_default: bool = False
    snapshot: str | None = None
    #: the name of the token that authorised the write, for the change log (history/)
    actor: str | None = None


def on_snapshot(job, snapshot: str | None):
    return replace(job, snapshot=snapshot)


__all__ = ["Kind", "FINAL", "QueryJob", "UpdateJob", "on_snapshot", "field"]
