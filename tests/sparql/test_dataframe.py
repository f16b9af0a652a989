"""gros.dataframe: a named query's answer as a pandas DataFrame whose columns carry the types of
the RDF values (the `research` extra), on a fixed query of every datatype and on the shipped queries."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

import gros

ROOT = Path(__file__).resolve().parents[2]
TYPED = ROOT / "tests" / "fixtures" / "queries" / "typed-values.rq"


@pytest.fixture(scope="module")
def typed() -> pd.DataFrame:
    return gros.dataframe(str(TYPED))


def test_columns_come_in_the_order_of_the_query_with_one_row_per_solution(typed):
    assert list(typed.columns) == ["iri", "text", "label", "count", "amount", "ratio", "flag", "day", "moment",
                                   "year", "month", "mixed"]
    assert len(typed) == 3


def test_iris_and_text_are_strings_and_unbound_is_missing(typed):
    for column in ("iri", "text", "label"):
        assert pd.api.types.is_string_dtype(typed[column]), column
    assert typed["iri"][0] == "https://w3id.org/gros/id/region/limburg-nl"
    assert typed["label"][1] == "Zeeland"
    assert typed.iloc[2].isna().all()


def test_numbers_are_numbers(typed):
    assert str(typed["count"].dtype) == "Int64"
    assert typed["count"].tolist()[:2] == [3, -2]
    assert typed["count"].sum() == 1
    for column in ("amount", "ratio"):
        assert typed[column].dtype == "float64", column
    assert typed["amount"].tolist()[:2] == [12.5, 0.1]
    assert typed["ratio"].tolist()[:2] == [1.5, 2.0]


def test_booleans_are_booleans(typed):
    assert str(typed["flag"].dtype) == "boolean"
    assert typed["flag"].tolist()[:2] == [True, False]


def test_dates_are_dates_even_before_1677(typed):
    assert pd.api.types.is_datetime64_dtype(typed["day"])
    assert typed["day"][0] == pd.Timestamp("2020-02-29")
    assert typed["day"][1].date() == dt.date(1648, 1, 30)  # outside datetime64[ns]'s range
    assert pd.isna(typed["day"][2])
    assert (typed["day"][0] - typed["day"][1]).days > 365 * 370


def test_date_times_with_a_time_zone_are_in_utc(typed):
    assert isinstance(typed["moment"].dtype, pd.DatetimeTZDtype) and str(typed["moment"].dtype.tz) == "UTC"
    assert typed["moment"][0] == pd.Timestamp("2020-02-29T12:30:00Z")
    assert typed["moment"][1] == pd.Timestamp("2020-12-31T23:00:00Z")


def test_years_are_year_numbers_and_year_months_are_periods(typed):
    assert str(typed["year"].dtype) == "Int64"
    assert typed["year"].tolist()[:2] == [1993, 2001]
    assert str(typed["month"].dtype) == "period[M]"
    assert typed["month"][0] == pd.Period("2021-06", freq="M")


def test_a_column_mixing_datatypes_stays_text_so_no_precision_is_made_up(typed):
    assert pd.api.types.is_string_dtype(typed["mixed"])
    assert typed["mixed"].tolist()[:2] == ["1993", "1993-05-12"]


def test_the_shipped_queries_give_typed_columns_with_the_values_of_gros_query():
    members = gros.dataframe("members-on-date", date="2010-01-01")
    rows = gros.query("members-on-date", date="2010-01-01")
    assert len(members) == len(rows) > 0
    assert pd.api.types.is_datetime64_dtype(members["date"])
    assert str(members["current"].dtype) == "boolean"
    assert members["member"].tolist() == [row["member"] for row in rows]
    assert (members["date"] == pd.Timestamp("2010-01-01")).all()

    regions = gros.dataframe("region-codes")
    assert str(regions["nutsLevel"].dtype) == "Int64"
    assert set(regions["nutsLevel"].dropna()) <= {0, 1, 2, 3}
    assert regions["region"].str.startswith("https://w3id.org/gros/id/region/").all()

    amounts = gros.dataframe("news-amounts")
    assert amounts["value"].dtype == "float64" and (amounts["value"] > 0).all()


def test_without_pandas_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if pandas were not installed
    with pytest.raises(ImportError, match=r"gros-kg\[research\]"):
        gros.dataframe("region-codes")


def test_an_unknown_query_is_refused_with_the_known_names():
    with pytest.raises(LookupError, match="region-codes"):
        gros.dataframe("no-such-query")
