"""Helpers for the tests that feed exports in as files: write one, read the warehouse back, list
what a run refused, and check that a run's counts add up."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.summary import IngestSummary
from warehouse.ingest_runs import quarantined


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def reasons(db: Path, run_id: str) -> list[tuple[str, str]]:
    """(location, reason) of every record the run refused, in the order they are listed."""
    refused = quarantined(run_id, db_path=db)
    return list(zip(refused["location"], refused["reason"], strict=True))


def balanced(summary: IngestSummary) -> bool:
    return summary.read == summary.loaded + summary.updated + summary.unchanged + summary.quarantined
