"""Running a file again is harmless for what it refuses too: each refused record is kept once,
under the newest run that refused it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.outcomes import ingest_outcomes
from ingest.traces import ingest_traces
from warehouse.ingest_runs import quarantined

FIXTURES = Path(__file__).parent / "fixtures"


def quarantine_rows(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT run_id, location, reason, record FROM quarantine ORDER BY location").fetchall()


def test_a_trace_file_run_twice_keeps_its_refused_records_once(warehouse_file: Path) -> None:
    first = ingest_traces([FIXTURES / "traces" / "bad.jsonl"], db_path=warehouse_file)
    kept = quarantine_rows(warehouse_file)
    assert len(kept) == first.quarantined == 8
    again = ingest_traces([FIXTURES / "traces" / "bad.jsonl"], db_path=warehouse_file)
    assert again.quarantined == 8  # refused again, and said so
    assert quarantine_rows(warehouse_file) == [(again.run_id, *row[1:]) for row in kept]
    assert len(quarantined(again.run_id, db_path=warehouse_file)) == 8
    assert quarantined(first.run_id, db_path=warehouse_file).is_empty()


def test_an_outcome_export_run_twice_keeps_its_refused_rows_once(warehouse_file: Path) -> None:
    outcomes = FIXTURES / "outcomes"
    for _ in range(3):
        summary = ingest_outcomes(outcomes / "crm.csv", outcomes / "crm.toml", db_path=warehouse_file)
    assert [row[1] for row in quarantine_rows(warehouse_file)] == ["row 3", "row 4"]
    assert {row[0] for row in quarantine_rows(warehouse_file)} == {summary.run_id}
