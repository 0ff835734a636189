"""Drift on the demo warehouse: the trends match a computation over raw rows, changes are marked
on the days they went live, and the flags find the planted drifts at their dates and nothing else."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from warehouse.drift.detection import load_thresholds
from warehouse.drift.queries import change_markers, drift_flags, drift_trends
from warehouse.filters import Filters

THRESHOLDS = load_thresholds()
SWITCH = date(2026, 10, 28)
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
    trends = drift_trends(Filters(day, day), "day", "agent")
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


def test_weekly_failure_rates_per_tool_match_raw_rows(demo_warehouse: Path) -> None:
    monday, sunday = date(2026, 10, 12), date(2026, 10, 18)
    trends = drift_trends(Filters(monday, sunday), "week", "agent")
    rows = by_key(raw(demo_warehouse, "SELECT s.tool_name, s.is_error FROM spans s JOIN calls c USING (call_id) "
                                       "WHERE s.kind = 'tool' AND c.day BETWEEN ? AND ?", [monday, sunday]))
    assert set(trends.tool_errors["bucket"]) == {monday}
    shown = {r["group"]: r for r in trends.tool_errors.iter_rows(named=True)}
    assert set(shown) == set(rows)
    for tool, errors in rows.items():
        assert shown[tool]["n"] == len(errors)
        assert shown[tool]["error_rate"] == pytest.approx(sum(errors) / len(errors))


def test_prompt_trends_keep_each_agents_versions_apart(demo_warehouse: Path) -> None:
    trends = drift_trends(Filters(date(2026, 10, 1), date(2026, 10, 14)), "week", "prompt")
    assert {"clinic-scheduler v1", "clinic-scheduler v2", "salon-booker v2"} <= set(trends.usage["group"])


def test_changes_are_marked_on_the_day_they_went_live(demo_warehouse: Path) -> None:
    markers = {(r["day"], r["agent"], r["kind"], r["what"]) for r in change_markers().iter_rows(named=True)}
    assert (SWITCH, "salon-booker", "model", "gpt-4.1-mini") in markers
    assert (date(2026, 10, 8), "clinic-scheduler", "prompt", "v2") in markers
    assert not any(kind == "model" and agent != "salon-booker" for _, agent, kind, _ in markers)


def flagged(end: date) -> list:
    return drift_flags(Filters(end, end), "agent", THRESHOLDS).flagged


def planted(v) -> bool:
    """Series the demo's planted drifts move: LLM and reply latency (the regression, the switch's
    wider tail) and the salon agent's cost (the switch)."""
    return v.measure in ("llm", "reply") or (v.measure == "cost" and v.group == "salon-booker")


def test_the_regression_week_is_flagged_for_every_agents_llm_latency(demo_warehouse: Path) -> None:
    found = flagged(date(2026, 11, 8))
    for agent in AGENTS:
        assert {v.statistic for v in found if v.measure == "llm" and v.group == agent} >= {"p50", "p95"}
        assert all(v.change > 0.3 for v in found if v.measure == "llm" and v.group == agent)
    assert all(planted(v) for v in found), [(v.measure, v.group) for v in found if not planted(v)]


def test_the_week_after_the_model_switch_flags_salon_latency_and_cost(demo_warehouse: Path) -> None:
    end = SWITCH + timedelta(days=6)
    flags = drift_flags(Filters(end, end), "agent", THRESHOLDS)
    salon = {(v.measure, v.statistic): v for v in flags.flagged if v.group == "salon-booker"}
    assert salon[("llm", "p95")].change > 0.25
    assert salon[("cost", "mean")].change < -0.5
    assert salon[("cost", "mean")].change_low < salon[("cost", "mean")].change < salon[("cost", "mean")].change_high
    behind = flags.change_behind(salon[("llm", "p95")], since=flags.recent_start)
    assert (behind["day"], behind["what"]) == (SWITCH, "gpt-4.1-mini")
    assert all(planted(v) for v in flags.flagged)


def test_nothing_is_flagged_once_the_drifts_have_passed(demo_warehouse: Path) -> None:
    assert flagged(date(2026, 11, 22)) == []
