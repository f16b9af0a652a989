"""Reconciliation: turning the names in a researcher's table into our IRIs.

index.py reads the names of everything worth reconciling from a store (one revision);
normalise.py makes names comparable; matching.py scores candidates and decides when one is a
certain match; properties.py reads the values a query may compare and data extension adds;
service.py answers the Reconciliation Service API's requests (manifest, queries, suggest,
preview, extension) as plain data, for http/reconcile.py, the CLI and `gros.reconcile()`.
"""
