"""Drift flags: has a series moved, against the weeks before it? (docs/drift.md says it in words.)

A series (say, p95 LLM latency of one agent) is judged from small summaries per day and per week
(`measures.daily_summary`, `measures.quantile_summary`), by three tests:

- **week**: the week under test against the baseline's weeks (`baseline_days`, four weeks);
- **days**: the week's last k days (k = 1 … 6, the best k, its p multiplied by 6) against the same
  weekdays of the baseline's weeks, which catches a change that started inside the week and
  leaves weekday patterns alone;
- **trend**: the slope of the series' weekly values over `trend_weeks` weeks (ordinary least
  squares, Student's t on the residuals), which catches a slow creep no week-on-week test sees.

A test flags the series when all of these hold:
1. every window it reads has enough values (`min_sample`; for a percentile, `min_tail_values`
   beyond its upper neighbour: p95 needs 334, p99 2,000);
2. p < alpha / (tests run across every series): Bonferroni, so testing a hundred series does not
   raise five false flags;
3. the change is large enough to matter (`min_relative_change`, or `min_rate_change` points for a
   rate; for a trend, its change over the whole horizon);
4. for week and days: the change holds, in the same direction and by at least that much, against
   each baseline week on its own but at most one (of three or more), so a past one-off week
   neither raises a flag after it has passed nor hides a drift that came after it; for a trend:
   the latest half of the horizon still climbs (at half the slope or more), so a step that is
   over is not called a creep.

Estimates and their tests, from the summaries alone:
- a percentile of a window: the geometric mean of its days' (or weeks') exact percentiles, with
  the standard error of its log from Siddiqui's sparsity estimate (the spread between the
  percentiles either side, `measures.PERCENTILE_NEIGHBOURS`); tested with a z on the log ratio;
- a mean (cost, tokens): days combined exactly (count, sum, variance); Welch's t-test (Student's
  t with Welch–Satterthwaite degrees of freedom, not the normal, which flags too often on skewed
  costs at the small levels Bonferroni asks for);
- a rate (failures, interruptions): events and count; Fisher's exact test, which holds its level
  for rare events where a z-test does not.
Effects are relative changes (points for rates) with 95% intervals: delta method on the log
scale for percentiles and means, Newcombe's for rates.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.special

from warehouse import stats
from warehouse.drift.measures import PERCENTILE_NEIGHBOURS, PERCENTILES

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.toml")
DAY_SCAN = range(1, 7)  # the last k days tested inside a week


@dataclass(frozen=True)
class Thresholds:
    """When a series is flagged; the defaults live in thresholds.toml beside this module."""

    recent_days: int
    baseline_days: int
    trend_weeks: int
    alpha: float
    min_relative_change: float
    min_rate_change: float
    min_sample: int
    min_tail_values: int

    @property
    def baseline_weeks(self) -> int:
        return -(-self.baseline_days // self.recent_days)


def load_thresholds(overrides: Mapping[str, float] | None = None, path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The thresholds in `path`, with `overrides` on top; unknown names are refused."""
    values = {**tomllib.loads(path.read_text()), **(overrides or {})}
    known = {f.name for f in fields(Thresholds)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"Unknown drift thresholds: {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}.")
    return Thresholds(**values)


class Window(NamedTuple):
    """What a test needs of a stretch of one series: its count and estimate, and for a percentile
    the standard error of the estimate's log, for a mean its sample variance, for a rate its
    events. A named tuple: judging eight weeks makes ten thousand, and one takes half the time a
    frozen dataclass does to make."""

    n: int
    value: float
    log_se: float = math.nan
    var: float = math.nan
    events: int = 0


@dataclass(frozen=True)
class Series:
    """One series' windows by day and by week, counted back from the latest end day judged
    (day 0, week 0 = that day's week); a missing one had no values."""

    measure: str  # 'reply', 'stt', 'llm', 'tool', 'tts', 'cost', 'tokens', 'errors', 'interruptions'
    statistic: str  # 'p50', 'p95', 'p99', 'mean' or 'rate'
    group: str
    days: Mapping[int, Window]
    weeks: Mapping[int, Window]
    # Runs of days already combined (`_runs`), by first day and thresholds: a week's baselines are
    # the later weeks' own days, so judging eight weeks combined each run five times.
    combined: dict[tuple[int, Thresholds], list[Window]] = field(
        default_factory=dict, init=False, compare=False, repr=False)


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
    window: str = "week"  # 'week', 'days' or 'trend': the test the figures come from
    days: int = 7  # the days of the week the figures cover (the last k days for 'days')
    per_week: float | None = None  # a trend's change per week


TEST_NAMES = {
    "p50": "z on the log of the median",
    "p95": "z on the log of the p95",
    "p99": "z on the log of the p99",
    "mean": "Welch's t-test",
    "rate": "Fisher's exact test",
    "trend": "slope of the weekly values (t)",
}


