"""Drift flags: has a series moved in the last week, against the weeks before it?

A series (say, p95 LLM latency of one agent) is flagged when all of these hold:
1. each window has enough values (`min_sample`; for a percentile, `min_tail_values` beyond it);
2. a stated test finds the difference unlikely under no change, at `alpha` shared across every
   series tested (Bonferroni: each needs p < alpha / series tested), so looking at a hundred
   series does not raise five false flags;
3. the change is large enough to matter (`min_relative_change`, or `min_rate_change` points);
4. the change holds, in the same direction and by at least that much, against each week of the
   baseline on its own: a past one-off week (an incident, a half-week after a switch) then
   neither raises a flag after it has passed nor stands in for a drift.

Tests: Mann–Whitney U for a typical (p50) latency; for a tail percentile (p95, p99), a two-
proportion test of the share of values above the baseline's percentile (the tail is what moved
when a model's slowest replies got slower, which a rank test barely sees); Welch's test for cost
and tokens per call; a two-proportion test for failure rates. Effects are relative changes (points
for rates), with 95% intervals: distribution-free for percentiles, delta-method for means,
Newcombe's for rates.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from warehouse import stats
from warehouse.drift.measures import PERCENTILES

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True)
class Thresholds:
    """When a series is flagged; the defaults live in thresholds.toml beside this module."""

    recent_days: int
    baseline_days: int
    alpha: float
    min_relative_change: float
    min_rate_change: float
    min_sample: int
    min_tail_values: int


def load_thresholds(overrides: Mapping[str, float] | None = None, path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The thresholds in `path`, with `overrides` on top; unknown names are refused."""
    values = {**tomllib.loads(path.read_text()), **(overrides or {})}
    known = {f.name for f in fields(Thresholds)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"Unknown drift thresholds: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}.")
    return Thresholds(**values)


@dataclass(frozen=True)
class Series:
    """One series' values: the recent week's, the baseline's, and the baseline's week by week."""

    measure: str  # 'reply', 'stt', 'llm', 'tool', 'tts', 'cost', 'tokens', 'errors'
    statistic: str  # 'p50', 'p95', 'p99', 'mean' or 'rate' (values are 0/1)
    group: str
    recent: np.ndarray
    baseline: np.ndarray
    baseline_weeks: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class SeriesVerdict:
    measure: str
    statistic: str
    group: str
    n_recent: int
    n_baseline: int
    baseline_value: float | None = None
    recent_value: float | None = None
    change: float | None = None  # relative (0.38 = +38%), or points for a rate (0.02 = +2 pts)
    change_low: float | None = None
    change_high: float | None = None
    test: str = ""
    p_value: float | None = None
    flagged: bool = False
    reason: str = ""  # why not flagged, in words


def _statistic(statistic: str) -> Callable[[np.ndarray], float]:
    if statistic in PERCENTILES:
        q = PERCENTILES[statistic]
        return lambda values: float(np.quantile(values, q))
    return lambda values: float(np.mean(values))


def _change(statistic: str, recent: float, baseline: float) -> float | None:
    if statistic == "rate":
        return recent - baseline
    return recent / baseline - 1 if baseline > 0 else None


def _min_change(statistic: str, thresholds: Thresholds) -> float:
    return thresholds.min_rate_change if statistic == "rate" else thresholds.min_relative_change


def _enough(series: Series, values: np.ndarray, thresholds: Thresholds) -> bool:
    q = PERCENTILES.get(series.statistic)
    tail_ok = q is None or len(values) * (1 - q) >= thresholds.min_tail_values
    return len(values) >= thresholds.min_sample and tail_ok


TEST_NAMES = {
    "p50": "Mann–Whitney U",
    "p95": "share above the baseline's p95 (two-proportion z)",
    "p99": "share above the baseline's p99 (two-proportion z)",
    "mean": "Welch's t-test",
    "rate": "Fisher's exact test",
}


