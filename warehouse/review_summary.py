"""A review session's summary: scored calls, pass rate with its interval, failure modes, judge
agreement, follow-ups, decisions. Its Markdown is written by present/review_summary.py, its CSV (the
`calls` frame) by export/table_files.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import polars as pl

from warehouse import metrics, review_metrics, stats
from warehouse.db import connect
from warehouse.reviews import OUTCOMES, ReviewSession, get_session
from warehouse.tables import duckdb_tables


@dataclass(frozen=True)
class SessionSummary:
    session: ReviewSession
    scored: int
    decided: int
    passed: int
    pass_rate: float | None
    pass_interval: tuple[float, float] | None  # 95% Wilson
    weighted_pass_rate: float | None
    failure_modes: pl.DataFrame  # label, calls
    agreement: pl.DataFrame  # label, calls, agreed, agreement, human_yes, judge_yes
    calls: pl.DataFrame  # one row per drawn call: the CSV export

    @property
    def test_cases(self) -> pl.DataFrame:
        return self.calls.filter(pl.col("test_case").fill_null(False))


def _per_call(session: ReviewSession, verdicts: ibis.Table, judged: ibis.Table) -> ibis.Table:
    drawn = ibis.memtable(
        {
            "position": list(range(1, len(session.call_ids) + 1)),
            "call_id": list(session.call_ids),
            "weight": list(session.weights),
        },
        schema={"position": "int64", "call_id": "string", "weight": "float64"},
    )
    v = verdicts.select("call_id", "reviewer", "score", "passed", "labels", "notes", "test_case", "created_at")
    j = judged.select("call_id", judge_score=judged.score, judge_passed=judged.passed, judge_labels=judged.labels)
    joined = drawn.left_join(v, "call_id").left_join(j, "call_id")
    return joined.select(
        "position", drawn.call_id, "weight", "reviewer", "score", "passed", "labels", "notes", "test_case",
        "created_at", "judge_score", "judge_passed", "judge_labels",
    ).order_by("position")  # fmt: skip


def session_summary(session_id: str, path: Path | None = None) -> SessionSummary | None:
    """The figures of one session, or None when there is no such session."""
    session = get_session(session_id, path)
    if session is None:
        return None
    with connect(path) as con:
        t = duckdb_tables(con)
        drawn = set(session.call_ids)
        reviews = t.reviews.filter(t.reviews.session_id == session_id, t.reviews.call_id.isin(drawn))
        verdicts = review_metrics.call_verdicts(reviews)
        weights = ibis.memtable(
            {"call_id": list(session.call_ids), "weight": list(session.weights)},
            schema={"call_id": "string", "weight": "float64"},
        )
        counts = review_metrics.pass_counts(verdicts, weights).to_polars().row(0, named=True)
        modes = review_metrics.label_counts(verdicts).to_polars()
        agreement = review_metrics.judge_agreement(verdicts, t).to_polars()
        calls = _per_call(session, verdicts, metrics.latest_judgement_per_call(t)).to_polars()
    decided, passed = int(counts["decided"] or 0), int(counts["passed"] or 0)
    return SessionSummary(
        session=session,
        scored=int(counts["scored"] or 0),
        decided=decided,
        passed=passed,
        pass_rate=passed / decided if decided else None,
        pass_interval=stats.wilson_interval(passed, decided),
        weighted_pass_rate=counts["weighted_pass_rate"] if decided else None,
        failure_modes=modes,
        agreement=agreement,
        calls=calls,
    )


_FILTER_LABELS = {"agents": "agents", "prompt_versions": "prompt versions", "models": "models", "outcomes": "outcomes"}


def describe_filters(session: ReviewSession) -> str:
    """The session's filters in words, for the summary and the page."""
    parts = []
    for key, label in _FILTER_LABELS.items():
        values = [OUTCOMES.get(v, v) if key == "outcomes" else v for v in session.filters.get(key) or []]
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "; ".join(parts) or "all calls"
