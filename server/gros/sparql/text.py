"""Reading SPARQL text at the level of tokens, without a full parse.

Comments and strings are blanked out and IRIs replaced by numbered markers, so that a keyword
is only found where it is a keyword (not inside a string, an IRI, a comment or a prefixed name).
Used to screen SERVICE/LOAD (guards.py) and to see whether a query names its own dataset.
"""
from __future__ import annotations

import re

_STRING = r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
_IRI = r'<[^<>"{}|^`\\\x00-\x20]*>'
_COMMENT = r'#[^\n]*'
_TOKENS = re.compile(f"({_STRING})|({_IRI})|({_COMMENT})", re.DOTALL)


def blank(text: str) -> tuple[str, list[str]]:
    """The text with strings and comments blanked and IRIs replaced by numbered markers."""
    iris: list[str] = []

    def replace(match: re.Match) -> str:
        if match.group(2):
            iris.append(match.group(2)[1:-1])
            return f"<{len(iris) - 1}>"
        return " " * len(match.group(0))

    return _TOKENS.sub(replace, text), iris


def has_keyword(text: str, keyword: str) -> bool:
    """Whether `keyword` occurs in the text as a SPARQL keyword."""
    blanked, _ = blank(text)
    return re.search(rf"(?<![\w:?$]){keyword}(?![\w:-])", blanked, re.IGNORECASE) is not None


def _masked(text: str) -> str:
    """The text with strings, comments and IRIs overwritten by spaces: same length, so that a
    position found in it is the same position in the original."""
    return _TOKENS.sub(lambda m: " " * len(m.group(0)), text)


_WORD = re.compile(r"[?$]([A-Za-z0-9_\u00B7-\uFFFF]+)|([A-Za-z]+)|([{}()])")
_CLAUSE_ENDS = {"WHERE", "{", "}", "HAVING", "LIMIT", "OFFSET", "VALUES", "FROM", "GROUP", "ORDER"}


def variable_uses(text: str) -> list[tuple[int, int, str, str]]:
    """Where each variable occurs: (start, end, name, role), role being "projection" (a bare
    variable of a SELECT clause), "modifier" (a bare GROUP BY / ORDER BY key), "target" (after
    AS: being bound) or "pattern" (anywhere else: patterns, filters, expressions, templates)."""
    masked = _masked(text)
    uses = []
    clause = None  # "projection" or "modifier" while inside such a clause
    depth = 0      # parentheses inside that clause
    previous = ""
    for match in _WORD.finditer(masked):
        if match.group(1) is not None:
            if previous == "AS":
                role = "target"
            elif clause and depth == 0:
                role = clause
            else:
                role = "pattern"
            uses.append((match.start(), match.end(), match.group(1), role))
            previous = ""
            continue
        word = (match.group(2) or match.group(3)).upper()
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif word == "SELECT":
            clause, depth = "projection", 0
        elif word == "BY" and previous in ("GROUP", "ORDER"):
            clause, depth = "modifier", 0
        elif word in _CLAUSE_ENDS and depth <= 0:
            clause = None
        previous = word
    return uses


def write_in(text: str, terms: dict[str, str]) -> str:
    """The query with each variable named in `terms` ({name: term in SPARQL syntax}) replaced by
    its term, as pyoxigraph's substitutions bind it: in patterns and expressions the term itself
    (inside subqueries too); a projected variable becomes (term AS ?v) and a GROUP BY / ORDER BY
    key (term), so results still bind it. Where it is bound (after AS) it is left alone."""
    if not terms:
        return text
    out, last = [], 0
    for start, end, name, role in variable_uses(text):
        if name not in terms or role == "target":
            continue
        term = terms[name]
        replacement = {"projection": f"({term} AS ?{name})", "modifier": f"({term})"}.get(role, term)
        out += [text[last:start], replacement]
        last = end
    return "".join(out) + text[last:]
