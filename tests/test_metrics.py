"""The owned metrics against an independent computation over the same rows."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pytest

from tests import cli, independent
from warehouse import queries
from warehouse.__main__ import main
from warehouse.filters import Filters
from warehouse.metric_registry import KEYS as METRIC_KEYS

CASES = [
    Filters(date(2026, 9, 1), date(2026, 10, 30)),
    Filters(date(2026, 9, 10), date(2026, 9, 24)),
    Filters(date(2026, 9, 1), date(2026, 10, 30), agents=("salon-booker",)),
    Filters(date(2026, 9, 5), date(2026, 10, 5), agents=("clinic-scheduler", "estate-qualifier"),
            prompt_versions=("v2",), models=("gpt-4.1",)),
]


def assert_same(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(METRIC_KEYS)
    for key in METRIC_KEYS:
        if theirs[key] is None:
            assert ours[key] is None or math.isnan(ours[key]), key
        else:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-9), key


@pytest.mark.parametrize("filters", CASES, ids=lambda f: f"{f.start}..{f.end} {f.agents} {f.models}")
def test_period_metrics_match_an_independent_computation(synthetic_warehouse: Path, filters: Filters) -> None:
    assert_same(queries.period_metrics(filters), independent.owned_metrics(synthetic_warehouse, filters))


def test_overview_compares_with_the_previous_period_of_the_same_length(synthetic_warehouse: Path) -> None:
    f = Filters(date(2026, 10, 1), date(2026, 10, 14))
    result = queries.overview(f)
    previous = independent.owned_metrics(synthetic_warehouse, Filters(date(2026, 9, 17), date(2026, 9, 30)))
    current = independent.owned_metrics(synthetic_warehouse, f)
    for key in METRIC_KEYS:
        assert result.value("current", key) == pytest.approx(current[key], rel=1e-9)
        assert result.value("previous", key) == pytest.approx(previous[key], rel=1e-9)


def test_daily_trend_matches_each_day_computed_alone(synthetic_warehouse: Path) -> None:
    f = Filters(date(2026, 9, 1), date(2026, 9, 20), agents=("salon-booker",))
    by_day = queries.overview(f).by_day
    assert by_day["day"].is_sorted()
    for row in by_day.head(5).iter_rows(named=True):
        alone = independent.owned_metrics(synthetic_warehouse, Filters(row["day"], row["day"], agents=f.agents))
        assert row["calls"] == alone["calls"]
        assert row["latency_p95_ms"] == pytest.approx(alone["latency_p95_ms"])
        assert row["cost_per_call_usd"] == pytest.approx(alone["cost_per_call_usd"])


def test_metrics_are_null_when_there_is_no_data(warehouse_file: Path) -> None:
    result = queries.period_metrics(Filters(date(2026, 1, 1), date(2026, 1, 31)))
    assert result["calls"] == 0
    assert all(result[key] is None for key in METRIC_KEYS if key != "calls")


def test_metrics_cli_prints_the_same_figures_as_json(
    synthetic_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = Filters(date(2026, 9, 1), date(2026, 9, 30), agents=("estate-qualifier",))
    done = cli.run(main, ["metrics", "--start", "2026-09-01", "--end", "2026-09-30", "--agent", "estate-qualifier",
                          "--json"], capsys)
    assert done.returncode == 0
    assert_same(json.loads(done.stdout), independent.owned_metrics(synthetic_warehouse, f))


def test_metrics_cli_rejects_a_bad_date_in_one_line(
    synthetic_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = cli.run(main, ["metrics", "--start", "2026-13-01", "--end", "2026-09-30"], capsys)
    assert done.returncode == 2
    assert "not a date" in done.stderr


def test_metrics_cli_rejects_a_period_that_ends_before_it_starts(
    synthetic_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = cli.run(main, ["metrics", "--start", "2026-09-30", "--end", "2026-09-01"], capsys)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: The period ends")
