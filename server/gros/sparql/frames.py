"""A SELECT result as a pandas DataFrame whose columns have the types of the RDF values
(gros.dataframe): what a researcher would otherwise redo by hand after every query.

A column gets a type when all its bound values share one datatype family:
  xsd:integer and its subtypes   -> Int64 (pandas' integer with missing values)
  xsd:decimal, xsd:double/float  -> float64
  xsd:boolean                    -> boolean
  xsd:date                       -> datetime64 (seconds resolution, so that dates before 1677 fit;
                                    a date's time zone, rare and meaningless for a day, is dropped)
  xsd:dateTime                   -> datetime64, in UTC when the values carry a time zone
  xsd:gYear                      -> Int64 (the year)
  xsd:gYearMonth                 -> period[M]
Everything else - IRIs, strings, language-tagged text, and columns whose values mix datatypes
(say, a date here and only a year there) - is text: Python str, None where unbound. A mixed column
stays text so that no precision is made up (1993 is not 1993-01-01).
"""
from __future__ import annotations

import re

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {XSD + name for name in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
    "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte")}
_FLOATS = {XSD + "decimal", XSD + "double", XSD + "float"}
_KINDS = {XSD + "boolean": "boolean", XSD + "date": "date", XSD + "dateTime": "datetime",
          XSD + "dateTimeStamp": "datetime", XSD + "gYear": "year", XSD + "gYearMonth": "month"}
_TIMEZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")
_YEAR = re.compile(r"^(-?\d{4,})")


def _kind(term) -> str:
    if not isinstance(term, ox.Literal):
        return "text"
    datatype = term.datatype.value
    if datatype in _INTEGERS:
        return "integer"
    if datatype in _FLOATS:
        return "float"
    return _KINDS.get(datatype, "text")


def to_dataframe(solutions: ox.QuerySolutions):
    """The solutions as a DataFrame, one column per variable in the query's order."""
    import pandas as pd

    names = [variable.value for variable in solutions.variables]
    columns: dict[str, list] = {name: [] for name in names}
    for solution in solutions:
        for name in names:
            columns[name].append(solution[name])
    return pd.DataFrame({name: _column(pd, terms) for name, terms in columns.items()}, columns=names)


def _column(pd, terms: list):
    kinds = {_kind(term) for term in terms if term is not None}
    kind = kinds.pop() if len(kinds) == 1 else "text"
    values = [None if term is None else term.value for term in terms]
    if kind == "integer":
        return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
    if kind == "year":
        return pd.array([None if v is None else int(_YEAR.match(v).group(1)) for v in values], dtype="Int64")
    if kind == "float":
        return pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")
    if kind == "boolean":
        return pd.array([None if v is None else v in ("true", "1") for v in values], dtype="boolean")
    if kind == "date":
        import numpy as np

        days = np.array(["NaT" if v is None else _TIMEZONE.sub("", v) for v in values], dtype="datetime64[D]")
        return pd.Series(days.astype("datetime64[s]"))
    if kind == "datetime":
        zoned = any(v is not None and _TIMEZONE.search(v) for v in values)
        return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", utc=zoned)
    if kind == "month":
        return pd.Series([pd.NaT if v is None else pd.Period(_TIMEZONE.sub("", v), freq="M") for v in values],
                         dtype="period[M]")
    return pd.Series(values)  # str (pandas 3) or object (pandas 2), as pandas reads text
