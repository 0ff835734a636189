"""How a call ended: the five words (warehouse/end_reasons.py) read from a span attribute and from a
call log's column, kept when later spans rebuild the call, unknown words left unknown (the raw value
kept), and the demo's mix matching the stories it generated."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.call_logs import ingest_call_log
from ingest.traces import ingest_traces
from warehouse import queries
from warehouse.end_reasons import END_REASONS, end_reason, end_reason_sql
from warehouse.filters import Filters
from warehouse.ingest_runs import quarantined

START_NS = 1_760_000_000_000_000_000


def _span(trace: str, span: str, name: str, start_s: int, end_s: int, attributes: dict[str, str]) -> dict:
    return {"traceId": trace, "spanId": span, "name": name, "startTimeUnixNano": str(START_NS + start_s * 10**9),
            "endTimeUnixNano": str(START_NS + end_s * 10**9), "status": {"code": 1},
            "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()]}


def _export(path: Path, spans: list[dict]) -> Path:
    path.write_text(json.dumps({"resourceSpans": [{"resource": {"attributes": []},
                                                   "scopeSpans": [{"spans": spans}]}]}) + "\n")
    return path


def _call(trace: str, call_id: str, said: str | None) -> dict:
    attributes = {"session.id": call_id, "callboard.agent": "a"}
    if said is not None:
        attributes["callboard.call.end_reason"] = said
    return _span(trace, trace[:16], "call", 0, 30, attributes)


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("said", ["completed", "Caller hung up", "caller-hung-up", " TRANSFERRED ", "Voicemail",
                                  "error", "hung up", "", "caller__hung__up", "customer-ended-call"])
def test_the_sql_reading_and_the_python_reading_agree(said: str) -> None:
    ((in_sql,),) = duckdb.sql(f"SELECT {end_reason_sql('v')} FROM (SELECT ?::VARCHAR AS v)", params=[said]).fetchall()
    assert in_sql == end_reason(said)
    assert in_sql is None or in_sql in END_REASONS


def test_a_span_attribute_sets_the_calls_end_reason_and_late_spans_keep_it(tmp_path: Path,
                                                                          warehouse_file: Path) -> None:
    first = _export(tmp_path / "a.jsonl", [
        _call("a" * 32, "call-hung", "Caller hung up"), _call("b" * 32, "call-odd", "went to lunch"),
        _call("c" * 32, "call-silent", None)])
    ingest_traces([first], db_path=warehouse_file)
    late = _export(tmp_path / "b.jsonl", [_span("a" * 32, "e" * 16, "turn", 1, 3, {"callboard.turn.index": "0"})])
    ingest_traces([late], db_path=warehouse_file)  # the call is rebuilt from every span it has
    assert rows(warehouse_file, "SELECT call_id, end_reason, span_count FROM calls ORDER BY call_id") == [
        ("call-hung", "caller_hung_up", 2), ("call-odd", None, 1), ("call-silent", None, 1)]
    kept = rows(warehouse_file, """SELECT attributes ->> '$."callboard.call.end_reason"' FROM spans
                                   WHERE call_id = 'call-odd'""")
    assert kept == [("went to lunch",)]  # not a word we know: unknown on the call, kept as sent


def test_a_call_logs_end_reason_column_loads_and_a_wrong_word_is_refused(tmp_path: Path,
                                                                         warehouse_file: Path) -> None:
    log = tmp_path / "calls.csv"
    log.write_text("id,how,transcript\n"
                   "c1,Transferred,Caller: hi\n"
                   "c2,voicemail,Agent: hello\n"
                   "c3,,Agent: hello\n"
                   "c4,dropped,Agent: hello\n")
    mapping = tmp_path / "calls.toml"
    mapping.write_text('[source]\nname = "log"\nlayout = "calls"\n\n'
                       '[columns]\ncall_id = "id"\nend_reason = "how"\ntranscript = "transcript"\n')
    summary = ingest_call_log(log, mapping, db_path=warehouse_file)
    assert rows(warehouse_file, "SELECT call_id, end_reason FROM calls ORDER BY call_id") == [
        ("c1", "transferred"), ("c2", "voicemail"), ("c3", None)]
    refused = quarantined(summary.run_id, db_path=warehouse_file)
    assert refused["reason"].to_list() == [
        "end_reason dropped in column 'how' is not one of completed, caller_hung_up, transferred, voicemail, error"]
    again = ingest_call_log(log, mapping, db_path=warehouse_file)
    assert (again.loaded, again.updated, again.unchanged) == (0, 0, 3)


def test_the_demo_ends_calls_as_its_stories_do(demo_warehouse: Path) -> None:
    """Transfers are the calls the CRM marks escalated; hang-ups and errors are the failure stories'
    (an escalation loop the caller left, a failed tool the caller gave up on)."""
    counts = dict(rows(demo_warehouse, "SELECT end_reason, count(*) FROM calls GROUP BY ALL"))
    assert set(counts) == {"completed", "caller_hung_up", "transferred", "error"}  # inbound: no voicemail
    total = sum(counts.values())
    assert counts["completed"] / total > 0.85
    crm = rows(demo_warehouse, """SELECT c.end_reason = 'transferred', bool_or(o.escalated) FROM calls c
                                  JOIN outcomes o USING (call_id) WHERE o.escalated IS NOT NULL GROUP BY c.call_id,
                                  c.end_reason""")
    assert crm and all(transferred == escalated for transferred, escalated in crm)


def test_the_hang_up_share_is_the_share_of_calls_with_a_known_ending(demo_warehouse: Path) -> None:
    figures = queries.period_metrics(Filters(date(2026, 8, 25), date(2026, 11, 22)))
    ended = rows(demo_warehouse, "SELECT end_reason FROM calls")
    assert figures["hang_up_rate"] == pytest.approx(sum(r == ("caller_hung_up",) for r in ended) / len(ended))
    assert 0 < figures["hang_up_rate"] < 0.05