# ---- windows ------------------------------------------------------------------------------------

def quantile_window(n: int, levels: Sequence[float], statistic: str) -> Window | None:
    """A percentile and its log standard error from the exact percentiles at its level and its
    neighbours' (Siddiqui): se = (Q(q+h) − Q(q−h)) / 2h · √(q(1−q)/n). None when not positive."""
    q = PERCENTILES[statistic]
    below, value, above = levels
    low, high = PERCENTILE_NEIGHBOURS[statistic]
    if not value > 0:
        return None
    se = (above - below) / (high - low) * math.sqrt(q * (1 - q) / n)
    return Window(n, value, log_se=se / value)


def moments_window(n: int, total: float, var: float | None, statistic: str) -> Window:
    """A mean's or a rate's window of one day from its count, sum and sample variance."""
    mean = total / n
    if statistic == "rate":
        return Window(n, mean, events=round(total))
    return Window(n, mean, var=var if var is not None and not math.isnan(var) else 0.0)


def combine(statistic: str, windows: Sequence[Window]) -> Window:
    """Windows as one: a percentile as the geometric mean of theirs (equal weights), its log se
    √Σse² / k; a mean with its variance exactly (Chan's parallel formula); a rate by its counts."""
    n = sum(w.n for w in windows)
    if statistic in PERCENTILES:
        k = len(windows)
        value = math.exp(sum(math.log(w.value) for w in windows) / k)
        return Window(n, value, log_se=math.sqrt(sum(w.log_se ** 2 for w in windows)) / k)
    if statistic == "rate":
        events = sum(w.events for w in windows)
        return Window(n, events / n, events=events)
    mean = sum(w.n * w.value for w in windows) / n
    m2 = sum((w.n - 1) * w.var + w.n * (w.value - mean) ** 2 for w in windows)
    return Window(n, mean, var=m2 / (n - 1) if n > 1 else 0.0)


def _enough(statistic: str, window: Window | None, thresholds: Thresholds) -> bool:
    if window is None:
        return False
    # A percentile's standard error reads the percentile just above it, which needs as many
    # values beyond it as the percentile itself.
    tail_ok = statistic not in PERCENTILES or window.n * (1 - PERCENTILE_NEIGHBOURS[statistic][1]) >= \
        thresholds.min_tail_values
    return window.n >= thresholds.min_sample and tail_ok


# ---- the two-window tests -------------------------------------------------------------------------

def _change(statistic: str, recent: float, baseline: float) -> float | None:
    if statistic == "rate":
        return recent - baseline
    return recent / baseline - 1 if baseline > 0 else None


def _min_change(statistic: str, thresholds: Thresholds) -> float:
    return thresholds.min_rate_change if statistic == "rate" else thresholds.min_relative_change


def compare(statistic: str, recent: Window, baseline: Window) -> stats.TestResult | None:
    """The stated test of `recent` against `baseline`."""
    if statistic in PERCENTILES:
        return stats.z_test(math.log(recent.value / baseline.value), math.hypot(recent.log_se, baseline.log_se))
    if statistic == "mean":
        return stats.welch_t_test(recent.value, math.sqrt(recent.var), recent.n,
                                  baseline.value, math.sqrt(baseline.var), baseline.n)
    return stats.fisher_exact_test(recent.events, recent.n, baseline.events, baseline.n)


def _interval(statistic: str, recent: Window, baseline: Window) -> stats.Interval | None:
    """The change's 95% interval, in the change's own terms (relative, or points)."""
    if statistic == "rate":
        return stats.difference_interval(recent.events, recent.n, baseline.events, baseline.n)
    if statistic in PERCENTILES:
        se_recent, se_baseline = recent.log_se, baseline.log_se
    else:
        se_recent, se_baseline = (math.sqrt(w.var / w.n) / w.value if w.value > 0 else math.nan
                                  for w in (recent, baseline))
    ratio = recent.value / baseline.value if baseline.value > 0 else math.nan
    if not (ratio > 0 and math.isfinite(se_recent) and math.isfinite(se_baseline)):
        return None
    low, high = stats.ratio_interval(ratio, se_recent, se_baseline)
    return low - 1, high - 1


@dataclass(frozen=True)
class _Tried:
    """A test run on one series: its verdict so far and its p (None: not run)."""

    verdict: SeriesVerdict
    p_value: float | None
    holds: bool = True  # the change holds against the baseline weeks (or, for a trend, still climbs)


@dataclass(frozen=True)
class _Pair:
    """Two windows compared: the recent one, the baseline's usable weeks and their combination."""

    recent: Window
    usable: list[Window]
    baseline: Window
    change: float
    p_value: float
    holds: bool


