"""Retell call objects (tests/fixtures/platforms/retell_calls.jsonl, written from the fields of
Retell's Python SDK types) load into calls, turns timed by their words, tool spans, cost spans
(Retell's cents as dollars), a recording and how the call ended. Every expected figure is worked
out here from the fixture's raw JSON, not from the mapper."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from ingest.platforms import ingest_platform
from warehouse.calls import call_detail
from warehouse.recordings import Playable, resolve_recording

FIXTURE = Path(__file__).parent / "fixtures" / "platforms" / "retell_calls.jsonl"
RAW = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
BAD_ID = "Bd0000TXYYJHfvl6Syypi88rdAHY000"
GOOD = [c for c in RAW if c["call_id"] != BAD_ID]
# Known from the fixture: how each call ended (warehouse/end_reasons.py's words).
ENDED_HOW = {"Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6": "completed", "Kq2m0TXYYJHfvl6Syypi88rdAHY77aZ": "caller_hung_up",
             "Vm8x1TXYYJHfvl6Syypi88rdAHY0v0M": "voicemail", "Tr4n5TXYYJHfvl6Syypi88rdAHYq1Q2": "transferred"}


def _from_ms(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _spoken(call: dict) -> list[tuple[str, float, float, str]]:
    """(speaker, start ms, end ms, text) of each utterance by the caller or the agent."""
    return [("customer" if u["role"] == "user" else "agent", call["start_timestamp"] + u["words"][0]["start"] * 1000,
             call["start_timestamp"] + u["words"][-1]["end"] * 1000, u["content"])
            for u in call["transcript_object"] if u["role"] in ("user", "agent")]


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


@pytest.fixture
def loaded(warehouse_file: Path) -> Path:
    summary = ingest_platform("retell", [FIXTURE], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.updated, summary.unchanged, summary.quarantined) == (5, 4, 0, 0, 1)
    return warehouse_file


def test_every_call_matches_the_export(loaded: Path) -> None:
    stored = {r[0]: r[1:] for r in _rows(loaded, "SELECT c.call_id, agent, prompt_version, c.started_at, c.ended_at, "
                                          "turn_count, c.cost_usd, recording_url, end_reason, source, "
                                          "attributes ->> '$.\"retell.disconnection_reason\"' FROM calls c "
                                          "JOIN spans s ON s.call_id = c.call_id AND s.kind = 'call'")}
    assert set(stored) == {c["call_id"] for c in GOOD}
    for call in GOOD:
        agent, version, started, ended, turns, cost, recording, how, source, raw = stored[call["call_id"]]
        start = call["start_timestamp"]
        end = call.get("end_timestamp") or start + call["duration_ms"]
        assert (agent, version) == (call.get("agent_name") or call["agent_id"], str(call["agent_version"]))
        assert (started, ended) == (_from_ms(start), _from_ms(end))
        assert turns == len(_spoken(call))
        assert cost == pytest.approx(call["call_cost"]["combined_cost"] / 100, abs=1e-12)
        assert recording == call.get("recording_url")
        assert (how, raw, source) == (ENDED_HOW[call["call_id"]], call["disconnection_reason"], "retell")


def test_turns_are_timed_by_their_words(loaded: Path) -> None:
    for call in GOOD:
        stored = _rows(loaded, "SELECT speaker, text, epoch_ms(started_at), epoch_ms(ended_at), response_latency_ms "
                               "FROM turns WHERE call_id = ? ORDER BY turn_index", [call["call_id"]])
        spoken = _spoken(call)
        waits = [None] + [round(b[1] - a[2]) if (a[0], b[0]) == ("customer", "agent") else None
                          for a, b in pairwise(spoken)]
        assert stored == [(s, t, round(a), round(b), w) for (s, a, b, t), w in zip(spoken, waits, strict=True)]


def test_cost_is_kept_by_product_in_dollars(loaded: Path) -> None:
    for call in GOOD:
        stored = dict(_rows(loaded, "SELECT name, cost_usd FROM spans WHERE call_id = ? AND name LIKE 'cost %'",
                            [call["call_id"]]))
        expected: dict[str, float] = {}
        for item in call["call_cost"]["product_costs"]:
            name = "cost " + item["product"] + (" (transfer leg)" if item.get("is_transfer_leg_cost") else "")
            expected[name] = expected.get(name, 0) + item["cost"] / 100
        assert stored == pytest.approx(expected, abs=1e-12)


def test_a_call_opens_in_the_call_view_with_its_tool_call_and_recording(loaded: Path) -> None:
    call = GOOD[0]
    detail = call_detail(call["call_id"], loaded)
    assert detail is not None
    assert detail.turns["text"].to_list() == [u[3] for u in _spoken(call)]
    assert resolve_recording(detail.recording, []) == Playable(url=call["recording_url"], mime="audio/wav")
    tool = detail.spans.filter(detail.spans["kind"] == "tool").row(0, named=True)
    invocation = next(e for e in call["transcript_with_tool_calls"] if e["role"] == "tool_call_invocation")
    assert tool["tool_name"] == invocation["name"]
    utterances_before = call["transcript_with_tool_calls"].index(invocation)
    assert tool["turn_index"] == utterances_before  # the turn it happened before
    spoken = _spoken(call)
    figures = detail.conversation
    assert figures is not None
    overlaps = [(b[1] < a[2], b[0]) for a, b in pairwise(spoken)]
    assert figures["caller_barge_ins"] == sum(over and who == "customer" for over, who in overlaps)
    assert figures["caller_barge_ins"] == 1  # the fixture's "Yes please." starts before the agent has finished
    assert figures["dead_air"] == sum(b[1] - a[2] >= 3000 for a, b in pairwise(spoken))


def test_latency_distributions_and_unknown_fields_are_kept_on_the_call_span(loaded: Path) -> None:
    call = GOOD[0]
    (attributes,) = _rows(loaded, "SELECT attributes FROM spans WHERE call_id = ? AND kind = 'call'",
                          [call["call_id"]])[0]
    kept = json.loads(attributes)
    assert kept["retell.latency.e2e.p50"] == call["latency"]["e2e"]["p50"]
    assert json.loads(kept["retell.latency.llm.values"]) == call["latency"]["llm"]["values"]
    assert kept["retell.call_analysis.call_successful"] is True
    assert kept["retell.metadata.crm_lead"] == "L-7731"
    assert kept["retell.opt_out_sensitive_data_storage"] is False  # in no Retell type we read
    assert _rows(loaded, "SELECT count(*) FROM spans WHERE call_id = ? AND kind IN ('eot', 'stt', 'llm', 'tts')",
                 [call["call_id"]]) == [(0,)]  # per-call figures give no per-reply stages


def test_the_callers_number_is_the_customers_side(loaded: Path) -> None:
    """The number the Calls page finds a call by: who was called on an outbound call."""
    stored = dict(_rows(loaded, "SELECT call_id, attributes ->> '$.\"callboard.caller.number\"' FROM spans "
                                "WHERE kind = 'call'"))
    assert stored == {c["call_id"]: c.get("to_number" if c.get("direction") == "outbound" else "from_number")
                      for c in GOOD}
    assert any(stored.values())


def test_the_transfer_target_is_kept_but_is_not_a_turn(loaded: Path) -> None:
    call = next(c for c in GOOD if c["disconnection_reason"] == "call_transfer")
    target = next(u for u in call["transcript_object"] if u["role"] == "transfer_target")
    assert _rows(loaded, "SELECT output_text FROM spans WHERE call_id = ? AND name = 'transfer_target'",
                 [call["call_id"]]) == [(target["content"],)]


def test_a_web_calls_access_token_is_not_stored(loaded: Path, tmp_path: Path) -> None:
    """Not on the call span, and not in a refused record either."""
    call = next(c for c in GOOD if "access_token" in c)
    refused = tmp_path / "refused.json"
    refused.write_text(json.dumps({**call, "start_timestamp": "soon"}))
    ingest_platform("retell", [refused], db_path=loaded)
    stored = _rows(loaded, "SELECT string_agg(attributes::VARCHAR, ' ') FROM spans")[0][0] + " ".join(
        bytes(r).decode() for (r,) in _rows(loaded, "SELECT record FROM quarantine"))
    assert call["call_id"] in stored and call["access_token"] not in stored


def test_the_bad_record_is_quarantined_with_its_reason(loaded: Path) -> None:
    ((location, reason, record),) = _rows(loaded, "SELECT location, reason, record FROM quarantine")
    assert location == "line 4"
    assert reason == "transcript_object[0].words[0].start 'half a second' is not a number"
    assert json.loads(record)["call_id"] == BAD_ID


def test_a_call_already_loaded_from_vapi_is_not_replaced(loaded: Path, tmp_path: Path) -> None:
    """Two platforms naming one call id: the first one's call stays, the second's record is refused."""
    vapi = tmp_path / "vapi.json"
    vapi.write_text(json.dumps({"id": GOOD[1]["call_id"], "startedAt": "2026-11-04T16:02:00Z",
                                "endedReason": "customer-ended-call"}))
    summary = ingest_platform("vapi", [vapi], db_path=loaded)
    assert (summary.read, summary.loaded, summary.quarantined) == (1, 0, 1)
    assert _rows(loaded, "SELECT source FROM calls WHERE call_id = ?", [GOOD[1]["call_id"]]) == [("retell",)]
