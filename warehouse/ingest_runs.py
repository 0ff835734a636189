"""The ingest log: one `ingest_runs` row per run and the `quarantine` rows of records it refused.

Counts are added in the same transaction as the chunk they describe, so a run that dies halfway
still says truthfully how far it got. The app's "Ingest" section reads `recent_runs` and
`quarantined`.

A run that dies (killed, power cut) cannot close its own row, so a live run holds an owner file
beside the warehouse locked (`hold_run`): the operating system lets go of that lock when the
process ends, however it ends. A `running` row whose lock nobody holds is shown as `interrupted`,
and the next run to start records it so.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

from warehouse.db import connect, warehouse_path

INTERRUPTED = (
    "The process stopped before the run finished; every chunk it committed is kept. Run it again to load "
    "the rest (records already loaded are not loaded twice)."
)


def new_run_id() -> str:
    return uuid.uuid4().hex


def _owner_file(run_id: str, db_path: Path | None) -> Path:
    return (db_path or warehouse_path()).with_suffix(".runs") / f"{run_id}.lock"


def hold_run(run_id: str, db_path: Path | None = None) -> int:
    """Lock the run's owner file for as long as this process lives (or until `release_run`);
    returns the descriptor that holds the lock."""
    path = _owner_file(run_id, db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def release_run(run_id: str, descriptor: int, db_path: Path | None = None) -> None:
    """The run is closed in the table: drop its owner file and lock."""
    _owner_file(run_id, db_path).unlink(missing_ok=True)
    os.close(descriptor)


def run_is_alive(run_id: str, db_path: Path | None = None) -> bool:
    """Whether a process still holds the run's owner file locked."""
    return is_locked(_owner_file(run_id, db_path))


def is_locked(path: Path) -> bool:
    """Whether a process holds `path` locked (flock). flock locks belong to an open file, so this
    holds even when the asking process is the owner; reading needs no write access (the app may
    only read), and a file it cannot open at all is not taken for an unlocked one."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except PermissionError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _dead_runs(con: duckdb.DuckDBPyConnection, db_path: Path | None) -> list[str]:
    running = con.execute("SELECT run_id FROM ingest_runs WHERE status = 'running'").fetchall()
    return [run_id for (run_id,) in running if not run_is_alive(run_id, db_path)]


def mark_interrupted(con: duckdb.DuckDBPyConnection, db_path: Path | None = None) -> list[str]:
    """Record as `interrupted` every running run whose process is gone; returns their ids."""
    dead = _dead_runs(con, db_path)
    for run_id in dead:
        con.execute(
            "UPDATE ingest_runs SET status = 'interrupted', message = ? WHERE run_id = ?", [INTERRUPTED, run_id]
        )
        _owner_file(run_id, db_path).unlink(missing_ok=True)
    return dead


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, kind: str, sources: str, unit: str = "records") -> datetime:
    """Record a run as running (its owner file held first, see `hold_run`); returns its start
    time (the warehouse's clock, UTC). `unit` is what its counts count (spans, rows, files)."""
    row = con.execute(
        "INSERT INTO ingest_runs (run_id, kind, started_at, sources, unit) VALUES (?, ?, now()::TIMESTAMP, ?, ?) "
        "RETURNING started_at",
        [run_id, kind, sources, unit],
    ).fetchone()
    assert row is not None
    return row[0]


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
    (text or bytes, exactly as read). A record the same file had refused before, at the same place
    for the same reason, is kept once, under this run, so running a file again adds nothing."""
    if not rejects.num_rows:
        return 0
    con.register("rejects_arrow", rejects)
    # Text is stored as its UTF-8 bytes (a cast would read backslashes in it as escapes).
    record = "record" if pa.types.is_binary(rejects.schema.field("record").type) else "encode(record)"
    con.execute(
        f"DELETE FROM quarantine USING (SELECT location, reason, {record} AS record FROM rejects_arrow) r "
        "WHERE quarantine.source_file = ? AND quarantine.location = r.location AND quarantine.reason = r.reason "
        "AND quarantine.record IS NOT DISTINCT FROM r.record",
        [source_file],
    )
    con.execute(
        f"INSERT INTO quarantine SELECT ?, ?, location, reason, {record}, now()::TIMESTAMP FROM rejects_arrow",
        [run_id, source_file],
    )
    con.unregister("rejects_arrow")
    return rejects.num_rows


def relabel_sources(con: duckdb.DuckDBPyConnection, run_ids: list[str], sources: str) -> None:
    """Say in words where runs read from, for files that are not kept (a temporary folder)."""
    con.execute("UPDATE ingest_runs SET sources = ? WHERE run_id IN (SELECT unnest(?))", [sources, run_ids])


def recent_runs(limit: int = 20, db_path: Path | None = None) -> pl.DataFrame:
    """The newest runs first, with their counts and how long they took; a run whose process died
    reads `interrupted` even before the next run records it."""
    with connect(db_path) as con:
        runs = con.sql(
            "SELECT run_id, kind, status, started_at, finished_at, "
            "datediff('millisecond', started_at, finished_at) / 1000.0 AS seconds, sources, unit, "
            "records_read, records_loaded, records_updated, records_unchanged, records_quarantined, message "
            "FROM ingest_runs ORDER BY started_at DESC LIMIT ?",
            params=[limit],
        ).pl()
        dead = _dead_runs(con, db_path)
    died = pl.col("run_id").is_in(dead)
    return runs.with_columns(
        status=pl.when(died).then(pl.lit("interrupted")).otherwise("status"),
        message=pl.when(died).then(pl.lit(INTERRUPTED)).otherwise("message"),
    )


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