def _pair(statistic: str, recent: Window | None, baselines: list[Window | None], thresholds: Thresholds,
          scan: int) -> _Pair | str:
    """`recent` against the baseline windows combined (those with enough values), or why it
    cannot be tested; `scan` tests were tried to pick this one, so p is multiplied by it."""
    usable = [b for b in baselines if b is not None and _enough(statistic, b, thresholds)]
    if recent is None or not _enough(statistic, recent, thresholds) or len(usable) < 2:
        return "too few values to judge"
    baseline = combine(statistic, usable)
    change = _change(statistic, recent.value, baseline.value)
    result = compare(statistic, recent, baseline) if change is not None else None
    if result is None or change is None:
        return "nothing varies, so nothing to test"
    floor = _min_change(statistic, thresholds)
    against = sum(1 for b in usable if not _holds(statistic, recent.value, b.value, change, floor))
    holds = against <= (1 if len(usable) >= 3 else 0)
    return _Pair(recent, usable, baseline, change, min(1.0, result.p_value * scan), holds)


def _tried(series: Series, pair: _Pair | str, window: str, days: int) -> _Tried:
    s = series.statistic
    if isinstance(pair, str):
        return _Tried(SeriesVerdict(series.measure, s, series.group, 0, 0, window=window, days=days,
                                    test=TEST_NAMES[s], reason=pair), None)
    low, high = _interval(s, pair.recent, pair.baseline) or (None, None)
    verdict = SeriesVerdict(series.measure, s, series.group, pair.recent.n, pair.baseline.n, window=window, days=days,
                            test=TEST_NAMES[s], baseline_value=pair.baseline.value, recent_value=pair.recent.value,
                            change=pair.change, change_low=low, change_high=high, p_value=pair.p_value)
    return _Tried(verdict, pair.p_value, pair.holds)


def _holds(statistic: str, recent: float, baseline: float, change: float, floor: float) -> bool:
    against = _change(statistic, recent, baseline)
    return against is not None and against * change > 0 and abs(against) >= floor


def week_test(series: Series, week: int, thresholds: Thresholds) -> _Tried:
    """Week `week` against the `baseline_weeks` before it."""
    baselines = [series.weeks.get(week + b) for b in range(1, thresholds.baseline_weeks + 1)]
    pair = _pair(series.statistic, series.weeks.get(week), baselines, thresholds, scan=1)
    return _tried(series, pair, "week", thresholds.recent_days)


def days_test(series: Series, week: int, thresholds: Thresholds) -> _Tried:
    """The best of the week's last k days (k in `DAY_SCAN`) against the same weekdays of each
    baseline week; p is multiplied by the number of k tried."""
    first, length = week * thresholds.recent_days, thresholds.recent_days
    recent = _runs(series, first, thresholds)
    baselines = [_runs(series, first + b * length, thresholds) for b in range(1, thresholds.baseline_weeks + 1)]
    pairs: dict[int, _Pair | str] = {}
    for k in DAY_SCAN[:len(recent)]:  # a later k would read a day without enough values
        before = [runs[k - 1] if k <= len(runs) else None for runs in baselines]
        pairs[k] = _pair(series.statistic, recent[k - 1], before, thresholds, scan=len(DAY_SCAN))
    run = {k: p for k, p in pairs.items() if isinstance(p, _Pair)}
    if not run:
        return _tried(series, next(iter(pairs.values()), "too few values to judge"), "days", DAY_SCAN[-1])
    best = min(run, key=lambda k: (not run[k].holds, run[k].p_value))
    return _tried(series, run[best], "days", best)


def _runs(series: Series, first: int, thresholds: Thresholds) -> list[Window]:
    """The last 1, 2, … days from day `first` back, each run combined (the k days at k − 1), for as
    long as each day has enough values, up to the longest k scanned (kept on the series)."""
    key = (first, thresholds)
    runs = series.combined.get(key)
    if runs is None:
        days = []
        for day in range(first, first + DAY_SCAN[-1]):
            window = series.days.get(day)
            if window is None or not _enough(series.statistic, window, thresholds):
                break
            days.append(window)
        runs = series.combined[key] = [combine(series.statistic, days[:k]) for k in range(1, len(days) + 1)]
    return runs


