"""The names that reconciliation matches against, read once from a store (one revision) by the
queries in queries/: every label, alternative label, abbreviation and title, in every language,
of every resource of a reconcilable type (regions, organisations, cooperation bodies, legal
instruments, programmes), with the types of each and the class hierarchy above them.

What it holds grows with the number of such resources and their names (a few hundred bytes a
name), not with the size of the graph: descriptions, events, memberships and sources are not
in it. The HTTP service builds one per store revision (web/reader.py's per-revision cache), so a
write is reflected on the next request and nothing has to be invalidated.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from gros.reconciliation import properties as props
from gros.reconciliation.normalise import Form, fold, forms, query_form, vocabulary
from gros.errors import GrosError

QUERIES = Path(__file__).parent / "queries"
#: The types a service offers first (its manifest's defaultTypes), in this order.
DEFAULT_TYPES = ("https://w3id.org/gros/def#CooperationBody", "https://w3id.org/gros/def#Region",
                 "http://www.w3.org/ns/org#Organization", "https://w3id.org/gros/def#LegalInstrument")
PREFIXES = {"gros:": "https://w3id.org/gros/def#", "org:": "http://www.w3.org/ns/org#"}
LABEL_LANGUAGES = ("en", "nl", "de", "fr")
_NAMES_OF_VALUES = [ox.NamedNode(p) for p in (
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2004/02/skos/core#altLabel", "http://www.w3.org/2004/02/skos/core#notation",
    "https://w3id.org/gros/def#iso3166Code", "https://w3id.org/gros/def#nutsCode")]


class UnknownType(GrosError, ValueError):

    status = 400
    exit_code = 2
    pass


@lru_cache(maxsize=None)
def query_text(name: str) -> str:
    return (QUERIES / f"{name}.rq").read_text(encoding="utf-8")


@dataclass
class Name:
    entity: int
    text: str
    lang: str | None
    kind: str  # label, alt, abbr, title, code
    form: Form


@dataclass
class Entity:
    iri: str
    labels: dict[str, str] = field(default_factory=dict)  # lang ("" untagged) -> label
    types: set[str] = field(default_factory=set)
    names: list[int] = field(default_factory=list)

    def label(self, lang: str = "en") -> str:
        for tag in (lang, *LABEL_LANGUAGES, ""):
            if tag in self.labels:
                return self.labels[tag]
        return next(iter(self.labels.values()), self.iri)


@dataclass
class TypeInfo:
    iri: str
    labels: dict[str, str] = field(default_factory=dict)
    broader: set[str] = field(default_factory=set)

    def label(self, lang: str = "en") -> str:
        for tag in (lang, *LABEL_LANGUAGES, ""):
            if tag in self.labels:
                return self.labels[tag]
        return self.iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


class Index:
    def __init__(self, store: ox.Store, id_base: str, revision: int | None = None):
        self.store = store
        self.id_base = id_base
        self.revision = revision
        self.types: dict[str, TypeInfo] = {}
        self.entities: list[Entity] = []
        self.position: dict[str, int] = {}
        self.names: list[Name] = []
        self.by_exact: dict[str, list[int]] = defaultdict(list)
        self.by_sorted: dict[str, list[int]] = defaultdict(list)
        self.by_core: dict[str, list[int]] = defaultdict(list)
        self.by_word: dict[str, set[int]] = defaultdict(set)
        self.cores: list[str] = []  # the distinct cores, for the fuzzy search
        self._values: dict[str, dict[str, list]] = {}
        self._value_names: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()
        self._read_types()
        self._read_entities(id_base)
        self.cores = list(self.by_core)
        self.descendants = self._descendants()

    # --- building -------------------------------------------------------------------------------
    def _rows(self, name: str):
        return self.store.query(query_text(name), use_default_graph_as_union=True)

    def _read_types(self) -> None:
        for row in self._rows("types"):
            iri = row["class"].value
            info = self.types.setdefault(iri, TypeInfo(iri))
            label = row["label"]
            if isinstance(label, ox.Literal):
                info.labels.setdefault(label.language or "", label.value)
            broader = row["broader"]
            if isinstance(broader, ox.NamedNode):
                info.broader.add(broader.value)

    def _entity(self, iri: str) -> Entity:
        at = self.position.get(iri)
        if at is None:
            at = self.position[iri] = len(self.entities)
            self.entities.append(Entity(iri))
        return self.entities[at]

    def _read_entities(self, id_base: str) -> None:
        for row in self._rows("instances"):
            if row["s"].value.startswith(id_base):
                self._entity(row["s"].value).types.add(row["class"].value)
        seen = set()
        for row in self._rows("names"):
            iri, literal, kind = row["s"].value, row["name"], row["kind"].value
            if not iri.startswith(id_base) or not literal.value.strip() or (iri, literal) in seen:
                continue
            seen.add((iri, literal))
            entity = self._entity(iri)
            if kind == "label":
                entity.labels.setdefault(literal.language or "", literal.value)
            for form in forms(literal.value):
                at = len(self.names)
                self.names.append(Name(self.position[iri], literal.value, literal.language, kind, form))
                entity.names.append(at)
                self.by_exact[form.exact].append(at)
                self.by_sorted[form.sorted].append(at)
                if kind != "code":
                    self.by_core[form.core].append(at)
                    for word in form.words:
                        self.by_word[word].add(at)

    def _descendants(self) -> dict[str, frozenset[str]]:
        below: dict[str, set[str]] = defaultdict(set)
        for iri, info in self.types.items():
            for parent in info.broader:
                below[parent].add(iri)
        out = {}
        for iri in self.types:
            found, todo = {iri}, [iri]
            while todo:
                for child in below.get(todo.pop(), ()):
                    if child not in found:
                        found.add(child)
                        todo.append(child)
            out[iri] = frozenset(found)
        return out

    # --- types ----------------------------------------------------------------------------------
    def type_iri(self, given: str) -> str:
        """A type as a query names it (full IRI, or gros:X / org:X) -> its IRI; UnknownType otherwise."""
        iri = given.strip()
        for prefix, namespace in PREFIXES.items():
            if iri.startswith(prefix):
                iri = namespace + iri[len(prefix):]
        if iri not in self.types:
            raise UnknownType(f"unknown type {given!r}: the types are the classes under "
                              f"{', '.join(DEFAULT_TYPES)} (see /reconcile/suggest/type)")
        return iri

    def has_type(self, entity: Entity, types: frozenset[str]) -> bool:
        return not types or bool(entity.types & types)

    def within(self, type_iris: list[str]) -> frozenset[str]:
        """The classes an entity may have to be of one of `type_iris` (the types and all below)."""
        out: set[str] = set()
        for iri in type_iris:
            out |= self.descendants.get(iri, {iri})
        return frozenset(out)

    def kinds_of(self, entity: Entity) -> frozenset[str]:
        """The designation groups (vocabulary.yaml) that the entity's types fit."""
        vocab = vocabulary()
        return frozenset(group for group, classes in vocab.classes.items() if entity.types & classes)

    def shown_types(self, entity: Entity) -> list[str]:
        """The entity's most specific types (none of the others is under them), sorted."""
        specific = [t for t in entity.types
                    if not any(t != other and t in self._ancestors(other) for other in entity.types)]
        return sorted(specific)

    def _ancestors(self, iri: str) -> set[str]:
        found, todo = set(), [iri]
        while todo:
            for parent in self.types.get(todo.pop(), TypeInfo("")).broader:
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def type_label(self, iri: str, lang: str = "en") -> str:
        info = self.types.get(iri)
        return info.label(lang) if info else iri

    # --- property values ------------------------------------------------------------------------
    def values(self, prop: props.Property) -> dict[str, list]:
        """subject -> values of `prop`, read once per index (per revision)."""
        found = self._values.get(prop.id)
        if found is None:
            found = props.values(self.store, prop)
            with self._lock:
                self._values[prop.id] = found
        return found

    def value_names(self, iri: str) -> frozenset[str]:
        """What an entity value may be called in a query: its names (folded and in normal form)
        and its codes (ISO 3166, NUTS, notation)."""
        found = self._value_names.get(iri)
        if found is not None:
            return found
        texts = []
        at = self.position.get(iri)
        if at is not None:
            texts += [self.names[n].text for n in self.entities[at].names]
        node = ox.NamedNode(iri)
        for predicate in _NAMES_OF_VALUES:
            texts += [q.object.value for q in self.store.quads_for_pattern(node, predicate, None, None)
                      if isinstance(q.object, ox.Literal)]
        names = set()
        for text in texts:
            names.add(fold(text))
            names.add(query_form(text).sorted)
        found = frozenset(n for n in names if n)
        with self._lock:
            self._value_names[iri] = found
        return found

    def value_label(self, term, lang: str = "en") -> str:
        """A value as a person reads it: an entity's label, or the literal's text."""
        if not isinstance(term, ox.NamedNode):
            return term.value
        at = self.position.get(term.value)
        if at is not None:
            return self.entities[at].label(lang)
        labels = {}
        for predicate in _NAMES_OF_VALUES[:2]:
            for quad in self.store.quads_for_pattern(term, predicate, None, None):
                if isinstance(quad.object, ox.Literal):
                    labels.setdefault(quad.object.language or "", quad.object.value)
        for tag in (lang, *LABEL_LANGUAGES, ""):
            if tag in labels:
                return labels[tag]
        return term.value


def local_index(settings, store_path: Path | None = None) -> Index:
    """The index of the content files (no server needed), or of the on-disk store at `store_path`
    (one that `gros load` or `gros serve --store` filled)."""
    from gros.content.files import find_files, read_files
    from gros.store.embedded import memory_store, open_for_query

    store = open_for_query(store_path) if store_path is not None else memory_store(read_files(find_files(settings)))
    return Index(store, settings.id_base)
