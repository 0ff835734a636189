"""Drift flags on simulated series with a known truth (tests/drift_simulation.py): pure noise raises
a flag in under 5% of weeks, a planted shift is found with an honest interval, a slow creep and a
change that starts mid-week are caught at the rates docs/drift.md states, a past one-off week
neither raises nor hides a flag; thresholds load."""

from __future__ import annotations

import numpy as np
import pytest

from tests import drift_simulation as sim
from warehouse.drift.detection import Thresholds, Window, combine, days_test, evaluate, load_thresholds

THRESHOLDS = load_thresholds()


def noise(rng: np.random.Generator, group: str) -> tuple[list, list]:
    """One agent's series with nothing planted: latency percentiles, cost per call, a failure rate."""
    return ([sim.frame("llm", group, sim.draws(rng, 300, sim.latency()))],
            [sim.frame("cost", group, sim.draws(rng, 60, sim.cost)),
             sim.frame("tool_errors", f"tool-{group}", sim.draws(rng, 200, sim.failures(0.03)))])


def test_pure_noise_raises_a_flag_in_under_5_percent_of_weeks() -> None:
    """30 seeds of two agents' series (10 series each), each judged for the 8 weeks of the history
    strip with all three tests: a week with any flag is a false alarm."""
    weeks_flagged = weeks = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        latency, moments = [], []
        for group in "ab":
            lat, mom = noise(rng, group)
            latency += lat
            moments += mom
        series = sim.simulate(latency, moments, THRESHOLDS)
        for week in range(8):
            weeks += 1
            weeks_flagged += any(v.flagged for v in evaluate(series, THRESHOLDS, week))
    assert weeks_flagged / weeks < 0.05, weeks_flagged


def caught(pattern: sim.Pattern, window: str | None, seeds: int = 20, per_day: int = 400) -> tuple[float, float]:
    """The share of seeds where a planted pattern on p50 latency and on cost per call is flagged
    in the latest week, by the test named `window` (None: by any), beside a steady agent, which
    shares the Bonferroni correction."""
    found = {"llm": 0, "cost": 0}
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        quiet_latency, quiet_moments = noise(rng, "steady")
        latency = [sim.frame("llm", "moved", sim.draws(rng, per_day, sim.latency(), pattern)), *quiet_latency]
        moments = [sim.frame("cost", "moved", sim.draws(rng, 60, sim.cost, pattern)), *quiet_moments]
        verdicts = evaluate(sim.simulate(latency, moments, THRESHOLDS), THRESHOLDS)
        for v in verdicts:
            if v.flagged and window in (None, v.window) and v.change > 0 and (v.measure, v.statistic) in (
                    ("llm", "p50"), ("cost", "mean")):
                found[v.measure] += 1
    return found["llm"] / seeds, found["cost"] / seeds


def test_a_slow_creep_of_5_percent_a_week_is_caught() -> None:
    latency, cost = caught(sim.creep(0.05), None)
    assert latency >= 0.9 and cost >= 0.8, (latency, cost)


def test_the_trend_catches_a_5_percent_creep_the_week_alone_catches_half_the_time() -> None:
    """Why the trend test exists: against the four weeks before, a 5%-a-week creep is about a 12%
    change, under the 15% that matters, so the week and days tests catch it only when noise helps
    (10 of 20 seeds, any of p50, p95, p99 latency or cost); with the trend, all 20."""
    no_trend = load_thresholds({"trend_weeks": 99})  # more weeks than the data: the trend is not judged
    without = with_trend = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        latency = [sim.frame("llm", "moved", sim.draws(rng, 400, sim.latency(), sim.creep(0.05)))]
        moments = [sim.frame("cost", "moved", sim.draws(rng, 60, sim.cost, sim.creep(0.05)))]
        series = sim.simulate(latency, moments, no_trend)
        without += any(v.flagged for v in evaluate(series, no_trend))
        with_trend += any(v.flagged for v in evaluate(series, THRESHOLDS))
    assert without <= 12 and with_trend == 20, (without, with_trend)


def test_a_20_percent_step_with_3_days_left_in_the_week_is_caught_by_the_days() -> None:
    latency, cost = caught(sim.step(0.20, days_left=3), "days")
    assert latency >= 0.85 and cost >= 0.3, (latency, cost)


def test_a_planted_latency_shift_is_found_with_an_honest_interval() -> None:
    found = covered = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        shifted = sim.draws(rng, 300, sim.latency(), lambda back: np.where(back < 7, 1.4, 1.0))
        latency, moments = noise(rng, "steady")
        verdicts = evaluate(sim.simulate([sim.frame("llm", "slow", shifted), *latency], moments, THRESHOLDS),
                            THRESHOLDS)
        flagged = {v.group for v in verdicts if v.flagged}
        assert flagged <= {"slow"}
        found += bool(flagged)
        p95 = next(v for v in verdicts if v.group == "slow" and v.statistic == "p95" and v.window == "week")
        covered += p95.change_low < 0.4 < p95.change_high  # the true p95 ratio is 1.4
    assert found == 40
    assert covered >= 0.85 * 40


