"""The rules judge on a generated demo, through the real generator and ingest, measured against the
generator's ground truth (what it planted in each call)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO_CALLS
from warehouse.db import connect


@pytest.fixture(scope="module")
def judged_demo(demo_build: tuple[Path, Path]) -> tuple[Path, dict[str, dict]]:
    """The session's demo warehouse (built by the real generator and ingest, then judged by the rules
    judge exactly as `python -m judges run` does) and the generator's ground truth per call."""
    db, files = demo_build
    truth = {}
    for line in (files / "ground_truth.jsonl").read_text().splitlines():
        record = json.loads(line)
        truth[record["call_id"]] = record
    return db, truth


def stored(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with connect(db) as con:
        return con.execute(sql, params).fetchall()


def precision_recall(flagged: set[str], planted: set[str]) -> tuple[float, float]:
    hits = len(flagged & planted)
    return hits / max(len(flagged), 1), hits / max(len(planted), 1)


def test_hallucinations_are_found_with_precision_and_recall_of_at_least_0_9(judged_demo):
    db, truth = judged_demo
    judged = stored(db, "SELECT call_id, hallucination, evidence FROM judgements WHERE status = 'ok'")
    assert len(judged) == DEMO_CALLS
    flagged = {call_id for call_id, hallucination, _ in judged if hallucination}
    planted = {call_id for call_id, record in truth.items() if record["hallucination"]}
    assert len(planted) > 80  # ~4% of 3,000: enough for the figures to mean something
    precision, recall = precision_recall(flagged, planted)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall)
    evidence = {call_id: json.loads(e) for call_id, _, e in judged if call_id in flagged & planted}
    on_the_planted_turn = sum(
        evidence[call_id][0]["turn_index"] == truth[call_id]["hallucination"]["turn_index"] for call_id in evidence
    )
    assert on_the_planted_turn / len(evidence) >= 0.9
    assert all(truth[c]["hallucination"]["stated"] in evidence[c][0]["quote"] for c in evidence)


@pytest.mark.parametrize("label", ["failed_tool_call", "escalation_loop", "customer_repeated", "goal_not_met"])
def test_other_planted_failure_modes_are_found(judged_demo, label):
    db, truth = judged_demo
    flagged = {c for (c,) in stored(db, "SELECT call_id FROM judgements WHERE list_contains(labels, ?)", (label,))}
    planted = {call_id for call_id, record in truth.items() if label in record["planted"]}
    precision, recall = precision_recall(flagged, planted)
    assert planted and precision >= 0.9 and recall >= 0.9, (label, precision, recall)


def test_slow_turn_labels_match_the_stored_latencies(judged_demo):
    """The generator plants slow turns above 3.5 s; the judge's threshold is 3 s, so check its
    labels against the turns table instead, and its recall against the planted ones."""
    db, truth = judged_demo
    flagged = {c for (c,) in stored(db, "SELECT call_id FROM judgements WHERE list_contains(labels, 'slow_turn')")}
    slow = {c for (c,) in stored(db, "SELECT DISTINCT call_id FROM turns WHERE response_latency_ms > 3000")}
    assert flagged == slow and slow
    planted = {call_id for call_id, record in truth.items() if "slow_turn" in record["planted"]}
    assert precision_recall(flagged, planted)[1] >= 0.9
