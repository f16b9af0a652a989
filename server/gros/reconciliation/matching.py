"""Matching a query (a name, an optional type, optional property values) against the index, with
a score in [0, 100] per candidate and a `match` flag that is set only when the best candidate
is certain.

Scores, per name of a candidate (the best name counts):
  100  the same words in the same order (after normalise.py: case, accents, hyphens, "&"/"en"/
       "und", articles, synonyms such as Rijn = Rhein)
   97  the same words in another order ("Maas-Rijn Euregio")
   92  the same core: the same words once designations and parentheses are set aside
       ("Provincie Groningen" ~ "Groningen (provincie)", "Verordnung (EG) 1082/2006" ~
       "Verordening (EG) nr. 1082/2006")
   85  the same core with a year or number added ("Benelux-Verdrag van 1958" for
       "Benelux-Verdrag"): such namesakes keep a name without its year from matching the one
       instrument that happens to have a name without a year ("Benelux-Overeenkomst")
   80  every word of a query of two words or more is in the name
  <88  similar cores (typos): rapidfuzz's normalised Indel similarity of the cores, scaled
An alternative name or abbreviation counts 2 less than a label, an official title 4 less. Then:
  - designations: the query says Stadt and the candidate is a Kreis: -20; they agree: +3; the
    candidate's name has a designation the query does not have: -3 ("Kleve" is the town before
    "Kleve (district)");
  - parentheses: "Limburg (NL)" against "Limburg (Belgium)": -20; against "Limburg (Nederland)": +3;
    the candidate's name has a qualifier in parentheses the query lacks: -8 (a query "Essen" may
    mean another Essen than "Essen (Oldb.)");
  - numbers: a number of the query that the name lacks caps the score at 45 (1082/2006 is not
    1302/2013, Protocol No. 2 is not No. 3);
  - properties: a value that agrees +6, one that contradicts -25, none known -3.
`match` is true when the best score is at least MATCH_SCORE, leads the next candidate by
MATCH_MARGIN, and no property contradicts it. So a name that fits several things equally well
("Limburg", "Groningen", "Kreis Borken" without a type) never matches: a wrong match would
silently corrupt a researcher's join, a missing one only asks them to choose.

Why rapidfuzz for the fuzzy part: it is maintained, MIT-licensed, implements the edit-distance
similarities in C++ and compares one query with thousands of names in well under a millisecond
(process.extract), so a batch of 100 queries stays far below a second without a hand-written
n-gram index. Everything else here is exact look-ups in dictionaries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from gros.reconciliation import properties as props
from gros.reconciliation.index import Entity, Index, Name
from gros.reconciliation.normalise import Form, query_form, vocabulary

MATCH_SCORE = 88
MATCH_MARGIN = 10
DEFAULT_LIMIT = 5
MAX_LIMIT = 100
#: How many similar cores the fuzzy step looks at, and how similar they must be (0-100).
FUZZY_CANDIDATES = 40
FUZZY_CUTOFF = 70
#: Cores shorter than this are only compared exactly (a typo in "Emmen" makes "Essen").
FUZZY_MIN_LENGTH = 5
KIND_PENALTY = {"label": 0, "code": 0, "alt": 2, "abbr": 2, "title": 4}


@dataclass
class Query:
    text: str = ""
    types: list[str] = field(default_factory=list)  # type IRIs
    limit: int = DEFAULT_LIMIT
    properties: list[tuple[props.Property, list]] = field(default_factory=list)  # (property, wanted values)


@dataclass
class Candidate:
    entity: Entity
    score: float
    name: Name | None  # the name that matched best (None: found by its properties only)
    match: bool = False
    conflict: bool = False  # a property value contradicts it
    features: dict[str, float] = field(default_factory=dict)


def _name_score(index: Index, query: Form, name: Name, entity: Entity) -> float:
    form = name.form
    core_words = query.core.split()
    if query.exact == form.exact:
        base = 100.0
    elif query.sorted == form.sorted:
        base = 97.0
    elif query.core == form.core:
        base = 90.0
    elif name.kind in ("abbr", "code"):
        return 0.0
    elif _numbered(core_words, form):
        base = 85.0
    elif len(core_words) >= 2 and set(core_words) <= form.words:
        base = 80.0  # every word of the query is in the name ("Benelux-Verdrag 2014")
    elif len(query.core) < FUZZY_MIN_LENGTH or len(form.core) < FUZZY_MIN_LENGTH:
        return 0.0
    else:
        similarity = max(fuzz.ratio(query.core, form.core), fuzz.ratio(query.sorted, form.sorted))
        base = min(87.0, similarity * 0.95 - 5)
    base -= KIND_PENALTY.get(name.kind, 0)
    vocab = vocabulary()
    asked = query.kinds - {"act-detail"}
    named = form.kinds - {"act-detail"}
    typed = index.kinds_of(entity)
    # designations: the query's against the name's (+3 when they agree) and the entity's types'
    if asked and (named or typed):
        if asked & named:
            base += 3
        elif not asked & typed:
            base -= 20
    elif asked:
        # The query says what kind of thing it names ("Provincie Utrecht") and nothing says this
        # candidate is one (a place typed only as a region): a fair candidate, never a certain one.
        base -= 12
    elif not asked and named & vocab.homonyms and base < 100:
        base -= 3  # "Kleve" is the town before "Kleve (district)" and "Kreis Kleve"
    # parentheses ("Limburg (NL)"); a legal instrument's citation number identifies it whatever
    # the parentheses say ("Directive 2005/36/EC (recognition of professional qualifications)")
    cited = bool(query.numbers) and query.numbers <= form.numbers
    if query.qualifiers and form.qualifiers:
        base += 3 if query.qualifiers & form.qualifiers else -20
    elif form.qualifiers and not query.qualifiers and base < 100 and not cited:
        base -= 8  # "Essen" may be another Essen than "Essen (Oldb.)": never certain
    if query.numbers - form.numbers:
        base = min(base, 45.0)
    return max(0.0, min(100.0, base))


def _numbered(core_words: list[str], form: Form) -> bool:
    """Whether the name's core is the query's core with only numbers added."""
    query, name = set(core_words), set(form.core.split())
    added = name - query
    return bool(query) and bool(added) and query <= name and all(w.isdigit() for w in added)


def _gather(index: Index, query: Form) -> set[int]:
    """The names worth scoring: those with the same words, order or core, the same core with
    numbers added, and similar cores."""
    found: set[int] = set()
    for table, key in ((index.by_exact, query.exact), (index.by_sorted, query.sorted), (index.by_core, query.core)):
        found.update(table.get(key, ()))
    words = query.core.split()
    if words and all(w in index.by_word for w in words):
        having = set.intersection(*(index.by_word[w] for w in words))
        found.update(having if len(words) >= 2 else (at for at in having if _numbered(words, index.names[at].form)))
    if len(query.core) >= FUZZY_MIN_LENGTH and index.cores:
        for core, _score, _at in process.extract(query.core, index.cores, scorer=fuzz.ratio,
                                                 limit=FUZZY_CANDIDATES, score_cutoff=FUZZY_CUTOFF):
            found.update(index.by_core[core])
    return found


def _property_score(index: Index, query: Query, entity: Entity, candidate: Candidate) -> float:
    change = 0.0
    for prop, wanted in query.properties:
        have = index.values(prop).get(entity.iri, [])
        if not have:
            change -= 3
            candidate.features[f"property:{prop.id}"] = 0
            continue
        kind = prop.kind
        if any(props.agrees(kind, w, term, index.value_names) for w in wanted for term in have):
            change += 6
            candidate.features[f"property:{prop.id}"] = 1
        else:
            change -= 25
            candidate.conflict = True
            candidate.features[f"property:{prop.id}"] = -1
    return change


def reconcile(index: Index, query: Query) -> list[Candidate]:
    """The candidates for `query`, best first, at most query.limit, with `match` set on the first
    when it is certain."""
    allowed = index.within(query.types) if query.types else frozenset()
    best: dict[int, Candidate] = {}
    if query.text.strip():
        form = query_form(query.text)
        for at in _gather(index, form):
            name = index.names[at]
            entity = index.entities[name.entity]
            if not index.has_type(entity, allowed):
                continue
            score = _name_score(index, form, name, entity)
            known = best.get(name.entity)
            if score > 0 and (known is None or score > known.score):
                best[name.entity] = Candidate(entity, score, name, features={"name": round(score, 1)})
    elif query.properties:
        # no name: every entity that has a value agreeing with the first property
        prop, wanted = query.properties[0]
        for iri, have in index.values(prop).items():
            at = index.position.get(iri)
            if at is None or not index.has_type(index.entities[at], allowed):
                continue
            if any(props.agrees(prop.kind, w, term, index.value_names) for w in wanted for term in have):
                best[at] = Candidate(index.entities[at], 94.0, None)
    candidates = list(best.values())
    if query.properties:
        for candidate in candidates:
            candidate.score = max(0.0, min(100.0, candidate.score + _property_score(index, query, candidate.entity,
                                                                                    candidate)))
    candidates.sort(key=lambda c: (-c.score, c.entity.label(), c.entity.iri))
    if candidates:
        # the next candidate decides whether the first is certain, even when the limit cuts it off
        top = candidates[0]
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        top.match = top.score >= MATCH_SCORE and top.score - runner_up >= MATCH_MARGIN and not top.conflict
    candidates = candidates[:max(1, min(query.limit, MAX_LIMIT))]
    for candidate in candidates:
        candidate.score = round(candidate.score, 1)
    return candidates
