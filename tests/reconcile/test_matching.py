"""The matching test set (tests/fixtures/reconciliation/names.csv): names of regions, bodies,
organisations and legal instruments in nl, en, de and fr, with abbreviations, typos, other word
orders and designations, and names that must not match. Through the Python API and, the same
set, as one batch over HTTP."""
from __future__ import annotations

import json

import gros
from reconciliation import conforms, matching_set

ROWS = matching_set()
#: The targets of the task: at least 95 % right first candidates, no wrong certain match.
MIN_ACCURACY = 0.95


def _judge(rows, results):
    right, wrong_matches = 0, []
    for row, best in zip(rows, results):
        if row["expected"]:
            right += best["id"] == row["expected"]
        else:
            right += not best["match"]
        if best["match"] and best["id"] != row["expected"]:
            wrong_matches.append((row["query"], best["id"]))
    return right / len(rows), wrong_matches


def test_the_set_is_large_and_covers_four_languages_and_names_not_in_the_graph():
    assert len(ROWS) >= 60
    assert {row["lang"] for row in ROWS} == {"nl", "en", "de", "fr"}
    assert sum(1 for row in ROWS if not row["expected"]) >= 10


def test_python_api_top1_accuracy_and_no_false_match():
    results = []
    for row in ROWS:
        results += gros.reconcile([row["query"]], type=row["type"] or None, properties=[row["props"]])
    accuracy, wrong = _judge(ROWS, results)
    assert wrong == []
    assert accuracy >= MIN_ACCURACY


def test_the_same_set_as_one_batch_over_http(http):
    queries = {}
    for i, row in enumerate(ROWS):
        query = {"query": row["query"]}
        if row["type"]:
            query["type"] = row["type"]
        if row["props"]:
            query["properties"] = [{"pid": k, "v": v} for k, v in row["props"].items()]
        queries[f"q{i}"] = query
    response = http.post("/reconcile", data={"queries": json.dumps(queries)})
    assert response.status_code == 200
    conforms("reconciliation-result-batch", response.json())
    results = [{"id": (r["result"] or [{}])[0].get("id"), "match": bool(r["result"] and r["result"][0]["match"])}
               for r in (response.json()[f"q{i}"] for i in range(len(ROWS)))]
    accuracy, wrong = _judge(ROWS, results)
    assert wrong == []
    assert accuracy >= MIN_ACCURACY


def test_scores_are_between_0_and_100_and_a_certain_match_is_first():
    for result in gros.reconcile(["Euregio Rijn Waal", "Limburg", "Kleve", "Gemeente Vaals"], limit=10):
        scores = [c["score"] for c in result["candidates"]]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)
        assert all(not c["match"] for c in result["candidates"][1:])


def test_a_limit_of_one_still_sees_the_namesake():
    # with only one candidate returned, the one cut off still makes the first uncertain
    [result] = gros.reconcile(["Groningen"], type="gros:Region", limit=1)
    assert len(result["candidates"]) == 1 and not result["match"]
