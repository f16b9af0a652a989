"""The timeline: dated events of agreements (signed, adopted, in force, ...) and of bodies
(founded, became a public-law body, became an EGTC, ...), oldest first, grouped by year.

Dates keep their precision: an event known only to the year sorts at the start of that year
and is shown as the year alone.

The store sorts the events and hands over one page of settings.page_items (the
timeline of a large graph has tens of thousands of events; a page never holds more than a
page of them). The totals per kind are one aggregate query per revision.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from gros.web import i18n
from gros.web import labels

KINDS = ("agreement", "body")
#: Pages of the timeline remembered per revision.
PAGES_REMEMBERED = 16


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


@dataclass
class Page:
    years: list[tuple[str, list[Event]]]  # (year, events), oldest first
    total: int  # events of this kind (or of both) in all
    offset: int
    size: int


def totals(view) -> dict[str, int]:
    """kind -> how many events the timeline has of it."""
    return view.cached("timeline-totals", lambda: {r["kind"].value: int(r["n"].value)
                                                    for r in view.select("timeline-counts")})


def events(view, lang: str, linker, kind: str | None = None, offset: int = 0) -> Page:
    """Events `offset` to `offset + settings.page_items`, oldest first; `kind` keeps only
    agreements or only bodies."""
    size = view.settings.page_items
    counted = totals(view)
    total = counted.get(kind, 0) if kind else sum(counted.values())

    def compute():
        only = {"only": ox.Literal(kind)} if kind else None
        out = []
        for row in view.select("timeline", limit=size, offset=offset, values=only):
            date, subject, event, what = row["date"], row["subject"], row.get("event"), row.get("what")
            out.append(Event(
                date.value, i18n.format_date(date.value, lang), row["kind"].value,
                labels.label(view, what, lang) if isinstance(what, ox.NamedNode) else "",
                labels.label(view, subject, lang), linker.href(subject.value),
                labels.label(view, event, lang) if isinstance(event, ox.NamedNode) else None,
                linker.href(event.value) if isinstance(event, ox.NamedNode) else None))
        # the store sorted by date; within a date, by name (the page's language decides)
        out.sort(key=lambda e: (e.date, e.subject_label.lower(), e.what))
        years: dict[str, list[Event]] = {}
        for event in out:
            years.setdefault(event.date[:4], []).append(event)
        return list(years.items())

    years = view.cached((kind, offset, lang, linker.explicit), compute,
                        memo="timeline-pages", size=PAGES_REMEMBERED)
    return Page(years, total, offset, size)
