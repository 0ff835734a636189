"""Judge pre-annotations in the warehouse: what a judge reads about a call, how its verdicts are
stored, and the summaries the app shows.

Judges never touch `reviews`: a judgement is a separate row beside the human reviews, so a judge
run can never overwrite what a person decided. Every judgement is kept (a re-run adds rows), which
is what makes run history and calibration per judge version possible.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import orjson
import polars as pl

from warehouse.db import connect
from warehouse.engines import tables_for
from warehouse.prices import price_for
from warehouse.tables import duckdb_tables


@dataclass(frozen=True)
class Turn:
    turn_index: int
    speaker: str
    text: str
    started_at: datetime
    response_latency_ms: int | None


@dataclass(frozen=True)
class ToolCall:
    turn_index: int | None
    tool_name: str | None
    arguments: str | None
    result: str | None
    is_error: bool
    error_type: str | None
    started_at: datetime


@dataclass(frozen=True)
class CallForJudging:
    """Everything a judge may look at for one call; `booked` is the CRM's word, when there is one."""

    call_id: str
    agent: str | None
    booked: bool | None
    turns: tuple[Turn, ...]
    tools: tuple[ToolCall, ...]


@dataclass(frozen=True)
class JudgementRow:
    """One row of `judgements`: a verdict (status 'ok') or the reason there is none ('failed')."""

    call_id: str
    judge_name: str
    judge_version: str
    provider: str
    model: str | None
    status: str
    run_id: str
    created_at: datetime
    error: str | None = None
    score: int | None = None
    passed: bool | None = None
    labels: list[str] = field(default_factory=list)
    hallucination: bool | None = None
    rationale: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: float | None = None
    judgement_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def session_call_ids(con: duckdb.DuckDBPyConnection, session_id: str) -> list[str] | None:
    """The calls sampled for a review session in the order they are shown; None if no such session."""
    if con.execute("SELECT 1 FROM review_sessions WHERE session_id = ?", [session_id]).fetchone() is None:
        return None
    rows = con.execute(
        "SELECT call_id FROM review_samples WHERE session_id = ? ORDER BY position", [session_id]
    ).fetchall()
    return [row[0] for row in rows]


