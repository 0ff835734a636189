"""The metric registry: it and the metric definitions name the same columns, docs/metrics.md says
what it says, and each metric's noise test reads the right figures."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from present.charts import trend
from tests import independent
from warehouse import metric_registry, metrics, queries, stats
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY, METRICS, UNITS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def computed_by_the_definitions() -> set[str]:
    """The columns the metric definitions compute, read off the expressions' schemas."""
    f = Filters(date(2026, 10, 1), date(2026, 10, 7))
    with queries.reading() as t:
        calls, replies = metrics.scoped_calls(t, f), metrics.agent_replies(t, f)
        frames = (metrics.call_metrics(calls, t, ["day"]), metrics.latency_metrics(replies, ["day"]),
                  metrics.judge_metrics(calls, t, ["day"]), metrics.conversation_metrics(calls, ["day"], 3000))
        return {column for frame in frames for column in frame.columns} - {"day"}


def test_every_computed_column_has_a_registry_entry_and_every_entry_is_computed(warehouse_file: Path) -> None:
    assert computed_by_the_definitions() == metric_registry.computed_columns()


def test_every_metric_names_a_known_unit_owner_and_noise_test() -> None:
    assert len(BY_KEY) == len(METRICS)
    for m in METRICS:
        assert m.unit in UNITS, m.key
        assert m.owner is None or m.owner in metric_registry.OWNERS, m.key
        assert m.noise in (metric_registry.TWO_PROPORTIONS, metric_registry.WELCH, metric_registry.MOOD_QUANTILE,
                           metric_registry.POISSON), m.key
        assert (m.spread_key is not None) == (m.noise in (metric_registry.WELCH, metric_registry.MOOD_QUANTILE))
    shown = [m for group in metric_registry.GROUPS.values() for m in group]
    assert [m.key for m in shown] == [m.key for m in METRICS if m.owner]


def documented_rows() -> dict[str, list[str]]:
    rows = [line.split("|")[1:-1] for line in DOCS.read_text().splitlines() if line.startswith("| `")]
    return {re.fullmatch(r"`(\w+)`", cells[0].strip()).group(1): [c.strip() for c in cells[1:7]] for cells in rows}


def test_docs_table_says_what_the_registry_says() -> None:
    def better(m: metric_registry.Metric) -> str:
        return "—" if m.higher_is_better is None else "higher" if m.higher_is_better else "lower"

    expected = {m.key: [m.label, m.owner or "—", UNITS[m.unit], better(m), m.n_label, m.noise.name] for m in METRICS}
    assert documented_rows() == expected
    cards = sum(1 for m in METRICS if m.owner)
    assert f"p below 0.05 ÷ {cards} ({metric_registry.CHANGE_LEVEL:.4f})" in DOCS.read_text()


def test_the_sample_sizes_and_spreads_match_an_independent_computation(synthetic_warehouse: Path) -> None:
    f = Filters(date(2026, 10, 1), date(2026, 10, 14), agents=("salon-booker", "clinic-scheduler"))
    result = queries.overview(f)
    pooled = independent.scope(synthetic_warehouse, Filters(f.previous().start, f.end, agents=f.agents)).latencies
    for period, filters in (("current", f), ("previous", f.previous())):
        row = result.by_period.filter(period=period).row(0, named=True)
        expected = independent.sample_figures(synthetic_warehouse, filters, pooled)
        for key, value in expected.items():
            assert row[key] == pytest.approx(value, rel=1e-9), (period, key)


ROW_NOW = {"calls": 1100, "conversion_rate": 0.55, "conversion_n": 400, "nps": 20.0, "nps_sd": 70.0,
           "nps_responses": 150, "latency_p95_ms": 2500.0, "latency_p95_share_above_pooled": 0.07, "replies": 9000}
ROW_BEFORE = {"calls": 1000, "conversion_rate": 0.50, "conversion_n": 380, "nps": 10.0, "nps_sd": 75.0,
              "nps_responses": 160, "latency_p95_ms": 2300.0, "latency_p95_share_above_pooled": 0.03, "replies": 8000}


@pytest.mark.parametrize("key, expected", [
    ("conversion_rate", stats.two_proportion_test(220, 400, 190, 380)),
    ("nps", stats.welch_t_test(20.0, 70.0, 150, 10.0, 75.0, 160)),
    ("latency_p95_ms", stats.two_proportion_test(630, 9000, 240, 8000)),
    ("calls", stats.poisson_counts_test(1100, 1000)),
])
def test_each_noise_test_reads_its_metrics_figures(key: str, expected: stats.TestResult) -> None:
    assert BY_KEY[key].change_test(ROW_NOW, ROW_BEFORE) == expected


def test_a_noise_test_without_its_figures_says_nothing() -> None:
    assert BY_KEY["nps"].change_test({**ROW_NOW, "nps_sd": None}, ROW_BEFORE) is None
    assert BY_KEY["conversion_rate"].change_test(ROW_NOW, {"conversion_rate": float("nan"), "conversion_n": 3}) is None
    assert BY_KEY["eval_score"].change_test({}, {}) is None


def test_a_trend_carries_each_days_n_and_95_percent_band(synthetic_warehouse: Path) -> None:
    f = Filters(date(2026, 10, 1), date(2026, 10, 14))
    result = queries.overview(f)
    conversion, p95 = result.trend(BY_KEY["conversion_rate"]), result.trend(BY_KEY["latency_p95_ms"])
    day = conversion.row(0, named=True)
    alone = independent.scope(synthetic_warehouse, Filters(day["day"], day["day"]))
    known = [b for b in alone.booked if b is not None]
    assert day["n"] == len(known)
    assert (day["low"], day["high"]) == pytest.approx(stats.wilson_interval(sum(known), len(known)))
    assert p95["n"].to_list() == result.by_day["replies"].to_list() and p95["low"].is_null().all()
    spec = trend(conversion, "conversion_rate", "pct", "Conversion rate").to_dict()
    band, line = spec["layer"]
    assert (band["mark"]["type"], band["encoding"]["y2"]["field"]) == ("area", "high")
    assert "n" in [t["field"] for t in line["encoding"]["tooltip"]]
    assert "layer" not in trend(p95, "latency_p95_ms", "ms", "p95").to_dict()
