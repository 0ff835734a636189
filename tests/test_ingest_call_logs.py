"""Call logs through their TOML mappings: a per-turn CSV and a per-call JSONL (and the same as
Parquet), bad rows quarantined with their reasons, re-loading harmless, traced calls untouched.
Expected figures are worked out by hand from tests/fixtures/call_logs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.call_logs import ingest_call_log, split_transcript
from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from ingest.traces import ingest_traces
from warehouse.ingest_runs import quarantined

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = FIXTURES / "call_logs"


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def reasons(db: Path, run_id: str) -> dict[str, str]:
    refused = quarantined(run_id, db_path=db)
    return dict(zip(refused["location"], refused["reason"], strict=True))


def test_per_turn_csv_builds_calls_and_transcripts(warehouse_file: Path) -> None:
    summary = ingest_call_log(LOGS / "turns.csv", LOGS / "turns.toml", db_path=warehouse_file)
    # in rows: vf-1's three good rows and vf-2's three are loaded, three rows refused
    assert (summary.read, summary.loaded, summary.updated, summary.unchanged, summary.quarantined) == (9, 6, 0, 0, 3)
    calls = rows(warehouse_file, "SELECT call_id, trace_id, agent, started_at, ended_at, day, duration_ms, turn_count, "
                 "span_count, error_count, cost_usd, recording_url, source FROM calls ORDER BY call_id")
    assert calls == [
        ("vf-1", None, "salon-bot", datetime(2025, 10, 11, 9), datetime(2025, 10, 11, 9, 1), date(2025, 10, 11),
         60_000, 3, 0, None, 0.042, "s3://rec/vf-1.mp3", "call_log"),
        # Unix seconds; no end logged, so the call ends with its last turn
        ("vf-2", None, "salon-bot", datetime(2025, 10, 11, 9), datetime(2025, 10, 11, 9, 0, 7), date(2025, 10, 11),
         7_000, 3, 0, None, None, None, "call_log"),
    ]
    turns = rows(warehouse_file, "SELECT call_id, turn_index, speaker, text, response_latency_ms FROM turns "
                 "ORDER BY call_id, turn_index")
    assert turns == [
        ("vf-1", 0, "agent", "Hi, Bella Salon, how can I help?", None),
        ("vf-1", 1, "customer", "Can I book a cut for Friday? My number is [phone].", None),  # redact = true
        ("vf-1", 2, "agent", "Friday 3pm is free, shall I book it?", 9_250 - 8_000),
        ("vf-2", 0, "agent", "Hello, Bella Salon.", None),
        ("vf-2", 1, "customer", "What time do you close?", None),
        ("vf-2", 2, "agent", "We close at 7pm.", 600),
    ]
    assert reasons(warehouse_file, summary.run_id) == {
        "row 4": "speaker narrator in column 'Role' is not in [speakers] (customer: customer, user, caller, human, "
                 "client; agent: agent, assistant, bot, ai; skip: system, developer, tool, function)",
        "row 8": "no call_id in column 'Call'",
        "row 9": "started_at: yesterday in column 'Started' is not a date and time",
    }
    (record,) = rows(warehouse_file, "SELECT decode(record) FROM quarantine WHERE location = 'row 8'")
    assert '"Message":"Orphan turn"' in record[0]


@pytest.mark.parametrize("as_parquet", [False, True])
def test_per_call_export_splits_transcripts(tmp_path: Path, warehouse_file: Path, as_parquet: bool) -> None:
    source = LOGS / "calls.jsonl"
    if as_parquet:
        source = tmp_path / "calls.parquet"
        pl.read_ndjson(LOGS / "calls.jsonl").write_parquet(source)
    summary = ingest_call_log(source, LOGS / "calls.toml", db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (5, 2, 3)
    calls = rows(warehouse_file, "SELECT call_id, prompt_version, model, started_at, duration_ms, turn_count, "
                 "error_count, input_tokens, output_tokens, cost_usd FROM calls ORDER BY call_id")
    assert calls == [
        ("rt-1", "v8", "gpt-4.1-mini", datetime(2025, 10, 12, 6), 95_500, 3, 0, 2400, 180, 0.011),  # +02:00 → UTC
        ("rt-2", "v8", "gpt-4.1-mini", datetime(2025, 10, 12, 9, 30), 40_000, 3, 1, 900, 60, 0.004),
    ]
    turns = rows(warehouse_file, "SELECT call_id, turn_index, speaker, text, response_latency_ms FROM turns "
                 "ORDER BY call_id, turn_index")
    assert [t[:3] for t in turns] == [("rt-1", 0, "agent"), ("rt-1", 1, "customer"), ("rt-1", 2, "agent"),
                                      ("rt-2", 0, "agent"), ("rt-2", 1, "customer"), ("rt-2", 2, "agent")]
    assert turns[4][3] == "Is Dr Patel in today?"  # "Caller:" is a customer, as [speakers] says
    assert {t[4] for t in turns} == {None}  # no turn times in the log: no latency is made up
    assert reasons(warehouse_file, summary.run_id) == {
        "row 3": "duration_s: long in column 'duration' is not a number",
        "row 4": "transcript in column 'transcript': line 2 is not \"speaker: text\"",
        "row 5": "call rt-1 appears on an earlier row too",
    }


def test_loading_again_changes_nothing_and_a_changed_call_is_replaced(tmp_path: Path, warehouse_file: Path) -> None:
    ingest_call_log(LOGS / "turns.csv", LOGS / "turns.toml", db_path=warehouse_file)
    before = rows(warehouse_file, "SELECT * FROM calls ORDER BY call_id")
    again = ingest_call_log(LOGS / "turns.csv", LOGS / "turns.toml", db_path=warehouse_file)
    assert (again.read, again.loaded, again.updated, again.unchanged, again.quarantined) == (9, 0, 0, 6, 3)
    assert rows(warehouse_file, "SELECT * FROM calls ORDER BY call_id") == before  # updated_at too
    assert rows(warehouse_file, "SELECT count(*) FROM turns") == [(6,)]
    edited = tmp_path / "turns.csv"
    edited.write_text((LOGS / "turns.csv").read_text().replace("We close at 7pm.", "We close at 8pm."))
    changed = ingest_call_log(edited, LOGS / "turns.toml", db_path=warehouse_file)
    assert (changed.loaded, changed.updated, changed.unchanged) == (0, 3, 3)  # vf-2's three rows
    assert rows(warehouse_file, "SELECT text FROM turns WHERE call_id = 'vf-2' AND turn_index = 2") == [
        ("We close at 8pm.",)]
    assert rows(warehouse_file, "SELECT count(*) FROM turns") == [(6,)]


def test_a_call_from_traces_is_not_replaced_and_outcomes_link(tmp_path: Path, warehouse_file: Path) -> None:
    ingest_traces([FIXTURES / "traces" / "genai_hex.jsonl"], db_path=warehouse_file)
    crm = tmp_path / "crm.csv"
    crm.write_text("Call ID,Outcome\nvf-1,Booked\n")
    mapping = tmp_path / "crm.toml"
    mapping.write_text('[source]\nname = "crm"\njoin_on = "call_id"\n[columns]\ncall_id = "Call ID"\n'
                       'booked = "Outcome"\n[values]\nbooked = { true = ["Booked"], false = ["Lost"] }\n')
    assert ingest_outcomes(crm, mapping, db_path=warehouse_file).unmatched == 1
    log = tmp_path / "log.csv"
    log.write_text("Call,Role,Message,Started\ncall-genai-1,user,hello,2025-10-09T08:53:20Z\n"
                   "vf-1,user,hi,2025-10-11T09:00:00Z\n")
    mapping = tmp_path / "log.toml"
    mapping.write_text('[source]\nname = "x"\nlayout = "turns"\n[columns]\ncall_id = "Call"\nspeaker = "Role"\n'
                       'text = "Message"\nstarted_at = "Started"\n')
    summary = ingest_call_log(log, mapping, db_path=warehouse_file)
    assert (summary.loaded, summary.quarantined) == (1, 1)
    assert reasons(warehouse_file, summary.run_id) == {
        "row 1": "call call-genai-1 is already loaded from traces; a call log does not replace it"}
    assert rows(warehouse_file, "SELECT call_id, source, span_count FROM calls ORDER BY call_id") == [
        ("call-genai-1", "otlp", 9), ("vf-1", "call_log", 0)]
    assert rows(warehouse_file, "SELECT call_id, booked FROM outcomes") == [("vf-1", True)]


def test_transcript_formats() -> None:
    words = {"agent": "agent", "user": "customer", "customer": "customer"}
    assert split_transcript('[{"speaker": "agent", "text": "Hi"}, {"role": "user", "content": " Yo "}]', words) == [
        ("agent", "Hi"), ("customer", "Yo")]
    assert split_transcript("Agent: Hi: there\n\nCustomer:  Yo", words) == [("agent", "Hi: there"),
                                                                            ("customer", "Yo")]
    with pytest.raises(ValueError, match=r"turn 1: speaker 'dog' is not in \[speakers\]"):
        split_transcript('[{"speaker": "dog", "text": "woof"}]', words)
    with pytest.raises(ValueError, match="turn 2 has no text"):
        split_transcript('[{"speaker": "agent", "text": "Hi"}, {"speaker": "agent"}]', words)


@pytest.mark.parametrize(("change", "message"), [
    (('layout = "turns"', 'layout = "rows"'), 'layout must be "calls"'),
    (('text = "Message"', 'transcript = "Message"'), 'transcript does not apply to layout = "turns"'),
    (('speaker = "Role"\n', ""), "must say which column holds speaker"),
    (('call_id = "Call"', 'call_id = "Call"\ncallid = "x"'), "unknown field 'callid'"),
    (('customer = ["user"]', 'customer = "user"'), "[speakers] must be customer = [...]"),
    (('text = "Message"', 'text = "Words"'), "has no column 'Words'"),
])
def test_bad_mappings_are_user_mistakes(tmp_path: Path, warehouse_file: Path, change: tuple[str, str],
                                        message: str) -> None:
    mapping = tmp_path / "bad.toml"
    text = (LOGS / "turns.toml").read_text()
    assert change[0] in text
    mapping.write_text(text.replace(*change))
    with pytest.raises(IngestError, match=message.replace("[", r"\[").replace("(", r"\(")):
        ingest_call_log(LOGS / "turns.csv", mapping, db_path=warehouse_file)
