"""An ingest run whose process is killed cannot close its own row: it reads `interrupted` (not
`running` forever) as soon as the process is gone, and the next run records it so. A run still
alive in another process is left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest.run_log import begin_run, end_run
from ingest.traces import ingest_traces
from tests.fixtures.otlp_calls import write_calls
from warehouse.db import connect
from warehouse.ingest_runs import INTERRUPTED, recent_runs

ROOT = Path(__file__).resolve().parent.parent
# A real ingest run in its own process: it opens its run, commits one chunk's counts, prints the
# run id and waits, mid-run, until it is killed.
RUN_UNTIL_KILLED = """
import sys
from pathlib import Path
from ingest.run_log import recorded_run
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts

db = Path(sys.argv[1])
with recorded_run("traces", ["big.jsonl"], db) as summary:
    with transaction(db) as con:
        add_counts(con, summary.run_id, read=500, loaded=480, updated=0, quarantined=20)
    print(summary.run_id, flush=True)
    sys.stdin.readline()
"""


def stored(db: Path, run_id: str) -> tuple:
    with connect(db) as con:
        return con.execute(
            "SELECT status, message, records_loaded FROM ingest_runs WHERE run_id = ?", [run_id]
        ).fetchone()


def listed(db: Path, run_id: str) -> tuple:
    run = recent_runs(50, db_path=db).filter(run_id=run_id).row(0, named=True)
    return run["status"], run["message"], run["records_loaded"]


def small_ingest(db: Path, tmp_path: Path, name: str) -> str:
    traces = tmp_path / f"{name}.jsonl"
    write_calls(traces, 2)
    return ingest_traces([traces], db_path=db).run_id


def test_a_killed_run_reads_interrupted_and_the_next_run_records_it(warehouse_file: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_UNTIL_KILLED, str(warehouse_file)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        run_id = process.stdout.readline().strip()
        assert len(run_id) == 32, "the run started"
        assert listed(warehouse_file, run_id) == ("running", None, 480)
        first = small_ingest(warehouse_file, tmp_path, "first")
        assert stored(warehouse_file, run_id) == ("running", None, 480), "a live run in another process is alive"
        assert stored(warehouse_file, first)[0] == "ok"
    finally:
        process.kill()
        process.wait(timeout=30)

    assert stored(warehouse_file, run_id) == ("running", None, 480), "the dead process could not say so"
    assert listed(warehouse_file, run_id) == ("interrupted", INTERRUPTED, 480)
    second = small_ingest(warehouse_file, tmp_path, "second")
    assert stored(warehouse_file, run_id) == ("interrupted", INTERRUPTED, 480), "the next run recorded it"
    assert stored(warehouse_file, second)[0] == "ok"
    assert list(warehouse_file.with_suffix(".runs").iterdir()) == [], "no owner file is left behind"


def test_a_run_open_in_this_process_stays_running_until_it_ends(warehouse_file: Path) -> None:
    summary = begin_run("outcomes", ["crm.csv"], warehouse_file)
    other = begin_run("traces", ["a.jsonl"], warehouse_file)
    assert listed(warehouse_file, summary.run_id)[0] == "running"
    end_run(other, warehouse_file)
    assert stored(warehouse_file, summary.run_id)[0] == "running"
    end_run(summary, warehouse_file, RuntimeError("disk full"))
    assert listed(warehouse_file, summary.run_id)[:2] == ("failed", "disk full")
