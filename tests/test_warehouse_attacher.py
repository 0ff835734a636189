"""`warehouse.db.Attacher`: the receiver's loader attaches the warehouse file for each merge to
an in-memory DuckDB it keeps, and holds the file no longer than a connection would: another
process opens it once the unit ends, a unit waits while another process holds it, and a unit
that fails leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from warehouse.db import Attacher, WarehouseBusy, connect


def rows(path: Path, sql: str) -> list[tuple]:
    with connect(path) as con:
        return con.execute(sql).fetchall()


def hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the file read-write for `seconds`, once it says so."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(float(sys.argv[2]))", str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def opens_elsewhere(path: Path) -> bool:
    """Whether another process can open the file read-write now."""
    return subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(path)],
                          capture_output=True).returncode == 0


def test_a_unit_writes_the_file_and_lets_it_go(warehouse_file: Path) -> None:
    warehouse = Attacher(warehouse_file)
    try:
        with warehouse.transaction() as con:
            con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS one")  # the unit's own, gone with it
            con.execute("INSERT INTO ingest_runs (run_id, kind, started_at, sources, unit) "
                        "VALUES ('r1', 'receiver', now()::TIMESTAMP, 'spool', 'spans')")
            assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]
            assert not opens_elsewhere(warehouse_file)  # held while the unit runs
        assert opens_elsewhere(warehouse_file)
        assert rows(warehouse_file, "SELECT run_id FROM ingest_runs") == [("r1",)]
        with warehouse.transaction() as con:
            assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'").fetchall() == [
                (0,)]
    finally:
        warehouse.close()


def test_a_unit_that_fails_leaves_nothing(warehouse_file: Path) -> None:
    warehouse = Attacher(warehouse_file)
    try:
        with pytest.raises(ZeroDivisionError), warehouse.transaction() as con:
            con.execute("INSERT INTO ingest_runs (run_id, kind, started_at, sources, unit) "
                        "VALUES ('r1', 'receiver', now()::TIMESTAMP, 'spool', 'spans')")
            raise ZeroDivisionError
        assert rows(warehouse_file, "SELECT count(*) FROM ingest_runs") == [(0,)]
        assert opens_elsewhere(warehouse_file)
    finally:
        warehouse.close()


def test_a_unit_waits_while_another_process_holds_the_file(warehouse_file: Path) -> None:
    with connect(warehouse_file):
        pass
    patient, hurried = Attacher(warehouse_file), Attacher(warehouse_file, wait_s=0.2)
    try:
        holder = hold(warehouse_file, 1.0)
        began = time.monotonic()
        with patient.transaction() as con:
            assert time.monotonic() - began > 0.3 and holder.wait() == 0
            assert con.execute("SELECT count(*) FROM ingest_runs").fetchall() == [(0,)]
        holder = hold(warehouse_file, 1.0)
        with pytest.raises(WarehouseBusy), hurried.transaction():
            pass
        holder.wait()
    finally:
        patient.close()
        hurried.close()
