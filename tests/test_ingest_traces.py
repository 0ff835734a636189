"""OTLP trace files → spans, calls, turns, as docs/trace-format.md says; expected figures are worked
out by hand from the fixture files (tests/fixtures/traces) and the seeded list prices."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from ingest.traces import ingest_traces
from tests.otlp import protobuf_request
from warehouse.ingest_runs import quarantined, recent_runs

FIXTURES = Path(__file__).parent / "fixtures" / "traces"
GENAI = FIXTURES / "genai_hex.jsonl"
LATE = FIXTURES / "genai_late.jsonl"
OPENINFERENCE = FIXTURES / "openinference_b64.json"
BAD = FIXTURES / "bad.jsonl"
START = datetime(2025, 10, 9, 8, 53, 20)


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_genai_call_is_built_from_its_spans(warehouse_file: Path) -> None:
    summary = ingest_traces([GENAI], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.updated, summary.quarantined) == (9, 9, 0, 0)

    (call,) = rows(warehouse_file, "SELECT call_id, trace_id, agent, prompt_version, model, started_at, ended_at, day, "
                   "duration_ms, turn_count, span_count, error_count, input_tokens, output_tokens, cost_usd, "
                   "recording_url, source FROM calls")
    stt = 2.5 / 60 * 0.0077
    llm = 812 * 0.40 / 1e6 + 41 * 1.60 / 1e6  # gpt-4.1-mini-2025-04-14 priced as gpt-4.1-mini
    tts = 120 / 1000 * 0.05
    assert call[:5] == ("call-genai-1", "5b8efff798038103d269b633813fc60c", "clinic-booking", "v7",
                        "claude-haiku-4-5")
    assert call[5:12] == (START, datetime(2025, 10, 9, 8, 53, 40), date(2025, 10, 9), 20000, 3, 9, 1)
    assert call[12:14] == (1812, 141)
    assert call[14] == pytest.approx(stt + llm + tts + 0.5)  # the claude span carries its own cost
    assert call[15:] == ("s3://rec/1.wav", "otlp")

    kinds = dict(rows(warehouse_file, "SELECT span_id, kind FROM spans"))
    assert kinds == {"a000000000000001": "call", "a000000000000002": "turn", "a000000000000003": "turn",
                     "a000000000000004": "stt", "a000000000000005": "llm", "a000000000000006": "tool",
                     "a000000000000007": "tts", "a000000000000008": "turn", "a000000000000009": "llm"}
    (tool,) = rows(warehouse_file, "SELECT is_error, error_type, tool_name, input_text, cost_usd FROM spans "
                   "WHERE kind = 'tool'")
    assert tool == (True, "timeout", "check_availability", '{"day": "Tuesday"}', None)
    (llm_span,) = rows(warehouse_file, "SELECT provider, model, operation, finish_reasons, turn_index, "
                       "parent_span_id, attributes->>'$.\"gen_ai.request.model\"' FROM spans "
                       "WHERE span_id = 'a000000000000005'")
    assert llm_span == ("openai", "gpt-4.1-mini-2025-04-14", "chat", "stop", 2, "a000000000000001", "gpt-4.1-mini")
    (kept,) = rows(warehouse_file, "SELECT attributes->>'$.\"customer.tier\"', "
                   "attributes->'$.resource'->>'$.\"service.name\"' FROM spans WHERE kind = 'call'")
    assert kept == ("gold", "clinic-voice")

    turns = rows(warehouse_file, "SELECT turn_index, speaker, text, day, response_latency_ms FROM turns ORDER BY 1")
    assert [t[:2] for t in turns] == [(0, "agent"), (1, "customer"), (2, "agent")]
    assert turns[1][2] == "I need a check-up on Tuesday, call me on +1 415 555 0134."
    assert [t[3] for t in turns] == [date(2025, 10, 9)] * 3
    assert [t[4] for t in turns] == [None, None, 6000 - 5000]


def test_reingesting_changes_nothing(warehouse_file: Path) -> None:
    ingest_traces([GENAI, OPENINFERENCE], db_path=warehouse_file)
    before = rows(warehouse_file, "SELECT * EXCLUDE (updated_at) FROM calls ORDER BY call_id")
    again = ingest_traces([GENAI, OPENINFERENCE], db_path=warehouse_file)
    assert (again.read, again.loaded, again.updated, again.unchanged, again.quarantined) == (12, 0, 0, 12, 0)
    assert rows(warehouse_file, "SELECT * EXCLUDE (updated_at) FROM calls ORDER BY call_id") == before
    assert rows(warehouse_file, "SELECT count(*), count(DISTINCT (trace_id, span_id)) FROM spans") == [(12, 12)]
    assert rows(warehouse_file, "SELECT count(*) FROM turns") == [(3 + 4,)]


def test_late_spans_rebuild_the_call_and_move_its_day(warehouse_file: Path) -> None:
    ingest_traces([GENAI], db_path=warehouse_file)
    late = ingest_traces([LATE], db_path=warehouse_file)
    assert (late.loaded, late.updated, late.calls_rebuilt) == (3, 0, 1)
    (call,) = rows(warehouse_file, "SELECT started_at, day, duration_ms, span_count, turn_count FROM calls")
    assert call == (datetime(2025, 10, 8, 23, 53, 20), date(2025, 10, 8), 9 * 3600 * 1000 + 20000, 12, 5)
    assert rows(warehouse_file, "SELECT DISTINCT day FROM spans") == [(date(2025, 10, 8),)]
    assert rows(warehouse_file, "SELECT DISTINCT day FROM turns") == [(date(2025, 10, 8),)]
    latencies = rows(warehouse_file, "SELECT turn_index, response_latency_ms FROM turns ORDER BY 1")
    assert latencies == [(0, None), (1, None), (2, 1000), (3, None), (4, 12800 - 12000)]


def test_openinference_document_with_base64_ids(warehouse_file: Path) -> None:
    summary = ingest_traces([OPENINFERENCE], db_path=warehouse_file)
    assert summary.loaded == 3
    (call,) = rows(warehouse_file, "SELECT call_id, trace_id, agent, model, day, turn_count, cost_usd FROM calls")
    assert call[:6] == ("salon-call-9", "0af7651916cd43dd8448eb211c80319c", "salon-bot", "gpt-4o-mini",
                        date(2025, 10, 10), 4)
    assert call[6] == pytest.approx(500 * 0.15 / 1e6 + 70 * 0.60 / 1e6)
    ids = rows(warehouse_file, "SELECT span_id, parent_span_id, kind, tool_name FROM spans ORDER BY span_id")
    assert ids == [("b7ad6b7169203331", None, "llm", None), ("b7ad6b7169203332", None, "llm", None),
                   ("b7ad6b7169203333", "b7ad6b7169203331", "tool", "find_slot")]
    turns = rows(warehouse_file, "SELECT turn_index, speaker, text, response_latency_ms FROM turns ORDER BY 1")
    assert turns == [(0, "customer", "Can I get a haircut at 5?", None),
                     (1, "agent", "Yes, 5pm is free. Your name?", 1200),
                     (2, "customer", "Sam, email sam@example.com", None), (3, "agent", "Booked, Sam.", 800)]
    (params,) = rows(warehouse_file, "SELECT attributes->>'$.\"llm.invocation_parameters\"' FROM spans "
                     "WHERE span_id = 'b7ad6b7169203331'")
    assert params == ('{"temperature": 0.2}',)


def test_bad_records_are_quarantined_and_good_ones_load(warehouse_file: Path) -> None:
    summary = ingest_traces([BAD], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (10, 2, 8)
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    reasons = dict(zip(refused["location"], refused["reason"], strict=True))
    assert reasons == {
        "line 2": "not valid JSON",
        "line 3": 'not an OTLP trace export (no "resourceSpans" list)',
        "line 4, span 1": "missing or malformed traceId",
        "line 5, span 1": "missing or malformed spanId",
        "line 6, span 1": "absurd timestamp (not between 2000 and 2100)",
        "line 7": "not valid UTF-8",
        "line 8, span 1": 'attribute "blob" is over 64 KiB',
        "line 9, span 2": "missing or unreadable startTimeUnixNano/endTimeUnixNano",
    }
    assert set(refused["source_file"]) == {str(BAD.resolve())}
    (raw,) = rows(warehouse_file, "SELECT record FROM quarantine WHERE location = 'line 7'")
    assert raw[0] == BAD.read_bytes().split(b"\n")[6]  # kept byte for byte
    loaded = rows(warehouse_file, "SELECT span_id FROM spans ORDER BY 1")
    assert loaded == [("c000000000000001",), ("c000000000000008",)]
    (run,) = recent_runs(5, db_path=warehouse_file).rows(named=True)
    assert (run["kind"], run["status"], run["records_read"], run["records_loaded"], run["records_quarantined"]) == (
        "traces", "ok", 10, 2, 8)


def test_redaction_masks_pii_before_writing(warehouse_file: Path) -> None:
    ingest_traces([GENAI, OPENINFERENCE], db_path=warehouse_file, redact=True)
    texts = [t for (t,) in rows(warehouse_file, "SELECT text FROM turns")]
    assert "I need a check-up on Tuesday, call me on [phone]." in texts
    assert "Sam, email [email]" in texts
    dump = " ".join(str(r) for r in rows(warehouse_file, "SELECT * FROM spans"))
    assert "415 555 0134" not in dump and "sam@example.com" not in dump
    assert rows(warehouse_file, "SELECT count(*) FROM spans WHERE json_valid(attributes::VARCHAR)") == [(12,)]


def test_protobuf_file_loads_like_its_json(tmp_path: Path, warehouse_file: Path) -> None:
    request = protobuf_request(GENAI.read_text().splitlines()[0])
    framed = tmp_path / "traces.pb"
    body = request.SerializeToString()
    framed.write_bytes(len(body).to_bytes(4, "big") + body)
    summary = ingest_traces([framed], db_path=warehouse_file)
    assert summary.loaded == 4
    assert rows(warehouse_file, "SELECT call_id, span_count FROM calls") == [("call-genai-1", 4)]


def test_redacting_a_file_with_bad_records_masks_them_too(tmp_path: Path, warehouse_file: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = BAD.read_bytes().split(b"\n")
    bad.write_bytes(b"\n".join([*lines, b'{"no": "export", "mail": "sam@example.com"}', b'caf\xe9 sam@example.com']))
    summary = ingest_traces([bad], db_path=warehouse_file, redact=True)
    assert (summary.loaded, summary.quarantined) == (2, 10)
    records = [r for (r,) in rows(warehouse_file, "SELECT decode(record) FROM quarantine WHERE location IN "
                                  "('line 11', 'line 12') ORDER BY location")]
    assert records == ['{"no": "export", "mail": "[email]"}', "caf\ufffd [email]"]
