"""Read queries for the drift page: the trends to chart, the changes to mark on them, and the
drift flags for the week that ends on a chosen day. Each returns polars frames or plain values and
opens the warehouse only while it reads."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import polars as pl

from warehouse import metrics, prepared, prompt_history
from warehouse.drift import measures
from warehouse.drift.detection import (
    PERCENTILES,
    Series,
    SeriesVerdict,
    Thresholds,
    Window,
    combine,
    evaluate,
    moments_window,
    quantile_window,
)
from warehouse.engines import source
from warehouse.filters import Filters
from warehouse.tables import Tables


@dataclass(frozen=True)
class DriftTrends:
    """One row per bucket and series. A bucket is a day, or a week of the flags' (the 7 days to
    the period's last day, and each 7 days before, back to the week holding its first day),
    dated by its first day, so a weekly point is the figure the flags judged for that week.
    `latency` (measure 'reply' or a step kind, group, n, p50, p95, p99), `usage` (group, calls,
    cost_per_call_usd, tokens_per_call), `talking_over` (group, voice_calls, interruption_rate)
    and the failures of `tool_errors` (group = tool) and `model_errors` (group = model: n, failed,
    error_rate) come from the flags' summaries (`trends_from`)."""

    latency: pl.DataFrame
    usage: pl.DataFrame
    talking_over: pl.DataFrame
    tool_errors: pl.DataFrame
    model_errors: pl.DataFrame


