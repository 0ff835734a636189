"""The ingest log: one `ingest_runs` row per run and the `quarantine` rows of records it refused.

Counts are added in the same transaction as the chunk they describe, so a run that dies halfway
still says truthfully how far it got. The app's "Ingest" section reads `recent_runs` and
`quarantined`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from warehouse.db import connect


def start_run(con: duckdb.DuckDBPyConnection, kind: str, sources: str, unit: str = "records") -> tuple[str, datetime]:
    """Record a run as running; returns its id and start time (the warehouse's clock, UTC). `unit`
    is what its counts count (spans, rows, files)."""
    run_id = uuid.uuid4().hex
    row = con.execute(
        "INSERT INTO ingest_runs (run_id, kind, started_at, sources, unit) VALUES (?, ?, now()::TIMESTAMP, ?, ?) "
        "RETURNING started_at",
        [run_id, kind, sources, unit],
    ).fetchone()
    assert row is not None
    return run_id, row[0]


def add_counts(
    con: duckdb.DuckDBPyConnection, run_id: str, *, read: int, loaded: int, updated: int, quarantined: int,
    unchanged: int = 0,
) -> None:
    """Add one chunk's counts (in the run's unit) to its run, in the chunk's transaction."""
    con.execute(
        "UPDATE ingest_runs SET records_read = records_read + ?, records_loaded = records_loaded + ?, "
        "records_updated = records_updated + ?, records_unchanged = records_unchanged + ?, "
        "records_quarantined = records_quarantined + ? WHERE run_id = ?",
        [read, loaded, updated, unchanged, quarantined, run_id],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, message: str | None = None) -> None:
    """Close the run: `status` is 'ok' or 'failed', `message` says what went wrong or what it left out."""
    con.execute(
        "UPDATE ingest_runs SET status = ?, message = ?, finished_at = now()::TIMESTAMP WHERE run_id = ?",
        [status, message, run_id],
    )


def quarantine(con: duckdb.DuckDBPyConnection, run_id: str, source_file: str, rejects: pa.Table) -> int:
    """Keep refused records with their reason: `rejects` has columns location, reason, record
    (text or bytes, exactly as read)."""
    if not rejects.num_rows:
        return 0
    con.register("rejects_arrow", rejects)
    # Text is stored as its UTF-8 bytes (a cast would read backslashes in it as escapes).
    record = "record" if pa.types.is_binary(rejects.schema.field("record").type) else "encode(record)"
    con.execute(
        f"INSERT INTO quarantine SELECT ?, ?, location, reason, {record}, now()::TIMESTAMP FROM rejects_arrow",
        [run_id, source_file],
    )
    con.unregister("rejects_arrow")
    return rejects.num_rows


def recent_runs(limit: int = 20, db_path: Path | None = None) -> pl.DataFrame:
    """The newest runs first, with their counts and how long they took."""
    with connect(db_path) as con:
        return con.sql(
            "SELECT run_id, kind, status, started_at, finished_at, "
            "datediff('millisecond', started_at, finished_at) / 1000.0 AS seconds, sources, unit, "
            "records_read, records_loaded, records_updated, records_unchanged, records_quarantined, message "
            "FROM ingest_runs ORDER BY started_at DESC LIMIT ?",
            params=[limit],
        ).pl()


def quarantined(run_id: str | None = None, limit: int = 100, db_path: Path | None = None) -> pl.DataFrame:
    """Refused records, newest first (of one run when `run_id`, or the start of it, is given), the
    record as text."""
    with connect(db_path) as con:
        return con.sql(
            "SELECT run_id, source_file, location, reason, "
            "coalesce(TRY(decode(record)), record::VARCHAR) AS record, quarantined_at FROM quarantine "
            "WHERE ? IS NULL OR starts_with(run_id, ?) ORDER BY quarantined_at DESC, source_file, "
            # "row 3" before "row 10", and "line 8, span 2" before "line 8, span 10"
            "TRY_CAST(regexp_extract(location, '(\\d+)', 1) AS BIGINT), "
            "TRY_CAST(regexp_extract(location, '\\d+\\D+(\\d+)', 1) AS BIGINT), location LIMIT ?",
            params=[run_id, run_id, limit],
        ).pl()
