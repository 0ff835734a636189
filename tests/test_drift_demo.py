"""Drift on the demo warehouse: the trends match a computation over raw rows, changes are marked
on the days they went live, and the flags find the planted drifts at their dates and nothing else."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data.scenario import timeline
from present.drift import drifted, sentences, stage_sentence, strip_label, trend_by_group
from present.formats import format_value
from warehouse.db import transaction
from warehouse.drift.detection import SeriesVerdict, load_thresholds
from warehouse.drift.queries import (
    DriftTrends,
    change_markers,
    drift_flags,
    drift_history,
    drift_trends,
    history_filters,
    trends_from,
    wait_stages_by_week,
)
from warehouse.filters import Filters
from warehouse.queries import conversation_by_week

THRESHOLDS = load_thresholds()
PLAN = timeline()
SWITCH = PLAN.salon_model_switch.date()
AGENTS = {"clinic-scheduler", "estate-qualifier", "salon-booker"}


def raw(db: Path, sql: str, parameters: list) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, parameters).fetchall()
    finally:
        con.close()


def by_key(rows: list[tuple]) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for key, value in rows:
        grouped.setdefault(key, []).append(value)
    return grouped


def test_daily_trends_match_a_computation_over_raw_rows(demo_warehouse: Path) -> None:
    day = date(2026, 11, 4)
    trends = drift_trends(Filters(day, day), "day", "agent", THRESHOLDS)
    llm = by_key(raw(demo_warehouse, "SELECT c.agent, s.duration_ms FROM spans s JOIN calls c USING (call_id) "
                                      "WHERE s.kind = 'llm' AND c.day = ?", [day]))
    replies = by_key(raw(demo_warehouse, "SELECT c.agent, t.response_latency_ms FROM turns t JOIN calls c "
                                          "USING (call_id) WHERE t.speaker = 'agent' AND t.response_latency_ms "
                                          "IS NOT NULL AND c.day = ?", [day]))
    calls = raw(demo_warehouse, "SELECT agent, cost_usd, input_tokens, output_tokens FROM calls WHERE day = ?", [day])
    for agent in AGENTS:
        latency = {(r["measure"], r["group"]): r for r in trends.latency.iter_rows(named=True)}
        assert latency[("llm", agent)]["p95"] == pytest.approx(np.percentile(llm[agent], 95))
        assert latency[("llm", agent)]["p99"] == pytest.approx(np.percentile(llm[agent], 99))
        assert latency[("reply", agent)]["p50"] == pytest.approx(np.percentile(replies[agent], 50))
        mine = [c for c in calls if c[0] == agent]
        usage = trends.usage.filter(trends.usage["group"] == agent).row(0, named=True)
        assert usage["calls"] == len(mine)
        assert usage["cost_per_call_usd"] == pytest.approx(sum(c[1] or 0 for c in mine) / len(mine))
        assert usage["tokens_per_call"] == pytest.approx(sum((c[2] or 0) + (c[3] or 0) for c in mine) / len(mine))


@pytest.mark.parametrize(("grain", "agents"), [("week", ()), ("day", ("salon-booker",))])
def test_failure_rates_per_tool_and_model_match_raw_rows(demo_warehouse: Path, grain: str, agents: tuple) -> None:
    monday, sunday = date(2026, 10, 12), date(2026, 10, 18)
    first = monday if grain == "week" else sunday
    trends = drift_trends(Filters(first, sunday, agents=agents), grain, "agent", THRESHOLDS)
    for frame, kind, name in ((trends.tool_errors, "tool", "s.tool_name"), (trends.model_errors, "llm", "s.model")):
        rows = by_key(raw(demo_warehouse, f"SELECT {name}, s.is_error FROM spans s JOIN calls c USING (call_id) "
                                          f"WHERE s.kind = ? AND {name} IS NOT NULL AND c.day BETWEEN ? AND ? "
                                          "AND (c.agent = ? OR ? IS NULL)",
                          [kind, first, sunday, *(agents or (None,)) * 2]))
        assert set(frame["bucket"]) == {first}
        shown = {r["group"]: r for r in frame.iter_rows(named=True)}
        assert set(shown) == set(rows) and rows
        for group, errors in rows.items():
            assert (shown[group]["n"], shown[group]["failed"]) == (len(errors), sum(errors))
            assert shown[group]["error_rate"] == pytest.approx(sum(errors) / len(errors))


def test_an_end_of_turn_setting_counts_from_the_first_span_that_names_one(warehouse_file: Path) -> None:
    """End-of-turn spans that name no setting (or an empty one) are left out: an agent whose first
    spans name none starts with the first setting named, which is no change; the next one is."""
    named = [("a", 1, None), ("b", 2, ""), ("c", 3, "patient"), ("d", 5, "quick"), ("e", 6, "patient")]
    with transaction() as con:
        for call_id, day, setting in named:
            at = datetime(2026, 10, day, 9)
            attributes = json.dumps({} if setting is None else {"callboard.end_of_turn.setting": setting})
            con.execute("INSERT INTO calls (call_id, started_at, ended_at, day, source, updated_at, agent) "
                        "VALUES (?, ?, ?, ?, 'otlp', ?, 'front-desk')", [call_id, at, at, at.date(), at])
            con.execute("INSERT INTO spans (trace_id, span_id, call_id, kind, started_at, ended_at, day, is_error, "
                        "attributes) VALUES (?, ?, ?, 'eot', ?, ?, ?, false, ?)",
                        [call_id, call_id, call_id, at, at, at.date(), attributes])
    settings = change_markers().filter(pl.col("kind") == "end_of_turn")
    assert settings.select("day", "agent", "what").rows() == [(date(2026, 10, 5), "front-desk", "quick")]


def test_prompt_trends_keep_each_agents_versions_apart(demo_warehouse: Path) -> None:
    trends = drift_trends(Filters(date(2026, 10, 1), date(2026, 10, 14)), "week", "prompt", THRESHOLDS)
    assert {"clinic-scheduler v1", "clinic-scheduler v2", "salon-booker v2"} <= set(trends.usage["group"])


def test_changes_are_marked_on_the_day_they_went_live(demo_warehouse: Path) -> None:
    markers = {(r["day"], r["agent"], r["kind"], r["what"]) for r in change_markers().iter_rows(named=True)}
    assert (SWITCH, "salon-booker", "model", "gpt-4.1-mini") in markers
    assert (date(2026, 10, 8), "clinic-scheduler", "prompt", "v2") in markers
    assert (PLAN.estate_end_of_turn_change.date(), "estate-qualifier", "end_of_turn", "quick") in markers
    assert not any(kind == "model" and agent != "salon-booker" for _, agent, kind, _ in markers)
    assert not any(kind == "end_of_turn" and agent != "estate-qualifier" for _, agent, kind, _ in markers)


def flagged(end: date) -> list:
    return drift_flags(Filters(end, end), "agent", THRESHOLDS).flagged


def overlaps(end: date, first: date, last: date) -> bool:
    """Whether the week to `end` shares a day with [first, last]."""
    return end - timedelta(days=6) <= last and end >= first


def planted(v: SeriesVerdict, end: date) -> bool:
    """Whether the demo planted what a flag in the week to `end` says: the slow speech-to-text
    week (speech-to-text, and so the caller's wait), the regression week (LLM latency and the
    caller's wait, every agent), the switch to gpt-4.1-mini (salon-booker's cost, LLM latency and
    caller's wait, in the four weeks after it), the end-of-turn change (estate-qualifier's
    talking-over share, and its speech-to-text time: deciding sooner that the caller has finished
    leaves more of the wait to transcription)."""
    if v.measure in ("interruptions", "stt") and end >= PLAN.estate_end_of_turn_change.date():
        return v.group == "estate-qualifier"
    if v.group == "salon-booker" and v.measure in ("cost", "llm", "reply") and SWITCH <= end <= SWITCH + timedelta(28):
        return True
    stt_week = overlaps(end, PLAN.stt_slow_first_day, PLAN.stt_slow_last_day)
    regression_week = overlaps(end, PLAN.regression_first_day, PLAN.regression_last_day)
    return (v.measure in ("stt", "reply") and stt_week) or (v.measure in ("llm", "reply") and regression_week)


def test_every_planted_pattern_is_flagged_in_its_week_and_nothing_else_is(demo_warehouse: Path) -> None:
    history = drift_history(Filters(PLAN.end_day, PLAN.end_day), "agent", THRESHOLDS).weeks
    weeks = {flags.end: flags for flags in history}
    assert sorted(weeks) == [PLAN.end_day - timedelta(days=7 * w) for w in range(7, -1, -1)]
    stt = {v.group for v in weeks[PLAN.stt_slow_last_day].flagged if v.measure == "stt"}
    llm = {v.group for v in weeks[PLAN.regression_last_day].flagged if v.measure == "llm"}
    assert stt == llm == AGENTS
    switch_week = weeks[SWITCH + timedelta(days=(PLAN.end_day - SWITCH).days % 7)]
    assert {(v.measure, v.group) for v in switch_week.flagged} >= {("cost", "salon-booker")}
    talk = [v for f in history for v in f.flagged if v.measure == "interruptions"]
    assert talk and {v.group for v in talk} == {"estate-qualifier"}
    for flags in history:
        assert all(planted(v, flags.end) for v in flags.flagged), [
            (flags.end, v.measure, v.group) for v in flags.flagged if not planted(v, flags.end)]


def test_the_history_strip_counts_the_sentences_each_week_says(demo_warehouse: Path) -> None:
    """The strip counts a week's drifts without writing its sentences: one per sentence, so
    percentiles said together count once."""
    history = drift_history(Filters(PLAN.end_day, PLAN.end_day), "agent", THRESHOLDS).weeks
    counts = [drifted(flags) for flags in history]
    assert counts == [len(sentences(flags)) for flags in history]
    assert any(0 < drifted(flags) < len(flags.flagged) for flags in history)
    for flags, n in zip(history, counts, strict=True):
        assert strip_label(flags).endswith(f" · {n} ⚑" if n else " · –")


def test_the_talking_over_flag_names_the_end_of_turn_change(demo_warehouse: Path) -> None:
    flags = drift_flags(Filters(PLAN.end_day, PLAN.end_day), "agent", THRESHOLDS)
    lead = "The share of calls with talking over on estate-qualifier rose"
    said = [s for s in sentences(flags) if s.startswith(lead)]
    assert len(said) == 1
    assert "the end-of-turn setting's change to quick on 12 Nov" in said[0]


def test_the_stage_sentence_names_speech_to_text_in_the_slow_week(demo_warehouse: Path) -> None:
    stages = wait_stages_by_week(Filters(PLAN.first_day, PLAN.end_day))
    slow = stages.filter(pl.col("bucket") == PLAN.stt_slow_first_day).row(0, named=True)
    usual = stages["speech_to_text"].median()
    assert stage_sentence(stages) == (
        f"In the week of {PLAN.stt_slow_first_day:%-d %b}, speech-to-text slowed the caller's wait: "
        f"{format_value(slow['speech_to_text'], 'ms')} against a usual {format_value(usual, 'ms')} "
        f"({slow['speech_to_text'] / usual:.1f}×).")
    # without that week, the next slowest is the planted LLM regression: the model's stage
    others = stage_sentence(stages.filter(pl.col("bucket") != PLAN.stt_slow_first_day))
    assert others is not None and others.startswith(f"In the week of {PLAN.regression_first_day:%-d %b}, model slowed")


def test_the_regression_week_is_flagged_for_every_agents_llm_latency(demo_warehouse: Path) -> None:
    found = flagged(date(2026, 11, 8))
    for agent in AGENTS:
        assert {v.statistic for v in found if v.measure == "llm" and v.group == agent} >= {"p50", "p95"}
        assert all(v.change > 0.3 for v in found if v.measure == "llm" and v.group == agent)
    assert all(planted(v, date(2026, 11, 8)) for v in found)


def test_the_week_after_the_model_switch_flags_salon_latency_and_cost(demo_warehouse: Path) -> None:
    end = SWITCH + timedelta(days=6)
    flags = drift_flags(Filters(end, end), "agent", THRESHOLDS)
    salon = {(v.measure, v.statistic): v for v in flags.flagged if v.group == "salon-booker"}
    assert salon[("llm", "p95")].change > 0.25
    assert salon[("cost", "mean")].change < -0.5
    assert salon[("cost", "mean")].change_low < salon[("cost", "mean")].change < salon[("cost", "mean")].change_high
    behind = flags.change_behind(salon[("llm", "p95")], since=flags.recent_start)
    assert (behind["day"], behind["what"]) == (SWITCH, "gpt-4.1-mini")
    assert all(planted(v, end) for v in flags.flagged)


def test_the_talking_over_trend_matches_the_overviews_definition(demo_warehouse: Path) -> None:
    monday = PLAN.end_day - timedelta(days=PLAN.end_day.weekday() + 7)
    week = Filters(monday, monday + timedelta(days=6))
    weekly = drift_trends(week, "week", "agent", THRESHOLDS).talking_over
    assert set(weekly["bucket"]) == {monday}
    overview = conversation_by_week(week)
    assert overview.height == len(AGENTS)
    for row in overview.iter_rows(named=True):
        mine = weekly.filter(pl.col("group") == row["agent"]).row(0, named=True)
        assert mine["voice_calls"] == row["voice_calls"]
        assert mine["interruption_rate"] == pytest.approx(row["interruption_rate"])
    history = drift_history(Filters(PLAN.end_day, PLAN.end_day), "agent", THRESHOLDS)
    assert history.summaries.first_day == PLAN.end_day - timedelta(days=15 * 7 - 1)


def test_periods_to_one_day_share_one_history_and_its_trends_are_theirs(demo_warehouse: Path) -> None:
    """Every period within the 15 weeks the history reads anyway shares one read of it
    (`history_filters`): the trends of 90 days made from the history read for 28 days to the same
    day are those of a history read for the 90 days alone, day by day and week by week."""
    end = PLAN.end_day
    month, quarter = Filters(end - timedelta(days=27), end), Filters(end - timedelta(days=89), end)
    assert history_filters(month, THRESHOLDS) == history_filters(quarter, THRESHOLDS)
    shared = drift_history(history_filters(month, THRESHOLDS), "agent", THRESHOLDS).summaries
    alone = drift_history(quarter, "agent", THRESHOLDS).summaries
    for grain in ("day", "week"):
        mine, theirs = trends_from(shared, grain, quarter.start), trends_from(alone, grain, quarter.start)
        assert mine.latency["bucket"].min() == (quarter.start if grain == "day" else end - timedelta(days=13 * 7 - 1))
        for field in fields(DriftTrends):
            assert_frame_equal(getattr(mine, field.name), getattr(theirs, field.name))


def test_weekly_trends_are_the_flags_weeks(demo_warehouse: Path) -> None:
    """A weekly point is the week the flags judged: the 7 days to the period's last day (a
    Wednesday here), each dated by its first day, back to the week holding the period's first day."""
    end = date(2026, 11, 4)
    f = Filters(date(2026, 9, 30), end)  # 36 days: the oldest week starts 6 days before
    trends = drift_trends(f, "week", "agent", THRESHOLDS)
    weeks = sorted(set(trends.latency["bucket"]))
    assert weeks == [end - timedelta(days=7 * w + 6) for w in range(5, -1, -1)]
    flags = drift_flags(Filters(end, end), "agent", THRESHOLDS)
    judged = {(v.measure, v.statistic, v.group): v for v in flags.verdicts if v.window == "week" and v.recent_value}
    latest = trends.latency.filter(pl.col("bucket") == flags.recent_start)
    compared = 0
    for row in latest.iter_rows(named=True):
        verdict = judged.get((row["measure"], "p95", row["group"]))
        if verdict is not None:
            assert verdict.recent_value == pytest.approx(row["p95"])
            compared += 1
    assert compared >= 3
    stages = wait_stages_by_week(f)
    assert sorted(stages["bucket"]) == weeks


def test_half_width_charts_mark_changes_without_labels(demo_warehouse: Path) -> None:
    trends = drift_trends(Filters(date(2026, 10, 1), date(2026, 11, 22)), "week", "agent", THRESHOLDS)
    frame = trends.usage.rename({"cost_per_call_usd": "value"})
    markers = change_markers()
    wide = trend_by_group(frame, "value", "usd", "Cost", markers, "Agent")
    narrow = trend_by_group(frame, "value", "usd", "Cost", markers, "Agent", labelled=False)
    assert len(wide.spec["layer"]) == 4 and len(narrow.spec["layer"]) == 2  # lines, rules (+ labels left and right)
