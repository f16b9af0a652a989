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
