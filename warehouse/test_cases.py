"""Test cases for the judges: customer complaints written into `complaints`, and everything an eval
dataset needs read back (reviewed calls marked "make this a test case", complaints, and each
call's transcript, tool calls and CRM outcome).

Complaints are keyed by a hash of call id, text and label, so importing a file twice adds nothing.
A complaint about a call the warehouse does not have (yet) is kept: its call may arrive later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from warehouse import review_metrics
from warehouse.db import connect
from warehouse.tables import duckdb_tables

_NEW_COMPLAINTS = """
SELECT DISTINCT md5(call_id || '|' || complaint || '|' || reported_label) AS complaint_id,
       call_id, complaint, reported_label
FROM complaints_arrow"""


@dataclass(frozen=True)
class ComplaintLoad:
    loaded: int  # new complaints (one already stored is not loaded again)
    unmatched_keys: list[str]  # call ids of this file that match no call yet


def load_complaints(con: duckdb.DuckDBPyConnection, rows: pa.Table, source_file: str) -> ComplaintLoad:
    """Add `rows` (call_id, complaint, reported_label) inside the caller's transaction."""
    con.register("complaints_arrow", rows)
    try:
        (before,) = con.execute("SELECT count(*) FROM complaints").fetchall()[0]
        con.execute(
            f"""INSERT INTO complaints (complaint_id, call_id, complaint, reported_label, source_file, imported_at)
                SELECT n.*, ?, now()::TIMESTAMP FROM ({_NEW_COMPLAINTS}) n
                ON CONFLICT (complaint_id) DO NOTHING""",
            [source_file],
        )
        (after,) = con.execute("SELECT count(*) FROM complaints").fetchall()[0]
        unmatched = con.execute(
            """SELECT DISTINCT r.call_id FROM complaints_arrow r
               WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_id = r.call_id) ORDER BY r.call_id"""
        ).fetchall()
    finally:
        con.unregister("complaints_arrow")
    return ComplaintLoad(after - before, [call_id for (call_id,) in unmatched])


@dataclass(frozen=True)
class CaseRows:
    """The raw material of an eval dataset, one frame per kind of row, all for the same calls."""

    calls: pl.DataFrame  # call_id, agent, prompt_version, model, started_at, booked
    turns: pl.DataFrame  # call_id, turn_index, speaker, text, start_ms, end_ms, response_latency_ms
    tools: pl.DataFrame  # call_id, turn_index, name, arguments, result, is_error, error_type, start_ms, end_ms
    reviews: pl.DataFrame  # call_id, reviewer, score, passed, labels, notes, test_case, reviewed_at
    complaints: pl.DataFrame  # call_id, complaint, reported_label, imported_at
    complaints_without_call: int  # complaints about calls the warehouse does not have: left out


_CALLS = """
SELECT c.call_id, c.agent, c.prompt_version, c.model, c.started_at,
       (SELECT bool_or(o.booked) FROM outcomes o WHERE o.call_id = c.call_id) AS booked
FROM calls c JOIN _wanted USING (call_id)
WHERE (?::DATE IS NULL OR c.day >= ?::DATE) AND (?::DATE IS NULL OR c.day <= ?::DATE)
ORDER BY c.started_at, c.call_id"""

_TURNS = """
SELECT t.call_id, t.turn_index, t.speaker, t.text,
       epoch_ms(t.started_at) - epoch_ms(c.started_at) AS start_ms,
       epoch_ms(t.ended_at) - epoch_ms(c.started_at) AS end_ms, t.response_latency_ms
FROM turns t JOIN calls c USING (call_id) JOIN _kept USING (call_id)
ORDER BY t.call_id, t.turn_index"""

_TOOLS = """
SELECT s.call_id, s.turn_index, coalesce(s.tool_name, s.name) AS name, s.input_text AS arguments,
       s.output_text AS result, s.is_error, s.error_type,
       epoch_ms(s.started_at) - epoch_ms(c.started_at) AS start_ms,
       epoch_ms(s.ended_at) - epoch_ms(c.started_at) AS end_ms
FROM spans s JOIN calls c USING (call_id) JOIN _kept USING (call_id)
WHERE s.kind = 'tool' ORDER BY s.call_id, s.started_at, s.span_id"""

_COMPLAINTS = """
SELECT call_id, complaint, reported_label, imported_at FROM complaints JOIN _kept USING (call_id)
ORDER BY call_id, imported_at, complaint_id"""


def case_rows(start: date | None = None, end: date | None = None, path: Path | None = None) -> CaseRows:
    """Calls marked as a test case by a reviewer's current review, or named in a complaint, that
    started between `start` and `end` (UTC days, both included; open when None), with each call's
    current reviews (every reviewer's, not only the ones who marked it)."""
    with connect(path) as con:
        current = review_metrics.current_reviews(duckdb_tables(con).reviews).to_polars()
        marked = current.filter(pl.col("test_case"))["call_id"]
        complained = con.sql("SELECT DISTINCT call_id FROM complaints").pl()["call_id"]
        wanted = pl.DataFrame({"call_id": pl.concat([marked, complained]).unique()}, schema={"call_id": pl.String})
        con.register("_wanted", wanted)
        try:
            calls = con.sql(_CALLS, params=[start, start, end, end]).pl()
            con.register("_kept", calls.select("call_id"))
            turns = con.sql(_TURNS).pl()
            tools = con.sql(_TOOLS).pl()
            complaints = con.sql(_COMPLAINTS).pl()
            without_call = con.execute(
                "SELECT count(*) FROM complaints WHERE call_id NOT IN (SELECT call_id FROM calls)"
            ).fetchall()[0][0]
        finally:
            con.unregister("_wanted")
            con.unregister("_kept")
    reviews = current.join(calls.select("call_id"), on="call_id", how="semi").select(
        "call_id", "reviewer", "score", "passed", "labels", "notes", "test_case", reviewed_at="created_at"
    ).sort("call_id", "reviewed_at", "reviewer")
    return CaseRows(calls, turns, tools, reviews, complaints, int(without_call))
