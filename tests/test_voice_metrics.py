"""The conversation metrics: who talks over whom, dead air and the agent's talk share, per call and
over a period, against an independent walk through the turns."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests import cli, independent
from warehouse import calls, metrics, queries
from warehouse.__main__ import main
from warehouse.db import connect
from warehouse.filters import Filters
from warehouse.tables import duckdb_tables

PERIOD = Filters(date(2026, 9, 1), date(2026, 10, 30))


def per_call(path: Path, dead_air_ms: int) -> dict[str, dict]:
    with connect(path) as con:
        frame = metrics.conversation_per_call(duckdb_tables(con).turns, dead_air_ms).to_polars()
    return {row["call_id"]: row for row in frame.iter_rows(named=True)}


def turns_by_call(path: Path) -> dict[str, list[dict]]:
    with connect(path) as con:
        rows = con.sql("SELECT * FROM turns").pl().to_dicts()
    by_call: dict[str, list[dict]] = {}
    for row in rows:
        by_call.setdefault(row["call_id"], []).append(row)
    return by_call


def test_each_call_counts_interruptions_both_ways_and_its_speaking_time(synthetic_warehouse: Path) -> None:
    ours = per_call(synthetic_warehouse, 3000)
    turns = turns_by_call(synthetic_warehouse)
    assert set(ours) == set(turns)
    both_ways = {"caller": 0, "agent": 0}
    for call_id, call_turns in turns.items():
        theirs = independent.talk(call_turns)
        row = ours[call_id]
        assert (row["caller_barge_ins"] + row["agent_talk_overs"] > 0) == theirs.talked_over, call_id
        assert (row["dead_air"] > 0) == theirs.dead_air, call_id
        assert row["agent_speech_s"] == pytest.approx(theirs.agent_s)
        assert row["speech_s"] == pytest.approx(theirs.speech_s)
        both_ways["caller"] += row["caller_barge_ins"]
        both_ways["agent"] += row["agent_talk_overs"]
    assert both_ways["caller"] > 0 and both_ways["agent"] > 0, "the synthetic calls talk over both ways"


def test_a_turn_that_starts_while_the_other_speaks_is_one_interruption_by_its_speaker(
    synthetic_warehouse: Path,
) -> None:
    before = per_call(synthetic_warehouse, 3000)["call-00001"]
    assert (before["caller_barge_ins"], before["agent_talk_overs"]) == (0, 0)
    with connect(synthetic_warehouse) as con:  # the caller's first words start 0.2 s before the greeting ends
        con.execute("UPDATE turns SET started_at = (SELECT ended_at FROM turns WHERE call_id = 'call-00001' "
                    "AND turn_index = 0) - INTERVAL 200 MILLISECOND WHERE call_id = 'call-00001' AND turn_index = 1")
    after = per_call(synthetic_warehouse, 3000)["call-00001"]
    assert (after["caller_barge_ins"], after["agent_talk_overs"]) == (1, 0)


def test_the_dead_air_threshold_is_a_setting(synthetic_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = queries.period_metrics(PERIOD)["dead_air_rate"]
    monkeypatch.setenv("CALLBOARD_DEAD_AIR_SECONDS", "1.5")
    stricter = queries.period_metrics(PERIOD)["dead_air_rate"]
    scope = independent.scope(synthetic_warehouse, PERIOD)
    turns = turns_by_call(synthetic_warehouse)
    expected = sum(independent.talk(turns[c], dead_air_ms=1500).dead_air for c in scope.talk) / len(scope.talk)
    assert stricter == pytest.approx(expected, rel=1e-9)
    assert stricter > default


@pytest.mark.parametrize("value", ["soon", "0", "-3"])
def test_a_bad_dead_air_setting_is_one_line(
    synthetic_warehouse: Path, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CALLBOARD_DEAD_AIR_SECONDS", value)
    done = cli.run(main, ["metrics", "--start", "2026-09-01", "--end", "2026-09-30", "--json"], capsys)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: CALLBOARD_DEAD_AIR_SECONDS must be a number of seconds above 0, "
                                   f"not '{value}'.")


def test_the_cli_gives_the_voice_keys(synthetic_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = cli.run(main, ["metrics", "--start", str(PERIOD.start), "--end", str(PERIOD.end), "--json"], capsys)
    figures = json.loads(done.stdout)
    theirs = independent.owned_metrics(synthetic_warehouse, PERIOD)
    for key in ("latency_p90_ms", "interruption_rate", "dead_air_rate", "talk_ratio"):
        assert figures[key] == pytest.approx(theirs[key], rel=1e-9), key
    assert 0 < figures["interruption_rate"] < 1 and 0 < figures["dead_air_rate"] < 1


def test_the_call_views_header_figures_are_the_calls_own(synthetic_warehouse: Path) -> None:
    turns = sorted(turns_by_call(synthetic_warehouse)["call-00005"], key=lambda t: t["turn_index"])
    detail = calls.call_detail("call-00005")
    assert detail is not None
    figures = detail.conversation
    theirs = independent.talk(turns)
    assert figures is not None
    assert figures["caller_barge_ins"] + figures["agent_talk_overs"] == 1 == theirs.talked_over  # planted
    assert figures["talk_ratio"] == pytest.approx(theirs.agent_s / theirs.speech_s)
    with connect(synthetic_warehouse) as con:
        started = con.execute("SELECT started_at FROM calls WHERE call_id = 'call-00005'").fetchone()[0]
    first_agent = min(t["started_at"] for t in turns if t["speaker"] == "agent")
    assert figures["first_agent_word_ms"] == pytest.approx((first_agent - started).total_seconds() * 1000)
    assert calls.call_detail("no-such-call") is None
