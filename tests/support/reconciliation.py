"""Shared by the reconciliation tests (tests/reconcile/): a real `gros serve` over this checkout's data/ (the names
to reconcile are there, not in minimal.ttl), the spec's JSON schemas, and the matching test set."""
from __future__ import annotations

import csv
import json

import httpx
import pytest
from jsonschema import Draft7Validator, RefResolver

from server_fixture import ROOT, TOKEN, start_server

SCHEMAS = ROOT / "tests" / "external" / "reconciliation" / "0.2" / "schemas"
EXAMPLES = ROOT / "tests" / "external" / "reconciliation" / "0.2" / "examples"
NAMES = ROOT / "tests" / "fixtures" / "reconciliation" / "names.csv"
ID = "https://w3id.org/gros/id/"


@pytest.fixture(scope="session")
def data_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("gros-reconcile"), TOKEN, data=ROOT / "data")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def http(data_server):
    with httpx.Client(base_url=data_server.url, timeout=30) as client:
        yield client


def _store() -> dict:
    # The schemas refer to each other by a name relative to their $id (type.json): each is
    # known under its $id and under the same name next to every other $id, so that nothing is
    # fetched from the web. (RefResolver: cffconvert, also a test dependency, needs jsonschema 3.)
    schemas = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in SCHEMAS.glob("*.json")}
    store = {}
    for schema in schemas.values():
        base = schema.get("$id", "").rsplit("/", 1)[0]
        for name, other in schemas.items():
            store[f"{base}/{name}"] = other
    return store


STORE = _store()


def validator(kind: str) -> Draft7Validator:
    """The validator of the spec's schema `kind` (manifest, reconciliation-result-batch, ...)."""
    schema = json.loads((SCHEMAS / f"{kind}.json").read_text(encoding="utf-8"))
    return Draft7Validator(schema, resolver=RefResolver.from_schema(schema, store=STORE))


def conforms(kind: str, document) -> None:
    errors = sorted(validator(kind).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"not a valid {kind}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def matching_set() -> list[dict]:
    """The matching test set: query, type, properties (pid=value;...), expected IRI (empty: must
    not match), lang, what it tests."""
    with NAMES.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["expected"] = ID + row["expected"] if row["expected"] else None
        row["props"] = dict(p.split("=", 1) for p in row["properties"].split(";") if p)
    return rows
