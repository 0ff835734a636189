"""Each call's conversation columns (migration 0011: interruptions each way, the longest silence,
speaking time, the longest reply wait), stored by every ingest path in the same transaction as the
call's turns, recomputed when late spans change them and backfilled into older warehouses, all
against an independent walk through the call's turns (tests/independent.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from ingest.call_logs import ingest_call_log
from ingest.platforms import ingest_platform
from ingest.traces import ingest_traces
from tests import independent
from warehouse import db, metrics

FIXTURES = Path(__file__).parent / "fixtures"
TRACES = FIXTURES / "traces"
LOGS = FIXTURES / "call_logs"
PLATFORMS = FIXTURES / "platforms"


def stored(path: Path) -> dict[str, dict]:
    """Each call's conversation columns as stored."""
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.sql(f"SELECT call_id, {', '.join(metrics.CONVERSATION_COLUMNS)} FROM calls").pl()
    return {row.pop("call_id"): row for row in frame.to_dicts()}


def assert_stored_from_turns(path: Path) -> dict[str, dict]:
    """Every call's stored columns are what its turns give, walked one by one; NULL without turns."""
    columns = stored(path)
    with duckdb.connect(str(path), read_only=True) as con:
        turns = con.sql("SELECT * FROM turns").pl().to_dicts()
    by_call: dict[str, list[dict]] = {}
    for turn in turns:
        by_call.setdefault(turn["call_id"], []).append(turn)
    assert columns, "the warehouse has calls"
    for call_id, row in columns.items():
        if call_id not in by_call:
            assert set(row.values()) == {None}, call_id
            continue
        talk = independent.talk(by_call[call_id])
        assert (row["caller_barge_ins"], row["agent_talk_overs"]) == (talk.barge_ins, talk.talk_overs), call_id
        assert row["longest_silence_ms"] == pytest.approx(talk.longest_silence_ms, abs=1), call_id  # read to the ms
        assert row["agent_speech_s"] == pytest.approx(talk.agent_s, abs=0.002 * len(by_call[call_id]))
        assert row["speech_s"] == pytest.approx(talk.speech_s, abs=0.002 * len(by_call[call_id]))
        assert row["longest_wait_ms"] == talk.longest_wait_ms, call_id
    return columns


INGESTS: dict[str, Callable[[Path], object]] = {
    "OTLP traces": lambda path: ingest_traces([TRACES / "genai_hex.jsonl", TRACES / "openinference_b64.json"],
                                              db_path=path),
    "call log, per turn": lambda path: ingest_call_log(LOGS / "turns.csv", LOGS / "turns.toml", db_path=path),
    "call log, per call": lambda path: ingest_call_log(LOGS / "calls.jsonl", LOGS / "calls.toml", db_path=path),
    "Vapi": lambda path: ingest_platform("vapi", [PLATFORMS / "vapi_calls.json"], db_path=path),
    "Retell": lambda path: ingest_platform("retell", [PLATFORMS / "retell_calls.jsonl"], db_path=path),
}


@pytest.mark.parametrize("source", INGESTS)
def test_every_ingest_path_stores_each_calls_conversation(source: str, warehouse_file: Path) -> None:
    INGESTS[source](warehouse_file)
    columns = assert_stored_from_turns(warehouse_file)
    assert any(row["speech_s"] is not None for row in columns.values()), "some call has a transcript"


def test_the_demo_built_by_real_ingest_stores_them(demo_build: tuple[Path, Path]) -> None:
    columns = assert_stored_from_turns(demo_build[0])
    assert sum(row["caller_barge_ins"] or 0 for row in columns.values()) > 0
    assert sum(row["agent_talk_overs"] or 0 for row in columns.values()) > 0
    assert any((row["longest_silence_ms"] or 0) >= metrics.DEAD_AIR_SECONDS * 1000 for row in columns.values())


def test_late_spans_recompute_the_calls_conversation(warehouse_file: Path) -> None:
    ingest_traces([TRACES / "genai_hex.jsonl"], db_path=warehouse_file)
    before = stored(warehouse_file)["call-genai-1"]
    ingest_traces([TRACES / "genai_late.jsonl"], db_path=warehouse_file)  # two more turns
    after = assert_stored_from_turns(warehouse_file)["call-genai-1"]
    assert after["speech_s"] > before["speech_s"]
    assert after != before


def test_an_older_warehouse_is_backfilled_as_ingest_would_store_it(demo_build: tuple[Path, Path],
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "older.duckdb"
    shutil.copyfile(demo_build[0], path)
    with duckdb.connect(str(path)) as con:  # as it was before migration 0011
        for column in metrics.CONVERSATION_COLUMNS:
            con.execute(f"ALTER TABLE calls DROP COLUMN {column}")
        con.execute("DELETE FROM schema_version WHERE version = 11")
    with db.connect(path):
        pass
    ingested, backfilled = stored(demo_build[0]), stored(path)
    assert backfilled.keys() == ingested.keys()
    for call_id, row in ingested.items():
        theirs = backfilled[call_id]
        for column, value in row.items():
            assert theirs[column] == (value if value is None else pytest.approx(value, rel=1e-12)), (call_id, column)
