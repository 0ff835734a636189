"""The rules judge on a generated demo, through the real generator and ingest, measured against the
generator's ground truth (what it planted in each call)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from data.generate import generate
from ingest.outcomes import ingest_outcomes
from ingest.traces import ingest_traces
from judges import __main__ as cli
from warehouse.db import connect

CALLS = 3_000


@pytest.fixture(scope="session")
def judged_demo(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """A 3,000-call demo warehouse, judged once by `python -m judges run --judge rules`."""
    folder = tmp_path_factory.mktemp("judges-demo")
    files, db = folder / "files", folder / "callboard.duckdb"
    generate(files, calls=CALLS, seed=7)
    ingest_traces(sorted((files / "traces").glob("*.jsonl")), db_path=db)
    ingest_outcomes(files / "outcomes" / "crm.csv", files / "outcomes" / "crm.toml", db_path=db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOARD_DB", str(db))
        out, err = io.StringIO(), io.StringIO()
        assert cli.main(["run", "--judge", "rules", "--start", "2026-01-01", "--end", "2026-12-31"], out, err) == 0
    assert f"{CALLS:,} judged, 0 failed" in out.getvalue(), out.getvalue() + err.getvalue()
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
    assert len(judged) == CALLS
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
