"""The schema: a fresh file gets every migration; an older file is upgraded in place, data kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from warehouse import db
from warehouse.migrate import available_migrations, current_version, migrate

REQUIRED_TABLES = {
    "calls", "spans", "turns", "outcomes", "prompt_versions", "model_prices", "judgements", "reviews",
    "review_sessions", "failure_modes", "ingest_runs", "quarantine", "schema_version",
}


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def hold_warehouse(path: Path, seconds: float) -> subprocess.Popen:
    """Another process that opens the file read-write and keeps it for `seconds`."""
    script = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
        " time.sleep(float(sys.argv[2]))"
    )
    return subprocess.Popen([sys.executable, "-c", script, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)


def test_a_fresh_warehouse_has_every_table_at_the_latest_version(tmp_path: Path) -> None:
    with db.connect(tmp_path / "fresh.duckdb") as con:
        assert tables(con) >= REQUIRED_TABLES
        assert current_version(con) == available_migrations()[-1][0]
        assert con.execute("SELECT count(*) FROM failure_modes").fetchone()[0] >= 7


def test_an_older_warehouse_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert migrate(con, target=1) == [1]
    con.execute(
        "INSERT INTO prompt_versions (agent, version, reason) VALUES (?, ?, ?)",
        ["salon-booker", "v1", "first cut"],
    )
    con.close()

    with db.connect(path) as con:
        assert current_version(con) == available_migrations()[-1][0]
        assert con.execute("SELECT reason FROM prompt_versions").fetchall() == [("first cut",)]
        assert con.execute("SELECT count(*) FROM model_prices").fetchone()[0] > 0


def test_outcomes_keep_their_rows_when_their_key_index_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "v6.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=6)
    con.execute("INSERT INTO outcomes (outcome_id, call_id, external_key, source, nps, record_id, stage) "
                "VALUES ('o1', 'c1', 'c1', 'crm', 9, 'd-1', 'Closed Won')")
    con.close()
    with db.connect(path) as con:
        assert con.execute("SELECT outcome_id, call_id, nps, record_id, stage FROM outcomes").fetchall() == [
            ("o1", "c1", 9, "d-1", "Closed Won")]
        assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'outcomes' "
                           "AND constraint_type = 'PRIMARY KEY'").fetchone() == (0,)


def test_migrating_twice_applies_nothing_the_second_time(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "twice.duckdb"))
    assert migrate(con) == [n for n, _ in available_migrations()]
    assert migrate(con) == []


def test_a_second_process_waits_for_the_warehouse_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    holder = hold_warehouse(path, seconds=1.5)
    assert holder.stdout.readline().strip() == "held"
    with db.connect(path, wait_s=20) as con:
        assert con.execute("SELECT 42").fetchone()[0] == 42
    assert holder.wait(timeout=10) == 0


def test_waiting_too_long_raises_a_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    holder = hold_warehouse(path, seconds=5)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(db.WarehouseBusy, match="is busy"), db.connect(path, wait_s=0.5):
            pass
    finally:
        holder.kill()


def test_a_migration_that_lands_after_a_higher_one_still_runs(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "gap.duckdb"))
    migrate(con, target=1)
    for later in (n for n, _ in available_migrations() if n > 2):  # as if they had landed first
        con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [later])
    assert migrate(con) == [2]
    assert con.execute("SELECT count(*) FROM model_prices").fetchone()[0] > 0


def test_threads_opening_a_new_warehouse_at_once_create_its_schema_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "new.duckdb"

    def open_and_count(_: int) -> int:
        with db.connect(path) as con:
            return con.execute("SELECT count(*) FROM failure_modes").fetchone()[0]

    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(open_and_count, range(8)))
    assert len(set(counts)) == 1 and counts[0] >= 7


def test_seeding_keeps_taxonomy_and_prices_that_already_exist(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "seeded.duckdb"))
    migrate(con, target=1)
    con.execute("INSERT INTO model_prices (provider, model, input_usd_per_mtok, output_usd_per_mtok, taken_on) "
                "VALUES ('openai', 'gpt-4o', 2.0, 9.0, DATE '2026-01-01')")
    con.execute("INSERT INTO failure_modes (name, description, owner) VALUES ('slow_turn', 'Our own words.', 'pm')")
    assert 2 in migrate(con)
    assert con.execute("SELECT input_usd_per_mtok, output_usd_per_mtok FROM model_prices "
                       "WHERE model = 'gpt-4o'").fetchall() == [(2.0, 9.0)]
    assert con.execute("SELECT description FROM failure_modes WHERE name = 'slow_turn'").fetchall() == [
        ("Our own words.",)]
    assert con.execute("SELECT count(*) FROM failure_modes WHERE name = 'wrong_booking'").fetchone()[0] == 1


def test_no_connection_draws_duckdbs_progress_bar(tmp_path: Path) -> None:
    """A long ingest's log would fill with bars: DuckDB draws them on stderr even when it is no terminal."""
    from ingest.otlp import open_scratch

    off = "SELECT current_setting('enable_progress_bar')"
    with db.connect(tmp_path / "w.duckdb") as con:
        assert con.execute(off).fetchone() == (False,)
    assert open_scratch().execute(off).fetchone() == (False,)
