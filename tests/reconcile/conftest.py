"""Fixtures of the reconciliation tests (tests/support/reconciliation.py)."""
from reconciliation import data_server, http  # noqa: F401
