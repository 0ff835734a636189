"""Named read queries for the pages and the CLI. Each returns polars frames or plain values and
opens the warehouse only for as long as it runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import polars as pl
from ibis import _

from warehouse import metric_registry, metrics
from warehouse.engines import tables_for
from warehouse.filters import Filters
from warehouse.tables import Tables


@contextmanager
def reading() -> Iterator[Tables]:
    """The named tables on the configured engine (`CALLBOARD_ENGINE`, default the DuckDB file),
    for one unit of reading."""
    with tables_for() as tables:
        yield tables


@dataclass(frozen=True)
class FilterOptions:
    """What the sidebar can offer: the data's first and last day and the values seen."""

    first_day: date | None
    last_day: date | None
    agents: list[str]
    prompt_versions: list[str]
    models: list[str]

    @property
    def span(self) -> tuple[date, date]:
        """The first and last day with calls, for a warehouse that has been checked to have some."""
        assert self.first_day is not None and self.last_day is not None, "the warehouse has no calls"
        return self.first_day, self.last_day


def filter_options() -> FilterOptions:
    with reading() as t:
        c = t.calls
        span = c.aggregate(first_day=c.day.min(), last_day=c.day.max()).to_polars().row(0, named=True)

        def distinct(column: str) -> list[str]:
            values = c.select(column).distinct().to_polars()[column].drop_nulls()
            return sorted(values.to_list())

        return FilterOptions(
            first_day=span["first_day"],
            last_day=span["last_day"],
            agents=distinct("agent"),
            prompt_versions=distinct("prompt_version"),
            models=distinct("model"),
        )


def _conversation_sums(t: Tables, f: Filters, start: date, end: date) -> pl.DataFrame:
    """The conversation sums of calls in [start, end] per period and day: one pass over the calls
    that serves both the period figures and the daily trend."""
    calls = metrics.scoped_calls(t, f, start, end)
    calls = calls.mutate(period=metrics.period_label(calls.day, f))
    return metrics.conversation_sums(calls, ["period", "day"], metrics.dead_air_threshold_ms()).to_polars()


def _owned_metrics(t: Tables, f: Filters, by: str, start: date, end: date, talk: pl.DataFrame) -> pl.DataFrame:
    """Every owned metric grouped by `by` ('period' or 'day'), for calls in [start, end]; the
    conversation metrics from `talk` (`_conversation_sums` over at least those days)."""
    calls = metrics.scoped_calls(t, f, start, end)
    replies = metrics.agent_replies(t, f, start, end)
    if by == "period":
        calls = calls.mutate(period=metrics.period_label(_.day, f))
        replies = replies.mutate(period=metrics.period_label(_.day, f))
    days = talk.filter(pl.col("day").is_between(start, end))
    frames = [
        metrics.call_metrics(calls, t, [by]).to_polars(),
        metrics.latency_metrics(replies, [by], noise_shares=by == "period").to_polars(),
        metrics.judge_metrics(calls, t, [by]).to_polars(),
        metrics.conversation_from_sums(ibis.memtable(days), [by]).to_polars(),
    ]
    merged = frames[0]
    for frame in frames[1:]:
        merged = merged.join(frame, on=by, how="full", coalesce=True)
    return merged.sort(by)


@dataclass(frozen=True)
class Overview:
    """The overview page's data: one row per period ('current', 'previous') and one per day."""

    by_period: pl.DataFrame
    by_day: pl.DataFrame

    def value(self, period: str, key: str) -> float | int | None:
        return self.row(period).get(key)

    def row(self, period: str) -> dict[str, Any]:
        """One period's figures by column (empty when the period has no calls)."""
        rows = self.by_period.filter(pl.col("period") == period)
        return rows.row(0, named=True) if rows.height else {}

    def trend(self, m: metric_registry.Metric) -> pl.DataFrame:
        """A metric per day with its day-level n and, where its summary allows one, its 95%
        interval (`low`, `high`; null otherwise): columns day, <key>, n, low, high."""
        days = self.by_day.filter(pl.col(m.key).cast(pl.Float64).fill_nan(None).is_not_null())
        intervals = [m.interval(row) or (None, None) for row in days.iter_rows(named=True)]
        return days.select("day", m.key, n=pl.col(m.n_key)).with_columns(
            low=pl.Series([low for low, _ in intervals], dtype=pl.Float64),
            high=pl.Series([high for _, high in intervals], dtype=pl.Float64),
        )


def overview(f: Filters, previous_start: date | None = None) -> Overview:
    """The filters' period against the one before it: by default the same number of days, or
    from `previous_start` up to the day before the period (the deck's previous quarter)."""
    start = previous_start or f.previous().start
    with reading() as t:
        talk = _conversation_sums(t, f, start, f.end)
        return Overview(
            by_period=_owned_metrics(t, f, "period", start, f.end, talk),
            by_day=_owned_metrics(t, f, "day", f.start, f.end, talk),
        )


def period_metrics(f: Filters) -> dict[str, float | int | None]:
    """Every owned metric for the filters' period, keyed and ordered as the registry
    (`metric_registry.KEYS`); None where there is no data to compute it from."""
    with reading() as t:
        frame = _owned_metrics(t, f, "period", f.start, f.end, _conversation_sums(t, f, f.start, f.end))
    row = frame.row(0, named=True) if frame.height else {}
    result: dict[str, float | int | None] = {key: row.get(key) for key in metric_registry.KEYS}
    result["calls"] = result["calls"] or 0
    return result


def _week(day: ibis.Column) -> ibis.DateValue:
    return day.truncate("W").cast("date")


def wait_stages_by_week(f: Filters) -> pl.DataFrame:
    """The median of each stage of the caller's wait (`metrics.WAIT_STAGES`), per week (its
    Monday) and agent: a slow week shows which stage slowed."""
    with reading() as t:
        stages = metrics.wait_stages(t, f)
        stages = stages.inner_join(metrics.scoped_calls(t, f).select("call_id", "agent"), "call_id")
        stages = stages.mutate(week=_week(stages.day))
        medians = {stage: stages[stage].quantile(0.5) for stage in metrics.WAIT_STAGES}
        frame = stages.group_by("week", "agent").aggregate(replies=stages.count(), **medians).to_polars()
    return frame.sort("week", "agent")


def conversation_by_week(f: Filters) -> pl.DataFrame:
    """Per week (its Monday) and agent: the conversation metrics (`metrics.conversation_metrics`)."""
    with reading() as t:
        calls = metrics.scoped_calls(t, f)
        calls = calls.mutate(week=_week(calls.day))
        frame = metrics.conversation_metrics(calls, ["week", "agent"], metrics.dead_air_threshold_ms()).to_polars()
    return frame.sort("week", "agent")
