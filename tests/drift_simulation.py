"""Simulated drift series with a known truth, for tests/test_drift_flags.py.

Raw values are drawn per day (latencies lognormal, costs gamma, failures 0/1), multiplied by a
known pattern (a creep, a step, a one-off week), and summarised per day and week here with polars,
an independent computation of what `warehouse.drift.measures` asks the engine for (exact
percentiles with linear interpolation, counts, sums, sample variances). The flags then judge the
summaries exactly as on the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl

from warehouse.drift.detection import Series, Thresholds
from warehouse.drift.measures import SUMMARY_LEVELS
from warehouse.drift.queries import DriftSummaries, series_from

END = date(2026, 11, 22)
DAYS = 15 * 7  # the history strip's 8 weeks and the 7 weeks its oldest trend reads before them

Pattern = Callable[[np.ndarray], np.ndarray]  # days back → multiplier


def steady(back: np.ndarray) -> np.ndarray:
    return np.ones_like(back, dtype=float)


def creep(per_week: float) -> Pattern:
    """Grows by `per_week` every week, up to the end day."""
    return lambda back: (1 + per_week) ** (-back / 7)


def step(size: float, days_left: int) -> Pattern:
    """Up by `size` on the last `days_left` days."""
    return lambda back: np.where(back < days_left, 1 + size, 1.0)


def one_off(size: float, week: int) -> Pattern:
    """Up by `size` for one week, `week` weeks back."""
    return lambda back: np.where(back // 7 == week, 1 + size, 1.0)


def draws(rng: np.random.Generator, per_day: int, draw: Callable[[np.random.Generator, int], np.ndarray],
          pattern: Pattern = steady) -> tuple[np.ndarray, np.ndarray]:
    """`per_day` values a day for `DAYS` days: (days back, value)."""
    back = np.repeat(np.arange(DAYS), per_day)
    return back, draw(rng, len(back)) * pattern(back)


def latency(sigma: float = 0.45) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: 500 * rng.lognormal(0, sigma, n)


def cost(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.gamma(4, 0.02, n)


def failures(rate: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    return lambda rng, n: (rng.random(n) < rate).astype(float)


def frame(measure: str, group: str, drawn: tuple[np.ndarray, np.ndarray]) -> pl.DataFrame:
    back, values = drawn
    return pl.DataFrame({"measure": measure, "group": group, "back": back, "value": values})


def summarise(latency_rows: list[pl.DataFrame], moment_rows: list[pl.DataFrame], end: date = END,
              days: int = DAYS) -> DriftSummaries:
    """What the engine returns, computed with polars: per day (and week) n and the percentiles at
    `SUMMARY_LEVELS` for latencies; per day n, sum and sample variance for the rest (rows:
    measure, group, back (days back from `end`), value)."""
    quantiles = []
    if latency_rows:
        values = pl.concat(latency_rows)
        for unit, length in (("day", 1), ("week", 7)):
            by = values.with_columns(pl.col("back") // length)
            quantiles.append(by.group_by("measure", "group", "back").agg(
                n=pl.len(), q=pl.concat_list([pl.col("value").quantile(q, "linear") for q in SUMMARY_LEVELS]),
            ).with_columns(unit=pl.lit(unit)))
    moments = pl.concat(moment_rows).group_by("measure", "group", "back").agg(
        n=pl.len(), total=pl.col("value").sum(), var=pl.col("value").var(ddof=1)) if moment_rows else pl.DataFrame(
        schema={"measure": pl.String, "group": pl.String, "back": pl.Int64, "n": pl.UInt32, "total": pl.Float64,
                "var": pl.Float64})
    empty = pl.DataFrame(schema={"measure": pl.String, "group": pl.String, "back": pl.Int64, "n": pl.UInt32,
                                 "q": pl.List(pl.Float64), "unit": pl.String})
    return DriftSummaries(end, days, moments, pl.concat(quantiles) if quantiles else empty)


def simulate(latency_rows: list[pl.DataFrame], moment_rows: list[pl.DataFrame], thresholds: Thresholds) -> list[Series]:
    return series_from(summarise(latency_rows, moment_rows), thresholds)


