"""Vapi call objects (tests/fixtures/platforms/vapi_calls.json, written from the fields of Vapi's
server SDK types) load into calls, turns, stage spans, cost spans, a recording and how the call
ended. Every expected figure is worked out here from the fixture's raw JSON, not from the mapper."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import duckdb
import orjson
import pytest

from ingest.cli import main
from ingest.platforms import ingest_platform
from tests.cli import run
from warehouse import metrics
from warehouse.calls import call_detail
from warehouse.db import connect
from warehouse.filters import Filters
from warehouse.recordings import Playable, resolve_recording
from warehouse.tables import duckdb_tables

FIXTURE = Path(__file__).parent / "fixtures" / "platforms" / "vapi_calls.json"
RAW = json.loads(FIXTURE.read_text())
GOOD = [c for c in RAW if c["id"] != "vapi-call-0005"]
# Known from the fixture: how each call ended (warehouse/end_reasons.py's words), and its recording.
ENDED_HOW = {"vapi-call-0001": "completed", "vapi-call-0002": "caller_hung_up", "vapi-call-0003": "error",
             "vapi-call-0004": "transferred"}
RECORDING = {"vapi-call-0001": "https://storage.vapi.ai/vapi-call-0001-mono.wav", "vapi-call-0002": None,
             "vapi-call-0003": "https://storage.vapi.ai/vapi-call-0003-mono.wav",
             "vapi-call-0004": "https://storage.vapi.ai/vapi-call-0004-mono.wav"}
AGENT = {"vapi-call-0001": "clinic-scheduler", "vapi-call-0002": "asst_clinic_01", "vapi-call-0003": "salon-booker",
         "vapi-call-0004": "asst_clinic_01"}


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None)


def _from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _spoken(call: dict) -> list[dict]:
    return [m for m in call["artifact"]["messages"] if m["role"] in ("user", "bot")]


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def loaded(warehouse_file: Path) -> Path:
    summary = ingest_platform("vapi", [FIXTURE], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.updated, summary.unchanged, summary.quarantined) == (5, 4, 0, 0, 1)
    return warehouse_file


def test_every_call_matches_the_export(loaded: Path) -> None:
    stored = {r[0]: r[1:] for r in _rows(loaded, "SELECT c.call_id, agent, c.started_at, c.ended_at, turn_count, "
                                          "c.cost_usd, c.input_tokens, c.output_tokens, recording_url, end_reason, "
                                          "error_count, source, attributes ->> '$.\"vapi.endedReason\"' "
                                          "FROM calls c JOIN spans s ON s.call_id = c.call_id AND s.kind = 'call'")}
    assert set(stored) == {c["id"] for c in GOOD}
    for call in GOOD:
        agent, started, ended, turns, cost, tokens_in, tokens_out, recording, how, errors, source, raw = \
            stored[call["id"]]
        breakdown = call["costBreakdown"]
        assert (agent, started, ended) == (AGENT[call["id"]], _when(call["startedAt"]), _when(call["endedAt"]))
        assert turns == len(_spoken(call))
        assert cost == pytest.approx(breakdown["total"], abs=1e-12)
        assert (tokens_in, tokens_out) == (breakdown.get("llmPromptTokens"), breakdown.get("llmCompletionTokens"))
        assert (recording, how, raw) == (RECORDING[call["id"]], ENDED_HOW[call["id"]], call["endedReason"])
        assert errors == (1 if how == "error" else 0)
        assert source == "vapi"


def test_turns_keep_their_times_and_reply_latency(loaded: Path) -> None:
    for call in GOOD:
        stored = _rows(loaded, "SELECT turn_index, speaker, text, started_at, ended_at, response_latency_ms FROM turns "
                               "WHERE call_id = ? ORDER BY turn_index", [call["id"]])
        expected, before = [], None
        for index, message in enumerate(_spoken(call)):
            speaker = "customer" if message["role"] == "user" else "agent"
            wait = (message["time"] - before["endTime"]
                    if speaker == "agent" and before is not None and before["role"] == "user" else None)
            expected.append((index, speaker, message["message"], _from_ms(message["time"]),
                             _from_ms(message["endTime"]), wait))
            before = message
        assert stored == expected


def _replies(call: dict) -> list[tuple[int, dict, dict]]:
    """(turn index, the caller's turn before, the reply) of each agent turn right after the caller's."""
    spoken = _spoken(call)
    return [(i, spoken[i - 1], m) for i, m in enumerate(spoken) if i and m["role"] == "bot"
            and spoken[i - 1]["role"] == "user"]


def test_each_reply_has_its_stage_spans_and_the_wait_splits_into_them(loaded: Path) -> None:
    expected_stages = []
    for call in GOOD:
        latencies = call["artifact"].get("performanceMetrics", {}).get("turnLatencies", [])
        stored = _rows(loaded, "SELECT turn_index, kind, duration_ms, epoch_ms(started_at) FROM spans "
                               "WHERE call_id = ? AND kind IN ('eot', 'stt', 'llm', 'tts') ORDER BY turn_index, "
                               "started_at", [call["id"]])
        expected = []
        for (index, said, reply), latency in zip(_replies(call), latencies, strict=False):
            clock = said["endTime"]
            for field, kind in (("endpointingLatency", "eot"), ("transcriberLatency", "stt"),
                                ("modelLatency", "llm"), ("voiceLatency", "tts")):
                expected.append((index, kind, float(latency[field]), clock))
                clock += latency[field]
            wait = reply["time"] - said["endTime"]
            if wait >= 0:
                rest = wait - latency["endpointingLatency"] - latency["transcriberLatency"] - latency["modelLatency"]
                expected_stages.append((call["id"], index, latency["endpointingLatency"],
                                        latency["transcriberLatency"], latency["modelLatency"], rest))
        assert stored == expected
    with connect(loaded) as con:
        stages = metrics.wait_stages(duckdb_tables(con), Filters(date(2026, 11, 1), date(2026, 11, 30)))
        split = stages.order_by(["call_id", "turn_index"]).to_polars()
    assert [tuple(r) for r in split.select("call_id", "turn_index", "end_of_turn", "speech_to_text", "model",
                                           "speech_synthesis").iter_rows()] == sorted(expected_stages)


def test_cost_is_kept_by_component(loaded: Path) -> None:
    for call in GOOD:
        stored = dict(_rows(loaded, "SELECT attributes ->> '$.\"callboard.cost.component\"', cost_usd FROM spans "
                                    "WHERE call_id = ? AND name LIKE 'cost %'", [call["id"]]))
        breakdown = call["costBreakdown"]
        expected = {k: v for k, v in breakdown.items() if k in ("stt", "llm", "tts", "vapi", "transport")}
        rest = breakdown["total"] - sum(expected.values())
        if rest > 1e-9:
            expected["unitemized"] = rest
        assert stored == pytest.approx(expected, abs=1e-12)


def test_calls_open_in_the_call_view_with_transcript_and_recording(loaded: Path) -> None:
    call = GOOD[0]
    detail = call_detail(call["id"], loaded)
    assert detail is not None
    assert detail.turns["text"].to_list() == [m["message"] for m in _spoken(call)]
    assert resolve_recording(detail.recording, []) == Playable(url=RECORDING[call["id"]], mime="audio/wav")
    assert {"eot", "stt", "llm", "tts", "tool", "turn"} <= set(detail.spans["kind"])
    tool = detail.spans.filter(detail.spans["kind"] == "tool").row(0, named=True)
    assert tool["tool_name"] == "find_slots"
    figures = detail.conversation
    spoken = _spoken(call)
    gaps = [(b["time"] - a["endTime"], b["role"]) for a, b in pairwise(spoken)]
    assert figures is not None
    assert figures["agent_talk_overs"] == sum(gap < 0 and role == "bot" for gap, role in gaps)
    assert figures["caller_barge_ins"] == sum(gap < 0 and role == "user" for gap, role in gaps)
    assert figures["dead_air"] == sum(gap >= 3000 for gap, _ in gaps)
    agent_s = sum(m["endTime"] - m["time"] for m in spoken if m["role"] == "bot")
    assert figures["talk_ratio"] == pytest.approx(agent_s / sum(m["endTime"] - m["time"] for m in spoken))


def test_fields_we_do_not_map_are_kept_on_the_call_span(loaded: Path) -> None:
    (attributes,) = _rows(loaded, "SELECT attributes FROM spans WHERE call_id = 'vapi-call-0001' AND kind = 'call'")[0]
    kept = json.loads(attributes)
    assert kept["vapi.ourTeamTag"] == "pilot-b"  # in no Vapi schema
    assert kept["vapi.phoneCallProvider"] == "twilio"
    assert kept["vapi.customer.number"] == kept["callboard.caller.number"] == "+14155550123"  # the Calls page's
    assert kept["vapi.analysis.successEvaluation"] == "true"
    assert json.loads(kept["vapi.costs"])[-1]["analysisType"] == "successEvaluation"


def test_credentials_in_a_call_object_are_not_stored(loaded: Path) -> None:
    server = RAW[0]["assistant"]["server"]
    stored = " ".join(a for (a,) in _rows(loaded, "SELECT attributes::VARCHAR FROM spans WHERE call_id = ?",
                                            [RAW[0]["id"]]))
    assert server["url"] in stored  # the inline assistant is kept…
    assert server["secret"] not in stored and server["headers"]["Authorization"] not in stored  # …not its secrets


def test_the_bad_record_is_quarantined_with_its_reason(loaded: Path) -> None:
    ((location, reason, record),) = _rows(loaded, "SELECT location, reason, record FROM quarantine")
    assert location == "record 3"
    assert reason == "startedAt 'yesterday afternoon' is not a date and time"
    assert json.loads(record)["id"] == "vapi-call-0005"


def test_loading_again_changes_nothing_and_a_changed_export_replaces_its_call(loaded: Path, tmp_path: Path) -> None:
    again = ingest_platform("vapi", [FIXTURE], db_path=loaded)
    assert (again.read, again.loaded, again.updated, again.unchanged, again.quarantined) == (5, 0, 0, 4, 1)
    changed = [dict(c, endedReason="silence-timed-out") if c["id"] == "vapi-call-0002" else c for c in RAW]
    path = tmp_path / "later.json"
    path.write_bytes(orjson.dumps(changed))
    later = ingest_platform("vapi", [path], db_path=loaded)
    assert (later.read, later.loaded, later.updated, later.unchanged, later.quarantined) == (5, 0, 1, 3, 1)
    assert _rows(loaded, "SELECT end_reason, turn_count, attributes ->> '$.\"vapi.endedReason\"' FROM calls "
                         "JOIN spans USING (call_id) WHERE call_id = 'vapi-call-0002' AND kind = 'call'") == [
        (None, 4, "silence-timed-out")]  # a reason none of our words fits is unknown; Vapi's own stays
    assert _rows(loaded, "SELECT count(*) FROM spans WHERE call_id = 'vapi-call-0002' AND kind = 'call'") == [(1,)]


def test_a_call_with_a_field_the_parser_refuses_is_quarantined_whole(warehouse_file: Path, tmp_path: Path) -> None:
    """An attribute over the parser's 64 KiB refuses its span, so the call goes whole, with the reason."""
    path = tmp_path / "long.json"
    path.write_bytes(orjson.dumps([dict(GOOD[1], notes="x" * 70_000), GOOD[0]]))
    summary = ingest_platform("vapi", [path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (2, 1, 1)
    ((location, reason),) = _rows(warehouse_file, "SELECT location, reason FROM quarantine")
    assert location == "record 1" and "vapi-call-0002" in reason and "over 64 KiB" in reason
    assert _rows(warehouse_file, "SELECT DISTINCT call_id FROM spans") == [(GOOD[0]["id"],)]


def test_redact_masks_the_callers_number_and_the_words(warehouse_file: Path) -> None:
    summary = ingest_platform("vapi", [FIXTURE], db_path=warehouse_file, redact=True)
    assert summary.loaded == 4
    stored = _rows(warehouse_file, "SELECT string_agg(attributes::VARCHAR, ' ') FROM spans")[0][0]
    assert "+14155550123" not in stored and "Riverside Dental" in stored


def test_webhook_reports_in_gzipped_json_lines(warehouse_file: Path, tmp_path: Path) -> None:
    """The end-of-call-report webhook nests the call; a line that is not JSON is refused alone."""
    path = tmp_path / "reports.jsonl.gz"
    lines = [orjson.dumps({"message": {"type": "end-of-call-report", "call": {"id": c["id"]},
                                       **{k: v for k, v in c.items() if k != "id"}}}) for c in GOOD]
    path.write_bytes(gzip.compress(b"\n".join([*lines, b"{not json"]) + b"\n"))
    summary = ingest_platform("vapi", [path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (5, 4, 1)
    assert _rows(warehouse_file, "SELECT reason FROM quarantine") == [("not valid JSON",)]


def test_the_cli_loads_and_a_missing_file_is_one_line(warehouse_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ran = run(main, ["--db", str(warehouse_file), "platform", "vapi", str(FIXTURE)], capsys)
    assert ran.returncode == 0 and "quarantined  1" in ran.stdout
    ran = run(main, ["--db", str(warehouse_file), "platform", "vapi", "no/such/file.json"], capsys)
    assert ran.returncode == 2 and ran.stderr.strip().count("\n") == 0 and "no/such/file.json" in ran.stderr