def period_call_ids(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[str]:
    """The calls that started on the UTC days from `start` to `end` (both included), oldest first."""
    rows = con.execute(
        "SELECT call_id FROM calls WHERE day BETWEEN ? AND ? ORDER BY started_at, call_id", [start, end]
    ).fetchall()
    return [row[0] for row in rows]


def judged_call_ids(con: duckdb.DuckDBPyConnection, judge_version: str) -> set[str]:
    """Calls this judge version has already judged successfully; a failed attempt is tried again."""
    rows = con.execute(
        "SELECT DISTINCT call_id FROM judgements WHERE judge_version = ? AND status = 'ok'", [judge_version]
    ).fetchall()
    return {row[0] for row in rows}


def model_price(con: duckdb.DuckDBPyConnection, provider: str, model: str) -> tuple[float, float] | None:
    """Dollars per million input and output tokens for a model (priced as spans are, so a dated
    name takes its base model's price), or None when it has no list price."""
    row = price_for(con, provider, model)
    if row is None or row["input_usd_per_mtok"] is None or row["output_usd_per_mtok"] is None:
        return None
    return float(row["input_usd_per_mtok"]), float(row["output_usd_per_mtok"])


def load_calls(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> list[CallForJudging]:
    """The transcript, tool calls and CRM outcome of each call, in the order of `call_ids`."""
    if not call_ids:
        return []
    con.register("_judge_wanted", pl.DataFrame({"call_id": call_ids}, schema={"call_id": pl.String}))
    try:
        calls = con.execute(
            """SELECT c.call_id, c.agent,
                      (SELECT bool_or(o.booked) FROM outcomes o WHERE o.call_id = c.call_id) AS booked
               FROM calls c JOIN _judge_wanted w USING (call_id)"""
        ).fetchall()
        turns = con.execute(
            """SELECT t.call_id, t.turn_index, t.speaker, t.text, t.started_at, t.response_latency_ms
               FROM turns t JOIN _judge_wanted w USING (call_id) ORDER BY t.call_id, t.turn_index"""
        ).fetchall()
        tools = con.execute(
            """SELECT s.call_id, s.turn_index, s.tool_name, s.input_text, s.output_text, s.is_error,
                      s.error_type, s.started_at
               FROM spans s JOIN _judge_wanted w USING (call_id)
               WHERE s.kind = 'tool' ORDER BY s.call_id, s.started_at, s.span_id"""
        ).fetchall()
    finally:
        con.unregister("_judge_wanted")
    turns_by_call: dict[str, list[Turn]] = defaultdict(list)
    for call_id, *rest in turns:
        turns_by_call[call_id].append(Turn(*rest))
    tools_by_call: dict[str, list[ToolCall]] = defaultdict(list)
    for call_id, *rest in tools:
        tools_by_call[call_id].append(ToolCall(*rest))
    found = {
        call_id: CallForJudging(call_id, agent, booked, tuple(turns_by_call[call_id]), tuple(tools_by_call[call_id]))
        for call_id, agent, booked in calls
    }
    return [found[call_id] for call_id in call_ids if call_id in found]


_COLUMNS = (
    "judgement_id", "call_id", "judge_name", "judge_version", "provider", "model", "status", "error",
    "score", "passed", "labels", "hallucination", "rationale", "evidence", "input_tokens",
    "output_tokens", "cost_usd", "latency_ms", "run_id", "created_at",
)  # fmt: skip

_FRAME_SCHEMA = {
    "judgement_id": pl.String(), "call_id": pl.String(), "judge_name": pl.String(),
    "judge_version": pl.String(), "provider": pl.String(), "model": pl.String(), "status": pl.String(),
    "error": pl.String(), "score": pl.Int32(), "passed": pl.Boolean(), "labels": pl.List(pl.String()),
    "hallucination": pl.Boolean(), "rationale": pl.String(), "evidence": pl.String(),
    "input_tokens": pl.Int64(), "output_tokens": pl.Int64(), "cost_usd": pl.Float64(),
    "latency_ms": pl.Float64(), "run_id": pl.String(), "created_at": pl.Datetime("us"),
}  # fmt: skip


def insert_judgements(con: duckdb.DuckDBPyConnection, rows: list[JudgementRow]) -> None:
    """Append judgements in one statement (a frame, not one INSERT per row: a batch lands at once)."""
    if not rows:
        return
    records = [
        {name: orjson.dumps(row.evidence).decode() if name == "evidence" else getattr(row, name) for name in _COLUMNS}
        for row in rows
    ]
    con.register("_new_judgements", pl.DataFrame(records, schema=_FRAME_SCHEMA))
    try:
        columns = ", ".join(_COLUMNS)
        selected = ", ".join("evidence::JSON" if name == "evidence" else name for name in _COLUMNS)
        con.execute(f"INSERT INTO judgements ({columns}) SELECT {selected} FROM _new_judgements")
    finally:
        con.unregister("_new_judgements")


def _summary(judgements: ibis.Table, by: list[str]) -> ibis.Table:
    """Runs, calls judged, failures, tokens, cost and timing of judgements grouped by `by`."""
    ok = judgements.status == "ok"
    return (
        judgements.group_by(by)
        .aggregate(
            runs=judgements.run_id.nunique(),
            calls_judged=judgements.call_id.nunique(where=ok),
            failures=(~ok).cast("int64").sum(),
            hallucinations=judgements.hallucination.cast("int64").sum(),
            input_tokens=judgements.input_tokens.sum(),
            output_tokens=judgements.output_tokens.sum(),
            cost_usd=judgements.cost_usd.sum(),
            first_run=judgements.created_at.min(),
            last_run=judgements.created_at.max(),
        )
        .order_by(ibis.desc("last_run"))
    )


def judge_runs_summary() -> pl.DataFrame:
    """One row per judge version: runs, distinct calls judged, failed attempts, cost, last run.
    Read on the configured engine, like every figure the app shows, so the Judges page and the
    Overview's eval score count the same judgements."""
    with tables_for() as t:
        judgements = t.judgements
        by = ["judge_name", "judge_version", "provider", "model"]
        return _summary(judgements, by).drop("first_run").to_polars()


def judge_run_history() -> pl.DataFrame:
    """One row per judge run (newest first): the run history behind `judge_runs_summary`, on the
    configured engine."""
    with tables_for() as t:
        judgements = t.judgements
        by = ["run_id", "judge_name", "judge_version", "provider", "model"]
        return _summary(judgements, by).drop("runs").to_polars()


def latest_judgement(call_id: str, judge_name: str | None = None, path: Path | None = None) -> dict | None:
    """The newest successful judgement of a call (of one judge when named), else its newest failed
    attempt so the app can say why there is none; None when no judge has looked at the call."""
    with connect(path) as con:
        judgements = duckdb_tables(con).judgements
        mine = judgements.filter(judgements.call_id == call_id)
        if judge_name is not None:
            mine = mine.filter(mine.judge_name == judge_name)
        newest = (
            mine.order_by([ibis.desc(mine.status == "ok"), ibis.desc("created_at")])
            .limit(1)
            .mutate(evidence=mine.evidence.cast("string"))
        )
        rows = newest.to_polars().to_dicts()
    if not rows:
        return None
    row = rows[0]
    row["evidence"] = orjson.loads(row["evidence"]) if row["evidence"] else []
    row["labels"] = list(row["labels"] or [])
    return row
