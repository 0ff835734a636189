"""Every kind of ingest run reports counts in one unit that add up, the first time and when the
same input is loaded again: read = loaded + updated + unchanged + quarantined, in the summary
and in the run's row of the ingest log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.call_logs import ingest_call_log
from ingest.complaints import ingest_complaints
from ingest.outcomes import ingest_outcomes
from ingest.prompts import ingest_prompts
from ingest.summary import IngestSummary
from ingest.traces import ingest_traces
from tests.export_files import balanced, write
from warehouse.ingest_runs import recent_runs

FIXTURES = Path(__file__).parent / "fixtures"


def complaints(db: Path, folder: Path) -> IngestSummary:
    text = ("call_id,complaint,reported_label\nc1,It made up a price,hallucinated_fact\n"
            "c1,It made up a price,hallucinated_fact\n,x,y\n")
    return ingest_complaints(write(folder, "complaints.csv", text), db_path=db)


RUNS: dict[str, tuple[str, Callable[[Path, Path], IngestSummary]]] = {
    "traces": ("spans", lambda db, _: ingest_traces([FIXTURES / "traces"], db_path=db)),
    "outcomes": ("rows", lambda db, _: ingest_outcomes(FIXTURES / "outcomes" / "hubspot_deals.csv",
                                                       FIXTURES / "outcomes" / "hubspot_deals.toml", db_path=db)),
    "calls": ("rows", lambda db, _: ingest_call_log(FIXTURES / "call_logs" / "turns.csv",
                                                    FIXTURES / "call_logs" / "turns.toml", db_path=db)),
    "prompts": ("files", lambda db, _: ingest_prompts(FIXTURES / "prompts", db_path=db)),
    "complaints": ("rows", complaints),
}


@pytest.mark.parametrize("kind", RUNS)
def test_a_run_balances_the_first_time_and_the_second(kind: str, tmp_path: Path, warehouse_file: Path) -> None:
    unit, run = RUNS[kind]
    first, second = run(warehouse_file, tmp_path), run(warehouse_file, tmp_path)
    assert first.unit == unit and balanced(first) and balanced(second), (first, second)
    assert (second.loaded, second.updated, second.unchanged) == (0, 0, first.read - first.quarantined)
    for row in recent_runs(db_path=warehouse_file).iter_rows(named=True):
        assert row["unit"] == unit
        assert row["records_read"] == (row["records_loaded"] + row["records_updated"] + row["records_unchanged"]
                                       + row["records_quarantined"])
