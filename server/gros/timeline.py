"""The timeline: dated events of agreements (signed, adopted, in force, ...) and of bodies
(founded, became a public-law body, became an EGTC, ...), oldest first, grouped by year.

Dates keep their precision: an event known only to the year sorts at the start of that year
and is shown as the year alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from . import i18n, labels

KINDS = ("agreement", "body")


@dataclass
class Event:
    date: str  # as stored: 1958, 1958-02 or 1958-02-03
    shown: str  # as people write it
    kind: str  # agreement or body
    what: str  # the date property's or the event type's name
    subject_label: str
    subject_href: str | None
    event_label: str | None
    event_href: str | None


def events(view, lang: str, linker, kind: str | None = None) -> list[tuple[str, list[Event]]]:
    """(year, events) pairs, oldest first; `kind` keeps only agreements or only bodies."""
    out = []
    for row in view.select("timeline"):
        date = row["date"]
        if not isinstance(date, ox.Literal) or len(date.value) < 4 or not date.value[:4].isdigit():
            continue  # a date that is not a date is the shapes' business, not the timeline's
        row_kind = row["kind"].value
        if kind and row_kind != kind:
            continue
        subject, event, what = row["subject"], row.get("event"), row.get("what")
        out.append(Event(
            date.value, i18n.format_date(date.value, lang), row_kind,
            labels.label(view, what, lang) if isinstance(what, ox.NamedNode) else "",
            labels.label(view, subject, lang), linker.href(subject.value),
            labels.label(view, event, lang) if isinstance(event, ox.NamedNode) else None,
            linker.href(event.value) if isinstance(event, ox.NamedNode) else None))
    out.sort(key=lambda e: (e.date, e.subject_label.lower(), e.what))
    years: dict[str, list[Event]] = {}
    for event in out:
        years.setdefault(event.date[:4], []).append(event)
    return list(years.items())
