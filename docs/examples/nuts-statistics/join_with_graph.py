"""Join a table you have - numbers per region, keyed by NUTS code - with the GROS graph, in pandas.

    pip install 'gros-kg[research]'
    python join_with_graph.py regional-indicators-illustrative.csv
    python join_with_graph.py regional-indicators-illustrative.csv --csv joined.csv

THE NUMBERS IN regional-indicators-illustrative.csv ARE ILLUSTRATIVE: invented for this example,
not statistics (each row says so in its `status` column). The technique is what the example
shows: the named query region-codes gives the GROS region (an IRI) of each NUTS code, and
regions-in-cross-border-bodies how many cross-border cooperation bodies cover that region; two
merges put your numbers next to them. No server and no network: gros reads the graph that comes
with the package (or your checkout).
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd

import gros


def joined(table: pd.DataFrame) -> pd.DataFrame:
    """`table` (a `nuts_code` column and your numbers) with the GROS region and its bodies."""
    regions = gros.dataframe("region-codes")[["nutsCode", "region", "regionLabel", "countryLabel", "nutsLevel"]]
    regions = regions.dropna(subset=["nutsCode"])  # regions without a NUTS code (municipalities, ...)
    covered = gros.dataframe("regions-in-cross-border-bodies")[["region", "bodyCount", "bodies"]]
    out = (table.merge(regions, how="left", left_on="nuts_code", right_on="nutsCode", validate="one_to_one")
                .merge(covered, how="left", on="region", validate="many_to_one"))
    # A region of the graph that no body covers has no row in regions-in-cross-border-bodies: 0 bodies.
    out.loc[out["region"].notna(), "bodyCount"] = out.loc[out["region"].notna(), "bodyCount"].fillna(0)
    return out.drop(columns=["nutsCode"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", help="CSV with a nuts_code column")
    parser.add_argument("--csv", help="also write the joined table to this CSV file")
    args = parser.parse_args(argv)

    table = pd.read_csv(args.table, dtype={"nuts_code": str})
    out = joined(table)
    matched = out[out["region"].notna()]
    unmatched = out.loc[out["region"].isna(), "nuts_code"].tolist()
    print(f"{len(matched)} of {len(out)} rows matched a GROS region by NUTS code"
          + (f"; not in the graph: {', '.join(unmatched)}" if unmatched else ""))
    # One question the join answers: do regions covered by more cooperation bodies have more
    # cross-border workers? (On these invented numbers the answer means nothing.)
    by_bodies = (matched.groupby("bodyCount")["cross_border_workers_per_1000"].mean().round(1)
                 .rename("mean cross-border workers per 1000 (illustrative)"))
    print(by_bodies.to_string())
    print(f"correlation (illustrative numbers): "
          f"{matched['bodyCount'].astype(float).corr(matched['cross_border_workers_per_1000']):.2f}")
    if args.csv:
        out.to_csv(args.csv, index=False)
        print(f"joined table written to {args.csv}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
