"""Drift flags on synthetic series: pure noise raises no flag (across many seeds, under alpha),
a planted shift is found, a past one-off week neither raises nor hides one; thresholds load."""

from __future__ import annotations

import numpy as np
import pytest

from warehouse.drift.detection import Series, Thresholds, evaluate, load_thresholds

THRESHOLDS = load_thresholds()
WEEK = 300  # values per week


def lognormal(rng: np.random.Generator, weeks: int, scale: float = 1.0, sigma: float = 0.45) -> list[np.ndarray]:
    return [scale * 500 * rng.lognormal(0, sigma, WEEK) for _ in range(weeks)]


def series(statistic: str, recent: np.ndarray, weeks: list[np.ndarray], group: str = "a") -> Series:
    return Series("llm", statistic, group, recent, np.concatenate(weeks), tuple(weeks))


def noise(rng: np.random.Generator, group: str) -> list[Series]:
    """One agent's series with nothing planted: latency percentiles, cost, a failure rate."""
    recent, *weeks = lognormal(rng, 5)
    cost = [rng.gamma(4, 0.02, WEEK) for _ in range(5)]
    errors = [(rng.random(WEEK) < 0.03).astype(float) for _ in range(5)]
    return [
        *(series(s, recent, weeks, group) for s in ("p50", "p95", "p99")),
        Series("cost", "mean", group, cost[0], np.concatenate(cost[1:]), tuple(cost[1:])),
        Series("errors", "rate", group, errors[0], np.concatenate(errors[1:]), tuple(errors[1:])),
    ]


@pytest.mark.parametrize("overrides", [{}, {"min_relative_change": 0.0, "min_rate_change": 0.0}])
def test_pure_noise_raises_a_flag_in_fewer_than_alpha_of_seeds(overrides: dict) -> None:
    thresholds = load_thresholds(overrides)
    runs_with_a_flag = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        verdicts = evaluate([s for group in "abc" for s in noise(rng, group)], thresholds)
        runs_with_a_flag += any(v.flagged for v in verdicts)
    assert runs_with_a_flag / 200 < thresholds.alpha


def test_a_planted_latency_shift_is_found_and_only_there_with_an_honest_interval() -> None:
    found = covered = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        recent, *weeks = lognormal(rng, 5)
        shifted = Series("llm", "p95", "slow", recent * 1.4, np.concatenate(weeks), tuple(weeks))
        verdicts = evaluate([shifted, *noise(rng, "steady")], THRESHOLDS)
        flagged = [v for v in verdicts if v.flagged]
        assert [v.group for v in flagged] in ([], ["slow"])
        found += bool(flagged)
        shift = next(v for v in verdicts if v.group == "slow")
        covered += shift.change_low < 0.4 < shift.change_high  # the true p95 ratio is 1.4
    assert found >= 48
    assert covered >= 0.85 * 50


def test_a_wider_tail_is_flagged_at_p95_though_the_median_barely_moves() -> None:
    rng = np.random.default_rng(7)
    weeks = [470 * rng.lognormal(0, 0.42, WEEK) for _ in range(4)]
    recent = 500 * rng.lognormal(0, 0.60, 2 * WEEK)  # the demo's model switch: same middle, wider tail
    verdicts = {v.statistic: v for v in evaluate([series(s, recent, weeks) for s in ("p50", "p95")], THRESHOLDS)}
    assert verdicts["p95"].flagged and verdicts["p95"].test.startswith("share above")
    assert not verdicts["p50"].flagged and verdicts["p50"].test == "Mann–Whitney U"


def test_a_failure_rate_that_doubles_is_flagged_in_points() -> None:
    rng = np.random.default_rng(11)
    weeks = [(rng.random(2000) < 0.02).astype(float) for _ in range(4)]
    recent = (rng.random(2000) < 0.05).astype(float)
    (verdict,) = evaluate([Series("errors", "rate", "check_availability", recent, np.concatenate(weeks), tuple(weeks))],
                          THRESHOLDS)
    assert verdict.flagged and verdict.test == "Fisher's exact test"
    assert verdict.change == pytest.approx(recent.mean() - np.concatenate(weeks).mean())
    assert verdict.change_low < verdict.change < verdict.change_high


def test_a_past_one_off_week_in_the_baseline_raises_no_flag_after_it() -> None:
    rng = np.random.default_rng(5)
    recent, *weeks = lognormal(rng, 5)
    weeks[1] = weeks[1] * 1.6  # an incident two weeks ago, over now
    verdicts = evaluate([series(s, recent, weeks) for s in ("p50", "p95")], THRESHOLDS)
    assert not any(v.flagged for v in verdicts)
    assert {v.reason for v in verdicts} <= {"not against every baseline week", "too small to matter"}


def test_too_few_values_are_not_judged() -> None:
    rng = np.random.default_rng(1)
    weeks = [rng.lognormal(0, 0.4, 20) for _ in range(4)]
    (verdict,) = evaluate([series("p95", weeks[0] * 3, weeks)], THRESHOLDS)
    assert not verdict.flagged and verdict.p_value is None and verdict.reason == "too few values to judge"


def test_thresholds_come_from_the_toml_file_and_refuse_unknown_names() -> None:
    assert isinstance(THRESHOLDS, Thresholds)
    assert (THRESHOLDS.recent_days, THRESHOLDS.baseline_days, THRESHOLDS.alpha) == (7, 28, 0.05)
    assert load_thresholds({"alpha": 0.01}).alpha == 0.01
    with pytest.raises(ValueError, match="Unknown drift thresholds: alpah"):
        load_thresholds({"alpah": 0.01})
