"""Wrap an ingest run in its `ingest_runs` row: opened before the first chunk, closed after the
last, marked failed (with the reason) when the run stops on an error."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.summary import RunSummary
from warehouse.db import transaction
from warehouse.ingest_runs import finish_run, start_run


@contextmanager
def recorded_run(kind: str, sources: Sequence[Path | str], db_path: Path | None) -> Iterator[RunSummary]:
    """Yield the run's summary; the caller adds counts to it as each chunk commits."""
    began = time.perf_counter()
    with transaction(db_path) as con:
        run_id, started_at = start_run(con, kind, ", ".join(str(s) for s in sources))
    summary = RunSummary(run_id=run_id, kind=kind, started_at=started_at)
    try:
        yield summary
    except BaseException as error:
        with transaction(db_path) as con:
            finish_run(con, run_id, "failed", str(error) or type(error).__name__)
        raise
    summary.seconds = time.perf_counter() - began
    with transaction(db_path) as con:
        finish_run(con, run_id, "ok")