def trend_test(series: Series, week: int, thresholds: Thresholds) -> _Tried:
    """The slope of the weekly values (their log, or the rate in points) over `trend_weeks` weeks
    ending with `week`, by least squares with Student's t on the residuals (weeks − 2 degrees of
    freedom), so the weeks' own spread, not only sampling noise, sets the bar."""
    s, k = series.statistic, thresholds.trend_weeks
    windows = [series.weeks.get(week + back) for back in range(k - 1, -1, -1)]  # oldest first
    counted = (series.measure, s, series.group, windows[-1].n if windows[-1] else 0,
               sum(w.n for w in windows[:-1] if w))
    shown: dict[str, Any] = {"window": "trend", "days": k * thresholds.recent_days, "test": TEST_NAMES["trend"]}
    if not all(_enough(s, w, thresholds) for w in windows):
        return _Tried(SeriesVerdict(*counted, **shown, reason="too few values to judge"), None)
    values = [w.value for w in windows if w is not None]
    if s != "rate" and min(values) <= 0:
        return _Tried(SeriesVerdict(*counted, **shown, reason="nothing varies, so nothing to test"), None)
    y = np.array(values if s == "rate" else np.log(values))
    fit = _slope_test(y)
    if fit is None:
        return _Tried(SeriesVerdict(*counted, **shown, reason="nothing varies, so nothing to test"), None)
    slope, p_value, (low, high) = fit
    latest = _slope(y[k // 2:])
    total = slope * (k - 1)
    change = total if s == "rate" else math.exp(total) - 1
    bounds = (low * (k - 1), high * (k - 1)) if s == "rate" else (math.exp(low * (k - 1)) - 1,
                                                                   math.exp(high * (k - 1)) - 1)
    verdict = SeriesVerdict(*counted, **shown, baseline_value=values[0], recent_value=values[-1], change=change,
                            p_value=p_value, change_low=bounds[0], change_high=bounds[1],
                            per_week=slope if s == "rate" else math.exp(slope) - 1)
    climbing = latest is not None and latest[0] * slope > 0 and abs(latest[0]) >= abs(slope) / 2
    return _Tried(verdict, p_value, climbing)


def _slope(y: np.ndarray) -> tuple[float, float] | None:
    """Least-squares slope of `y` against 0, 1, … and its standard error from the residuals;
    None when the points lie exactly on a line or are too few."""
    n = len(y)
    if n < 3:
        return None
    x = np.arange(n) - (n - 1) / 2
    sxx = float((x * x).sum())
    slope = float((x * (y - y.mean())).sum() / sxx)
    residuals = y - y.mean() - slope * x
    se = math.sqrt(float((residuals ** 2).sum()) / (n - 2) / sxx)
    return (slope, se) if se > 0 else None


def _slope_test(y: np.ndarray) -> tuple[float, float, stats.Interval] | None:
    """The slope, its two-sided p and 95% interval (Student's t, n − 2 degrees of freedom)."""
    fit = _slope(y)
    if fit is None:
        return None
    slope, se = fit
    df = len(y) - 2
    half = float(scipy.special.stdtrit(df, 0.975)) * se
    return slope, float(2 * scipy.special.stdtr(df, -abs(slope / se))), (slope - half, slope + half)


# ---- verdicts -------------------------------------------------------------------------------------

TESTS: tuple[Callable[[Series, int, Thresholds], _Tried], ...] = (week_test, days_test, trend_test)


def evaluate(series: Sequence[Series], thresholds: Thresholds, week: int = 0) -> list[SeriesVerdict]:
    """Every series' verdict for the week `week` weeks back; flagged ones first, biggest change
    first. A flagged series shows the test that flagged it (week before days before trend);
    otherwise its week test, with the reason none flagged it."""
    tried = [[test(s, week, thresholds) for test in TESTS] for s in series]
    run = sum(1 for tests in tried for t in tests if t.p_value is not None)
    level = thresholds.alpha / run if run else 0.0
    verdicts = [_verdict(tests, level, thresholds) for tests in tried]
    return sorted(verdicts, key=lambda v: (not v.flagged, -abs(v.change or 0)))


def _verdict(tests: list[_Tried], level: float, thresholds: Thresholds) -> SeriesVerdict:
    reasons = [_why_not(t, level, thresholds) for t in tests]
    for t, reason in zip(tests, reasons, strict=True):
        if t.p_value is not None and not reason:
            return replace(t.verdict, flagged=True, reason="")
    week = tests[0]
    if week.p_value is None:
        fallback = next((t for t in tests if t.p_value is not None), None)
        if fallback is not None:
            return replace(fallback.verdict, reason=reasons[tests.index(fallback)])
    return replace(week.verdict, reason=reasons[0] or week.verdict.reason)


def _why_not(tried: _Tried, level: float, thresholds: Thresholds) -> str:
    """Why a test did not flag its series; empty when it did."""
    v = tried.verdict
    if tried.p_value is None or v.change is None:
        return v.reason
    if tried.p_value >= level:
        return f"could be chance (needs p under {level:.2g})"
    if abs(v.change) < _min_change(v.statistic, thresholds):
        return "too small to matter"
    if not tried.holds:
        return "a rise that has stopped" if v.window == "trend" else "not against every baseline week"
    return ""


def tested(verdicts: Sequence[SeriesVerdict]) -> int:
    """Series that at least one test could judge."""
    return sum(1 for v in verdicts if v.p_value is not None)