def _test(series: Series, baseline_value: float) -> stats.TestResult | None:
    recent, baseline = series.recent, series.baseline
    if series.statistic == "p50":
        result = stats.mann_whitney_u(recent, baseline)
        return result[1] if result else None
    if series.statistic in PERCENTILES:
        above_recent, above_baseline = int((recent > baseline_value).sum()), int((baseline > baseline_value).sum())
        return stats.two_proportion_test(above_recent, len(recent), above_baseline, len(baseline))
    if series.statistic == "mean":
        return stats.welch_test(recent, baseline)
    return stats.fisher_exact_test(int(recent.sum()), len(recent), int(baseline.sum()), len(baseline))


def _interval(series: Series, ratio: float) -> stats.Interval | None:
    """The change's 95% interval, in the change's own terms (relative, or points)."""
    recent, baseline = series.recent, series.baseline
    if series.statistic == "rate":
        return stats.difference_interval(int(recent.sum()), len(recent), int(baseline.sum()), len(baseline))
    if series.statistic in PERCENTILES:
        q = PERCENTILES[series.statistic]
        se_recent, se_baseline = stats.quantile_log_se(recent, q), stats.quantile_log_se(baseline, q)
    else:
        se_recent, se_baseline = stats.mean_log_se(recent), stats.mean_log_se(baseline)
    if se_recent is None or se_baseline is None or ratio <= 0:
        return None
    low, high = stats.ratio_interval(ratio, se_recent, se_baseline)
    return low - 1, high - 1


def _holds_every_week(series: Series, recent_value: float, change: float, thresholds: Thresholds) -> bool:
    statistic, floor = _statistic(series.statistic), _min_change(series.statistic, thresholds)
    for week in series.baseline_weeks:
        if not _enough(series, week, thresholds):
            continue
        weekly = _change(series.statistic, recent_value, statistic(week))
        if weekly is None or weekly * change <= 0 or abs(weekly) < floor:
            return False
    return True


def _estimate(series: Series, thresholds: Thresholds) -> tuple[SeriesVerdict, stats.TestResult | None]:
    verdict = SeriesVerdict(series.measure, series.statistic, series.group, len(series.recent), len(series.baseline))
    if not (_enough(series, series.recent, thresholds) and _enough(series, series.baseline, thresholds)):
        return _with(verdict, reason="too few values to judge"), None
    statistic = _statistic(series.statistic)
    recent_value, baseline_value = statistic(series.recent), statistic(series.baseline)
    change = _change(series.statistic, recent_value, baseline_value)
    verdict = _with(verdict, baseline_value=baseline_value, recent_value=recent_value, change=change,
                    test=TEST_NAMES[series.statistic])
    result = _test(series, baseline_value) if change is not None else None
    if result is None:
        return _with(verdict, reason="nothing varies, so nothing to test"), None
    interval = _interval(series, recent_value / baseline_value if baseline_value else math.nan)
    if interval:
        verdict = _with(verdict, change_low=interval[0], change_high=interval[1])
    return _with(verdict, p_value=result.p_value), result


def _with(verdict: SeriesVerdict, **changes: object) -> SeriesVerdict:
    return SeriesVerdict(**{**verdict.__dict__, **changes})


def evaluate(series: Sequence[Series], thresholds: Thresholds) -> list[SeriesVerdict]:
    """Every series' verdict; flagged ones first, biggest change first."""
    estimated = [_estimate(s, thresholds) for s in series]
    tested = sum(1 for _, result in estimated if result is not None)
    level = thresholds.alpha / tested if tested else 0.0
    verdicts = []
    for s, (verdict, result) in zip(series, estimated, strict=True):
        if result is not None:
            verdict = _with(verdict, reason=_why_not(s, verdict, level, thresholds))
            verdict = _with(verdict, flagged=not verdict.reason)
        verdicts.append(verdict)
    return sorted(verdicts, key=lambda v: (not v.flagged, -abs(v.change or 0)))


def _why_not(series: Series, verdict: SeriesVerdict, level: float, thresholds: Thresholds) -> str:
    """Why a tested series is not flagged; empty when it is."""
    assert verdict.p_value is not None and verdict.change is not None and verdict.recent_value is not None  # tested
    floor = _min_change(series.statistic, thresholds)
    if verdict.p_value >= level:
        return f"could be chance (needs p under {level:.2g})"
    if abs(verdict.change) < floor:
        return "too small to matter"
    if not _holds_every_week(series, verdict.recent_value, verdict.change, thresholds):
        return "not against every baseline week"
    return ""
