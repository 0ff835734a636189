"""Wrap an ingest run in its `ingest_runs` row: opened before the first chunk, closed after the
last, marked failed (with the reason) when the run stops on an error. While open, the run holds its
owner file locked, so a run whose process dies is seen as interrupted; each new run records the
interrupted ones."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.summary import IngestSummary
from warehouse.db import transaction
from warehouse.ingest_runs import finish_run, hold_run, mark_interrupted, new_run_id, release_run, start_run

_owners: dict[str, int] = {}  # run id → the descriptor holding its owner file


def begin_run(kind: str, sources: Sequence[Path | str], db_path: Path | None, unit: str = "records") -> IngestSummary:
    """Record a run as running (and earlier runs whose process died as interrupted); the caller
    adds counts (in `unit`) to the summary as each chunk commits."""
    run_id = new_run_id()
    owner = hold_run(run_id, db_path)  # before the row exists, so no one sees it running unowned
    try:
        with transaction(db_path) as con:
            mark_interrupted(con, db_path)
            started_at = start_run(con, run_id, kind, ", ".join(str(s) for s in sources), unit)
    except BaseException:
        release_run(run_id, owner, db_path)
        raise
    _owners[run_id] = owner
    return IngestSummary(run_id=run_id, kind=kind, unit=unit, started_at=started_at)


def end_run(summary: IngestSummary, db_path: Path | None, error: BaseException | None = None) -> None:
    """Close the run: ok, or failed with the reason."""
    with transaction(db_path) as con:
        if error is None:
            finish_run(con, summary.run_id, "ok")
        else:
            finish_run(con, summary.run_id, "failed", str(error) or type(error).__name__)
    release_run(summary.run_id, _owners.pop(summary.run_id), db_path)


@contextmanager
def recorded_run(kind: str, sources: Sequence[Path | str], db_path: Path | None,
                 unit: str = "records") -> Iterator[IngestSummary]:
    """Yield the run's summary, closing the run when the block ends (failed if it raised)."""
    began = time.perf_counter()
    summary = begin_run(kind, sources, db_path, unit)
    try:
        yield summary
    except BaseException as error:
        end_run(summary, db_path, error)
        raise
    summary.seconds = time.perf_counter() - began
    end_run(summary, db_path)
