"""The demo's planted voice patterns show where people look: estate-qualifier talks over callers
more after its end-of-turn setting changed, and the slow speech-to-text week stands out in the
stage split of the caller's wait. The conversation metrics also match a computation straight from
the demo's generated trace files."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest

from data.scenario import timeline
from tests import cli, independent
from warehouse import metrics, queries
from warehouse.__main__ import main
from warehouse.filters import Filters

PLAN = timeline()
WHOLE_DEMO = Filters(PLAN.first_day, PLAN.end_day)


def test_the_slow_speech_to_text_week_is_the_stage_that_slowed(demo_warehouse: Path) -> None:
    stages = queries.wait_stages_by_week(WHOLE_DEMO)
    weekly = stages.group_by("week").agg(pl.col(s).median() for s in metrics.WAIT_STAGES).sort("week")
    slow_week = PLAN.stt_slow_first_day  # a Monday: the planted week is one whole week
    assert slow_week.weekday() == 0
    slow, others = weekly.filter(pl.col("week") == slow_week), weekly.filter(pl.col("week") != slow_week)
    assert slow["speech_to_text"][0] > 2 * others["speech_to_text"].max()
    assert others["end_of_turn"].min() > 0, "end-of-turn spans are read as their own stage"
    for stage in ("end_of_turn", "speech_synthesis"):  # the other stages did not move that week
        assert slow[stage][0] < 1.3 * others[stage].median(), stage


def test_estate_qualifier_talks_over_callers_more_after_its_end_of_turn_change(demo_warehouse: Path) -> None:
    change = PLAN.estate_end_of_turn_change.date()
    agent = ("estate-qualifier",)
    before = queries.period_metrics(Filters(change - timedelta(days=28), change - timedelta(days=1), agents=agent))
    after = queries.period_metrics(Filters(change, PLAN.end_day, agents=agent))
    others_after = queries.period_metrics(Filters(change, PLAN.end_day, agents=("clinic-scheduler", "salon-booker")))
    assert after["interruption_rate"] > 2 * before["interruption_rate"]
    assert after["interruption_rate"] > 2 * others_after["interruption_rate"]


def trace_calls(files: Path) -> dict[str, tuple[date, list[dict]]]:
    """Each call's day and turns, read straight from the generated OTLP/JSON trace files."""
    calls: dict[str, tuple[date, list[dict]]] = {}
    for path in sorted((files / "traces").glob("traces-*.jsonl")):
        for line in path.read_bytes().splitlines():
            for resource in orjson.loads(line)["resourceSpans"]:
                spans = resource["scopeSpans"][0]["spans"]
                root = next(s for s in spans if s["name"] == "call")
                attributes = {a["key"]: a["value"] for a in root["attributes"]}
                started = datetime.fromtimestamp(int(root["startTimeUnixNano"]) / 1e9, UTC)
                turns = []
                for s in spans:
                    if s["name"] != "turn":
                        continue
                    a = {a["key"]: a["value"] for a in s["attributes"]}
                    turns.append({"turn_index": int(a["callboard.turn.index"]["intValue"]),
                                  "speaker": a["callboard.turn.speaker"]["stringValue"],
                                  "started_at": _time(s["startTimeUnixNano"]), "ended_at": _time(s["endTimeUnixNano"])})
                calls[attributes["session.id"]["stringValue"]] = (started.date(), turns)
    return calls


def _time(nanos: str) -> datetime:
    return datetime.fromtimestamp(int(nanos) // 1_000_000 / 1000, UTC)


def test_the_cli_matches_the_generated_trace_files(
    demo_build: tuple[Path, Path], demo_warehouse: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    start, end = date(2026, 10, 26), PLAN.end_day
    done = cli.run(main, ["metrics", "--start", str(start), "--end", str(end), "--json"], capsys)
    figures = json.loads(done.stdout)
    talks = [independent.talk(turns) for day, turns in trace_calls(demo_build[1]).values() if start <= day <= end]
    assert figures["interruption_rate"] == pytest.approx(sum(t.talked_over for t in talks) / len(talks), rel=1e-9)
    assert figures["dead_air_rate"] == pytest.approx(sum(t.dead_air for t in talks) / len(talks), rel=1e-9)
    assert figures["talk_ratio"] == pytest.approx(
        sum(t.agent_s for t in talks) / sum(t.speech_s for t in talks), rel=1e-9)
    assert 0.02 < figures["interruption_rate"] < 0.5