def period_weeks(start: date, end: date) -> int:
    """The weeks (the 7 days to `end`, and each 7 before) that cover the days from `start`."""
    return max(1, -(-((end - start).days + 1) // measures.WEEK))


def _bucket(end: date, grain: str) -> pl.Expr:
    """A summary row's bucket from its `back`: the day that many days before `end`, or the first
    day of the week that many weeks before the one ending on `end`."""
    days = pl.col("back") if grain == "day" else pl.col("back") * measures.WEEK + measures.WEEK - 1
    return (pl.lit(end) - pl.duration(days=days)).alias("bucket")


def _shown(end: date, start: date, grain: str) -> pl.Expr:
    """The rows of the buckets that cover the period from `start` to `end`."""
    return pl.col("back") < ((end - start).days + 1 if grain == "day" else period_weeks(start, end))


def trends_from(summaries: DriftSummaries, grain: str, start: date) -> DriftTrends:
    """The period's trends (from `start` to the summaries' end) out of the flags' summaries,
    which cover it: no second pass over the replies, steps or calls. Daily and weekly figures are
    the summaries' own: percentiles per day or week as the engine computed them, means and shares
    (a failure is a 1, so a day's total is its failed steps) from the days' counts and sums."""
    end = summaries.end
    quantiles = summaries.quantiles.filter(pl.col("unit") == grain, _shown(end, start, grain))
    at = {name: pl.col("q").list.get(measures.SUMMARY_LEVELS.index(q)) for name, q in PERCENTILES.items()}
    latency = quantiles.select(_bucket(end, grain), "measure", "group", "n", **at)
    moments = summaries.moments
    if grain == "week":
        moments = moments.with_columns(pl.col("back") // measures.WEEK)
    moments = moments.filter(_shown(end, start, grain)).group_by("measure", "group", "back").agg(
        pl.col("n").sum(), pl.col("total").sum())
    moments = moments.select(_bucket(end, grain), "measure", "group", "n", "total",
                             mean=pl.col("total") / pl.col("n"))

    def mean_of(measure: str) -> pl.DataFrame:
        return moments.filter(pl.col("measure") == measure).drop("measure")

    tokens, cost = mean_of("tokens"), mean_of("cost")
    usage = tokens.join(cost.select("bucket", "group", cost_per_call_usd="mean"), on=["bucket", "group"], how="left")
    usage = usage.select("bucket", "group", calls="n", cost_per_call_usd="cost_per_call_usd", tokens_per_call="mean")
    talking = mean_of("interruptions").select("bucket", "group", voice_calls="n", interruption_rate="mean")

    def failures_of(measure: str) -> pl.DataFrame:
        failures = mean_of(measure).select("bucket", "group", "n", failed=pl.col("total").cast(pl.Int64),
                                           error_rate="mean")
        return failures.sort("bucket", "group")

    return DriftTrends(
        latency=latency.sort("bucket", "measure", "group"),
        usage=usage.sort("bucket", "group"),
        talking_over=talking.sort("bucket", "group"),
        tool_errors=failures_of("tool_errors"),
        model_errors=failures_of("model_errors"),
    )


def drift_trends(f: Filters, grain: str, group: str, thresholds: Thresholds) -> DriftTrends:
    """The drift page's trends for the filters' period, per `grain` ('day' or 'week') and per
    `group` ('agent', 'model' or 'prompt'), from the history's summaries (`drift_history`)."""
    history = drift_history(history_filters(f, thresholds), group, thresholds)
    return trends_from(history.summaries, grain, f.start)


def _marker_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """The models and end-of-turn settings each agent switched to, and when (`change_markers`)."""
    return [measures.model_debuts(t), measures.end_of_turn_debuts(t)]


def change_markers() -> pl.DataFrame:
    """Every day a prompt version, a model or an end-of-turn setting went live for an agent: day,
    agent, kind ('prompt', 'model' or 'end_of_turn'), what (the version, model or setting) and a
    short label."""
    with source() as opened:
        models, settings = prepared.frames(opened, _marker_expressions, (), {})
    prompts = prompt_history.prompt_versions().filter(pl.col("deployed_at").is_not_null())
    prompt_rows = prompts.select(
        day=pl.col("deployed_at").dt.date(), agent="agent", kind=pl.lit("prompt"), what="version"
    )
    model_rows = models.select(pl.col("day").cast(pl.Date), "agent", kind=pl.lit("model"), what="model")
    setting_rows = settings.select(pl.col("day").cast(pl.Date), "agent", kind=pl.lit("end_of_turn"), what="setting")
    markers = pl.concat([prompt_rows, model_rows, setting_rows])
    label = (pl.when(pl.col("kind") == "prompt").then(pl.format("{} prompt {}", "agent", "what"))
             .when(pl.col("kind") == "end_of_turn").then(pl.format("{} end of turn: {}", "agent", "what")))
    markers = markers.with_columns(label=label.otherwise(pl.format("{} → {}", "agent", "what")))
    return markers.sort("day", "agent", "kind", "what")  # two models can debut for an agent on one day


def _wait_stage_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """`wait_stages_by_week` over the filters' (`f`) days, per week back from their last."""
    f = prepared.filter_params(params, "f")
    stages = metrics.wait_stages(t, f)
    stages = stages.mutate(back=measures.days_back(stages.day, f.end) // measures.WEEK)
    medians = {stage: stages[stage].quantile(0.5) for stage in metrics.WAIT_STAGES}
    return [stages.group_by("back").aggregate(replies=stages.count(), **medians)]


def wait_stages_by_week(f: Filters) -> pl.DataFrame:
    """Per week of the trends' (`DriftTrends`: the 7 days to the period's last day and each 7
    before; `bucket` its first day): the replies and the median of each stage of the caller's
    wait (`metrics.wait_stages`), over every agent in scope."""
    weeks = period_weeks(f.start, f.end)
    scope = replace(f, start=f.end - timedelta(days=weeks * measures.WEEK - 1))
    with source() as opened:
        (frame,) = prepared.frames(opened, _wait_stage_expressions, (), prepared.filter_values(scope, "f"))
    return frame.select(_bucket(f.end, "week"), pl.exclude("back")).sort("bucket")


RATE_MEASURES = ("tool_errors", "model_errors", "interruptions")
SERIES_MEASURES = {"tool_errors": "errors", "model_errors": "errors"}  # a tool's or a model's: one word for both


@dataclass(frozen=True)
class DriftSummaries:
    """What the engine hands back for the flags: per measure, group and day (`back`: days back
    from `end`), `moments` (n, total, var) and `quantiles` (n, q: the percentiles at
    `measures.SUMMARY_LEVELS`; `unit` 'day' or 'week', then `back` counts weeks)."""

    end: date
    days: int
    moments: pl.DataFrame
    quantiles: pl.DataFrame

    @property
    def first_day(self) -> date:
        return self.end - timedelta(days=self.days - 1)


def _summary_expressions(t: Tables, params: prepared.Params, group: str) -> list[ibis.Table]:
    """The summaries as the engine computes them, over the filters' (`f`) days: values in, a few
    hundred rows per series family out (`moments`, then `quantiles`). Latency percentiles per
    day, the costliest part, only from `daily_from` on (the days the last-days test reads, and the
    period's for the daily trends)."""
    f = prepared.filter_params(params, "f")
    latency = measures.latency_values(t, f, f.start, f.end, group)
    means, rates = measures.mean_values(t, f, f.start, f.end, group), measures.rate_values(t, f, f.start, f.end, group)
    recent = latency.filter(latency.day >= params["daily_from"])
    daily = measures.quantile_summary(recent, f.end, 1).mutate(unit=ibis.literal("day"))
    weekly = measures.quantile_summary(latency, f.end, measures.WEEK).mutate(unit=ibis.literal("week"))
    return [measures.daily_summary(means.union(rates), f.end), daily.union(weekly)]


def drift_summaries(f: Filters, group: str, end: date, days: int, daily_days: int) -> DriftSummaries:
    """The summaries of every series for the `days` days up to `end` (daily percentiles for the
    last `daily_days`)."""
    if group not in measures.GROUPINGS:
        raise ValueError(f"Group by one of {', '.join(measures.GROUPINGS)}, not {group!r}.")
    values = prepared.filter_values(replace(f, start=end - timedelta(days=days - 1), end=end), "f")
    values["daily_from"] = end - timedelta(days=daily_days - 1)
    with source() as opened:
        moments, quantiles = prepared.frames(opened, _summary_expressions, (group,), values)
    return DriftSummaries(end, days, moments, quantiles)


def series_from(summaries: DriftSummaries, thresholds: Thresholds) -> list[Series]:
    """Every series the flags judge, from the summaries: the caller's wait and each step's
    latency (p50, p95, p99), cost and tokens per call, per group; the failure rate of each tool and
    each model; the share of calls with an interruption, per group."""
    found = []
    percentiles: dict[tuple[str, str], dict[str, dict[int, tuple[int, list[float]]]]] = {}
    for measure, group, unit, back, n, q in summaries.quantiles.select(
            "measure", "group", "unit", "back", "n", "q").iter_rows():  # one pass: rows by series, unit and back
        percentiles.setdefault((measure, group), {"day": {}, "week": {}})[unit][back] = (n, q)
    for (measure, group), by_unit in sorted(percentiles.items()):
        for statistic in PERCENTILES:
            found.append(Series(measure, statistic, group, _quantile_windows(by_unit["day"], statistic),
                                _quantile_windows(by_unit["week"], statistic)))
    moments: dict[tuple[str, str], dict[int, Window]] = {}
    for measure, group, back, n, total, var in summaries.moments.select(
            "measure", "group", "back", "n", "total", "var").iter_rows():
        days = moments.setdefault((measure, group), {})
        if n:
            days[back] = moments_window(n, total, var, "rate" if measure in RATE_MEASURES else "mean")
    for (measure, group), days in sorted(moments.items()):
        statistic = "rate" if measure in RATE_MEASURES else "mean"
        weeks = {}
        for week in {back // thresholds.recent_days for back in days}:
            span = range(week * thresholds.recent_days, (week + 1) * thresholds.recent_days)
            weeks[week] = combine(statistic, [days[d] for d in span if d in days])
        found.append(Series(SERIES_MEASURES.get(measure, measure), statistic, group, days, weeks))
    return found


def _quantile_windows(rows: dict[int, tuple[int, list[float]]], statistic: str) -> dict[int, Window]:
    levels = measures.SUMMARY_LEVELS
    low, high = measures.PERCENTILE_NEIGHBOURS[statistic]
    at = [levels.index(low), levels.index(PERCENTILES[statistic]), levels.index(high)]
    windows = {back: quantile_window(n, [q[i] for i in at], statistic) for back, (n, q) in rows.items()}
    return {back: w for back, w in windows.items() if w is not None}


@dataclass(frozen=True)
class DriftFlags:
    """The verdict on every series for the week ending `end`, and the changes that went live in it."""

    end: date
    recent_start: date
    baseline_start: date
    verdicts: list[SeriesVerdict]
    markers: pl.DataFrame  # the changes (see `change_markers`) between baseline_start and end

    @property
    def flagged(self) -> list[SeriesVerdict]:
        return [v for v in self.verdicts if v.flagged]

    @property
    def tested(self) -> int:
        return sum(1 for v in self.verdicts if v.p_value is not None)

    @functools.cached_property
    def _marker_rows(self) -> list[dict]:
        return self.markers.rows(named=True)

    def change_behind(self, verdict: SeriesVerdict, since: date) -> dict | None:
        """The latest change from `since` to the end that concerns the verdict's group (an
        agent, a model or an agent's prompt version), if any. Looked up in plain Python: a
        page's sentences ask this a few dozen times of a few dozen markers, and a polars filter
        for each took a third of the page's rerun."""
        group = verdict.group
        found = [m for m in self._marker_rows
                 if m["day"] >= since and group in (m["agent"], m["what"], f"{m['agent']} {m['what']}")]
        return found[-1] if found else None


HISTORY_WEEKS = 8  # the weeks the page's history strip judges


@dataclass(frozen=True)
class DriftHistory:
    """The flags of several weeks, newest first, and the daily summaries they were judged on."""

    weeks: list[DriftFlags]
    summaries: DriftSummaries


def drift_history(f: Filters, group: str, thresholds: Thresholds, weeks: int = HISTORY_WEEKS,
                  end: date | None = None,
                  markers: pl.DataFrame | Callable[[], pl.DataFrame] | None = None) -> DriftHistory:
    """The flags of `weeks` weeks, newest first: the week ending on `end` (default the filters'
    last day), the one ending 7 days before, and so on; one read of the engine for all of them.
    Its summaries also cover the filters' period (from their first day), for `trends_from`.
    `markers`: the `change_markers`, or what gives them (asked once the summaries are read, so a
    read of them started before runs beside the summaries'), when the caller keeps them."""
    end = end or f.end
    reach = max(_read_days(thresholds, weeks) // thresholds.recent_days, period_weeks(f.start, end))
    daily = max(_tested_days(thresholds, weeks), (end - f.start).days + 1)
    summaries = drift_summaries(f, group, end, reach * thresholds.recent_days, daily)
    series = series_from(summaries, thresholds)
    if not isinstance(markers, pl.DataFrame):
        markers = (markers or change_markers)()
    if f.agents:
        markers = markers.filter(pl.col("agent").is_in(f.agents))
    flags = [_flags(series, week, end - timedelta(days=week * thresholds.recent_days), markers, thresholds)
             for week in range(weeks)]
    return DriftHistory(flags, summaries)


def _tested_days(thresholds: Thresholds, weeks: int) -> int:
    """The days back from the end whose daily figures the last-days test reads, for `weeks` weeks."""
    return (weeks + thresholds.baseline_weeks) * thresholds.recent_days


def _read_days(thresholds: Thresholds, weeks: int) -> int:
    """The days back from the end the history reads in any case: its `weeks` weeks and the weeks
    before the oldest that its week and trend tests read."""
    return (weeks + max(thresholds.baseline_weeks, thresholds.trend_weeks - 1)) * thresholds.recent_days


def history_filters(f: Filters, thresholds: Thresholds, weeks: int = HISTORY_WEEKS) -> Filters:
    """`f` with its first day moved back to the first one the history reads anyway, so that every
    period within those days (15 weeks) shares one history and one cached read: 28 days, then 90
    to the same day, read the engine once. The daily percentiles then cover those days too, a
    quarter more than the last-days test reads (84 of 105), for the daily trends of any such period."""
    return replace(f, start=min(f.start, f.end - timedelta(days=_read_days(thresholds, weeks) - 1)))


def _flags(series: list[Series], week: int, end: date, markers: pl.DataFrame, thresholds: Thresholds) -> DriftFlags:
    recent_start = end - timedelta(days=thresholds.recent_days - 1)
    baseline_start = recent_start - timedelta(days=thresholds.baseline_days)
    shown = markers.filter(pl.col("day").is_between(baseline_start, end))
    return DriftFlags(end, recent_start, baseline_start, evaluate(series, thresholds, week), shown)


def drift_flags(f: Filters, group: str, thresholds: Thresholds, end: date | None = None) -> DriftFlags:
    """Judge every series' last `recent_days` up to `end` (default the filters' last day)
    against the `baseline_days` before (and its trend and last days)."""
    return drift_history(f, group, thresholds, weeks=1, end=end).weeks[0]
