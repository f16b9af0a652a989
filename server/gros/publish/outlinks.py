"""Links out of the graph: what share of each class's instances links to each outside system of
identifiers (Wikidata, NUTS, ISO 3166-2, the EU country table, CELEX, ELI, treaty numbers, TOOI,
ROR, GeoNames), and whether every identifier has the form its system gives it.

The kinds of link, the properties that carry them and their patterns are content, in
`queries/links/links.rq`; this module counts what that query returns. `gros links` prints the
report and exits 1 when an identifier is malformed: a malformed identifier is a typo, and a
link that leads nowhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gros.content import named_queries as queries
from gros.content.quads import content_files, content_store
from gros.settings import Settings
from gros.namespaces import GROS



@dataclass(frozen=True)
class Malformed:
    kind: str
    instance: str
    property: str
    value: str
    pattern: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "instance": self.instance, "property": self.property,
                "value": self.value, "pattern": self.pattern}


@dataclass
class LinkReport:
    kinds: list[str]  # in the order of the query's table
    instances: dict[str, set[str]] = field(default_factory=dict)  # class -> its instances
    linked: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (class, kind) -> linked instances
    applies: set[tuple[str, str]] = field(default_factory=set)  # (class, kind) pairs in scope
    malformed: list[Malformed] = field(default_factory=list)
    checked: int = 0  # identifiers whose form was checked

    @property
    def ok(self) -> bool:
        return not self.malformed

    def share(self, cls: str, kind: str) -> tuple[int, int] | None:
        """(linked, instances) for a class and kind, or None when the kind does not apply."""
        if (cls, kind) not in self.applies:
            return None
        return len(self.linked.get((cls, kind), ())), len(self.instances[cls])


def links_query(settings: Settings) -> queries.NamedQuery:
    return queries.read_query(settings.queries_dir / "links" / "links.rq")


def link_report(settings: Settings, files=None) -> LinkReport:
    """The report over the content files (no server needed)."""
    query = links_query(settings)
    store = content_store(files if files is not None else content_files(settings))
    rows = queries.rows(queries.run(store, query))
    kinds = sorted({row["kind"] for row in rows}, key=lambda k: query.text.find(f'("{k}"'))
    report = LinkReport(kinds)
    malformed, checked = set(), set()
    for row in rows:
        cls, kind, instance, value = row["class"], row["kind"], row["instance"], row["value"]
        if cls is not None:
            report.instances.setdefault(cls, set()).add(instance)
            report.applies.add((cls, kind))
            if value is not None:
                report.linked.setdefault((cls, kind), set()).add(instance)
        if value is not None:
            checked.add((instance, row["property"], value))
            if row["wellFormed"] == "false":
                malformed.add(Malformed(kind, instance, row["property"], value, row["pattern"]))
    report.checked = len(checked)
    report.malformed = sorted(malformed, key=lambda m: (m.kind, m.instance, m.value))
    return report


def curie(iri: str) -> str:
    return "gros:" + iri[len(GROS):] if iri.startswith(GROS) else iri


def render_text(report: LinkReport) -> str:
    classes = sorted(report.instances, key=curie)
    header = ["class", "instances", *report.kinds]
    lines = [header]
    for cls in classes:
        cells = [curie(cls), str(len(report.instances[cls]))]
        for kind in report.kinds:
            share = report.share(cls, kind)
            cells.append("-" if share is None else f"{share[0]}/{share[1]} {round(100 * share[0] / share[1])}%")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["Links out: share of each class's instances with a link of each kind ('-': does not apply)", ""]
    out += ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    out.append("")
    if report.malformed:
        out.append(f"{len(report.malformed)} of {report.checked} identifiers are malformed:")
        for m in report.malformed:
            out.append(f"  {m.kind}: {m.instance} {curie(m.property)} {m.value!r} does not match {m.pattern}")
    else:
        out.append(f"All {report.checked} identifiers have the form of their system.")
    return "\n".join(out)


def render_json(report: LinkReport) -> dict:
    coverage = []
    for cls in sorted(report.instances, key=curie):
        for kind in report.kinds:
            share = report.share(cls, kind)
            if share is not None:
                coverage.append({"class": cls, "kind": kind, "linked": share[0], "instances": share[1],
                                 "share": round(share[0] / share[1], 4)})
    return {"kinds": report.kinds, "coverage": coverage, "checked": report.checked,
            "malformed": [m.as_dict() for m in report.malformed], "ok": report.ok}
