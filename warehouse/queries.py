"""Named read queries for the pages and the CLI. Each returns polars frames or plain values and
opens the warehouse only for as long as it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import polars as pl

from warehouse import metric_registry, metrics, prepared
from warehouse.engines import Source, source, tables_for
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


Grouping = tuple[str, date]  # group by 'period' or 'day', over the days from this one on
_KEYS = {"period": ibis.null("string"), "day": ibis.null("date")}


def _owned_metric_expressions(t: Tables, params: prepared.Params, groupings: tuple[tuple[str, bool], ...],
                              dead_air_ms: int) -> list[ibis.Table]:
    """Every owned metric for the calls from `from` to the filters' (`f`) end, per grouping: one
    expression per kind of figure for every grouping (`_each_way`: joining the calls to their
    outcomes is the costly part at a million calls), then reply latency per grouping. A grouping
    `(by, True)` reads only the days from its own first day (`<by>.from`)."""
    f = prepared.filter_params(params, "f")

    def since(rows: ibis.Table, by: str, narrowed: bool) -> ibis.Table:
        return rows.filter(rows.day >= params[f"{by}.from"]) if narrowed else rows

    def each_way(figures: Callable[[ibis.Table, list[str]], ibis.Table], rows: ibis.Table) -> ibis.Table:
        """`figures` of `rows` for each grouping, in one query: a union of the groupings over `rows`
        once (DuckDB computes a subquery used twice once), so a join that makes `rows` is paid once."""
        parts = []
        for by, narrowed in groupings:
            part = figures(since(rows, by, narrowed), [by]).mutate(**{k: v for k, v in _KEYS.items() if k != by})
            part = part.select(*_KEYS, *(c for c in part.columns if c not in _KEYS))
            parts.append(part.cast({key: value.type() for key, value in _KEYS.items()}))  # both nullable
        return ibis.union(*parts) if len(parts) > 1 else parts[0]

    calls = metrics.scoped_calls(t, f, params["from"], f.end)
    calls = calls.mutate(period=metrics.period_label(calls.day, f))
    replies = metrics.agent_replies(t, f, params["from"], f.end)
    replies = replies.mutate(period=metrics.period_label(replies.day, f))
    return [
        each_way(metrics.call_figures, metrics.with_outcomes(calls, t)),
        each_way(metrics.judge_figures, metrics.judged_calls(calls.select("call_id", "day", "period"), t)),
        each_way(lambda c, by: metrics.conversation_metrics(c, by, dead_air_ms), calls),
        *(metrics.latency_metrics(since(replies, by, narrowed), [by], noise_shares=by == "period")
          for by, narrowed in groupings),
    ]


def _by_grouping(frame: pl.DataFrame, groupings: Sequence[Grouping]) -> list[pl.DataFrame]:
    """One kind's frame (all groupings in one) split into one frame per grouping."""
    return [frame.filter(pl.col("day").is_null() if by == "period" else pl.col("day").is_not_null())
            .drop(next(k for k in _KEYS if k != by)) for by, _ in groupings]


def _owned_metrics(source: Source, f: Filters, start: date, groupings: Sequence[Grouping]) -> list[pl.DataFrame]:
    """Every owned metric for the calls from `start` to the filters' end, one frame per grouping
    (`_owned_metric_expressions`, compiled once per shape: the days and lists are parameters)."""
    narrowed = tuple((by, first > start) for by, first in groupings)
    values = prepared.filter_values(f, "f") | {"from": start}
    values |= {f"{by}.from": first for by, first in groupings if first > start}
    found = prepared.frames(source, _owned_metric_expressions, (narrowed, metrics.dead_air_threshold_ms()), values)
    kinds = [_by_grouping(frame, groupings) for frame in found[:3]] + [found[3:]]
    frames = []
    for grouping, parts in zip(groupings, zip(*kinds, strict=True), strict=True):
        by = grouping[0]
        merged = parts[0]
        for frame in parts[1:]:
            merged = merged.join(frame, on=by, how="full", coalesce=True)
        frames.append(merged.sort(by))
    return frames


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
    with source() as opened:
        by_period, by_day = _owned_metrics(opened, f, start, [("period", start), ("day", f.start)])
    return Overview(by_period=by_period, by_day=by_day)


def period_metrics(f: Filters) -> dict[str, float | int | None]:
    """Every owned metric for the filters' period, keyed and ordered as the registry
    (`metric_registry.KEYS`); None where there is no data to compute it from."""
    with source() as opened:
        (frame,) = _owned_metrics(opened, f, f.start, [("period", f.start)])
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