def test_a_wider_tail_is_flagged_at_p95_though_the_median_barely_moves() -> None:
    rng = np.random.default_rng(7)
    back = np.repeat(np.arange(sim.DAYS), 400)
    sigma = np.where(back < 7, 0.62, 0.42)  # the demo's model switch: same middle, wider tail
    values = 500 * np.exp(rng.normal(0, 1, len(back)) * sigma)
    verdicts = {v.statistic: v for v in evaluate(sim.simulate([sim.frame("llm", "a", (back, values))], [], THRESHOLDS),
                                                 THRESHOLDS)}
    assert verdicts["p95"].flagged and verdicts["p95"].change > 0.15
    assert not verdicts["p50"].flagged


def test_a_rare_failure_rate_that_quadruples_is_flagged_in_points_by_fishers_test() -> None:
    rng = np.random.default_rng(11)
    drawn = sim.draws(rng, 300, sim.failures(0.01), lambda back: np.where(back < 7, 4.0, 1.0))
    failures = sim.frame("tool_errors", "check_availability", drawn)
    (verdict,) = evaluate(sim.simulate([], [failures], THRESHOLDS), THRESHOLDS)
    back, values = drawn
    recent, baseline = values[back < 7], values[(back >= 7) & (back < 35)]
    assert verdict.flagged and verdict.test == "Fisher's exact test" and verdict.window == "week"
    assert verdict.change == pytest.approx(recent.mean() - baseline.mean())
    assert verdict.change_low < verdict.change < verdict.change_high


def test_a_past_one_off_week_raises_no_flag_after_it() -> None:
    rng = np.random.default_rng(5)
    drawn = sim.draws(rng, 300, sim.latency(), sim.one_off(0.6, week=2))  # an incident two weeks ago, over now
    verdicts = evaluate(sim.simulate([sim.frame("llm", "a", drawn)], [], THRESHOLDS), THRESHOLDS)
    assert not any(v.flagged for v in verdicts)
    assert evaluate(sim.simulate([sim.frame("llm", "a", drawn)], [], THRESHOLDS), THRESHOLDS, week=2)[0].flagged


def test_too_few_values_are_not_judged() -> None:
    rng = np.random.default_rng(1)
    drawn = sim.draws(rng, 3, sim.latency(), lambda back: np.where(back < 7, 3.0, 1.0))
    verdicts = evaluate(sim.simulate([sim.frame("llm", "a", drawn)], [], THRESHOLDS), THRESHOLDS)
    assert all(not v.flagged and v.p_value is None and v.reason == "too few values to judge" for v in verdicts)


def test_the_days_test_compares_the_last_k_days_with_the_same_days_of_each_baseline_week() -> None:
    """The figures the days test reports are the week's last k days (k its best) combined,
    against the same k days of each baseline week, combined in turn: checked against a
    computation straight from the series' days, for steps of several lengths and weeks."""
    ks, compared = set(), 0
    for days_left in (2, 3, 5):
        rng = np.random.default_rng(days_left)
        pattern = sim.step(0.3, days_left=days_left)
        latency = [sim.frame("llm", "a", sim.draws(rng, 400, sim.latency(), pattern))]
        moments = [sim.frame("cost", "a", sim.draws(rng, 60, sim.cost, pattern))]
        for series in sim.simulate(latency, moments, THRESHOLDS):
            for week in (0, 3):
                verdict = days_test(series, week, THRESHOLDS).verdict
                if verdict.p_value is None:  # p99: too few values a day to judge
                    continue
                first, length, k = week * THRESHOLDS.recent_days, THRESHOLDS.recent_days, verdict.days
                recent = combine(series.statistic, [series.days[first + d] for d in range(k)])
                before = [combine(series.statistic, [series.days[first + b * length + d] for d in range(k)])
                          for b in range(1, THRESHOLDS.baseline_weeks + 1)]
                baseline = combine(series.statistic, before)
                assert (verdict.n_recent, verdict.n_baseline) == (recent.n, baseline.n)
                assert (verdict.recent_value, verdict.baseline_value) == (recent.value, baseline.value)
                ks.add(k)
                compared += 1
    assert compared >= 3 * 2 * 3 and len(ks) >= 3, (compared, ks)  # p50, p95 and the mean at least


def test_windows_combine_a_mean_and_its_variance_exactly() -> None:
    rng = np.random.default_rng(2)
    parts = [rng.gamma(2, 1.0, n) for n in (5, 40, 17)]
    whole = combine("mean", [Window(len(p), float(p.mean()), var=float(p.var(ddof=1))) for p in parts])
    joined = np.concatenate(parts)
    assert whole.n == len(joined)
    assert whole.value == pytest.approx(joined.mean()) and whole.var == pytest.approx(joined.var(ddof=1))


def test_thresholds_come_from_the_toml_file_and_refuse_unknown_names() -> None:
    assert isinstance(THRESHOLDS, Thresholds)
    assert (THRESHOLDS.recent_days, THRESHOLDS.baseline_days, THRESHOLDS.trend_weeks, THRESHOLDS.alpha) == (
        7, 28, 8, 0.05)
    assert load_thresholds({"alpha": 0.01}).alpha == 0.01
    with pytest.raises(ValueError, match="Unknown drift thresholds: alpah"):
        load_thresholds({"alpah": 0.01})
