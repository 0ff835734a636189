"""Chunking and batching do not change what lands: a file cut into many small chunks, merged in
many small transactions (calls straddling them), gives exactly the warehouse one big chunk gives."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from ingest import lines, traces
from ingest.traces import ingest_traces
from tests.fixtures.otlp_calls import write_calls

TABLES = {
    "calls": "SELECT * EXCLUDE (updated_at, cost_usd), round(cost_usd, 12) FROM calls ORDER BY call_id",  # sum order
    "spans": "SELECT * FROM spans ORDER BY trace_id, span_id",
    "turns": "SELECT * FROM turns ORDER BY call_id, turn_index",
}


def dump(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def test_small_chunks_and_merges_give_the_same_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "calls.jsonl"
    spans = write_calls(source, 40)
    whole = ingest_traces([source], db_path=tmp_path / "whole.duckdb")
    assert (whole.read, whole.loaded) == (spans, spans)

    monkeypatch.setattr(lines, "CHUNK_BYTES", 3000)  # a few lines per chunk
    monkeypatch.setattr(traces, "MERGE_SPANS", 25)  # a few chunks per transaction
    cut = ingest_traces([source], db_path=tmp_path / "cut.duckdb")
    assert (cut.read, cut.loaded, cut.quarantined) == (spans, spans, 0)
    assert cut.calls_rebuilt == 0  # calls that straddle merges are rebuilt, but none existed before the run

    expected, got = dump(tmp_path / "whole.duckdb"), dump(tmp_path / "cut.duckdb")
    assert got == expected
    assert len(got["calls"]) == 40 and len(got["turns"]) == 40 * 6
    # every call is whole: 1 call span + 6 turns + 3 LLM spans, with its 6 turns and their latencies
    assert {row[10] for row in got["calls"]} == {10} and {row[9] for row in got["calls"]} == {6}


def test_a_span_sent_twice_in_one_chunk_counts_once(tmp_path: Path, warehouse_file: Path) -> None:
    source = tmp_path / "calls.jsonl"
    write_calls(source, 1)
    first = source.read_text().splitlines()[0]
    source.write_text(first + "\n" + first + "\n")
    summary = ingest_traces([source], db_path=warehouse_file)
    assert (summary.read, summary.loaded) == (14, 7)
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchall() == [(7, 7)]


def test_attribute_values_of_every_type_are_kept_as_json(tmp_path: Path, warehouse_file: Path) -> None:
    values = [
        {"key": "s", "value": {"stringValue": "a \"quoted\" word"}},
        {"key": "i", "value": {"intValue": "9007199254740993"}},
        {"key": "d", "value": {"doubleValue": 0.25}},
        {"key": "b", "value": {"boolValue": False}},
        {"key": "empty", "value": {}},
        {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": 2}]}}},
        {"key": "map", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}},
        {"key": "bytes", "value": {"bytesValue": "AAE="}},
    ]
    span = {"traceId": "1" * 32, "spanId": "2" * 16, "name": "other", "startTimeUnixNano": "1760000000000000000",
            "endTimeUnixNano": "1760000001000000000", "attributes": values}
    source = tmp_path / "types.jsonl"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}) + "\n")
    assert ingest_traces([source], db_path=warehouse_file).loaded == 1
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        (attributes,) = con.execute("SELECT attributes::VARCHAR FROM spans").fetchone()
    assert json.loads(attributes) == {"s": 'a "quoted" word', "i": 9007199254740993, "d": 0.25, "b": False,
                                      "empty": None, "list": ["x", 2], "map": {"k": True}, "bytes": "AAE="}


def test_reading_ahead_keeps_order_and_passes_on_errors() -> None:
    def items(fail_at: int | None):
        for number in range(50):
            if number == fail_at:
                raise OSError("disk gone")
            yield (str(number), number)

    assert [n for _, n in traces._read_ahead(items(None))] == list(range(50))
    with pytest.raises(OSError, match="disk gone"):
        list(traces._read_ahead(items(7)))
    first = traces._read_ahead(items(None))
    assert next(first) == ("0", 0)
    first.close()  # a consumer that stops early does not leave the reader blocked
