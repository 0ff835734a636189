"""Read queries for the drift page: the trends to chart, the changes to mark on them, and the
drift flags for the week that ends on a chosen day. Each returns polars frames or plain values and
opens the warehouse only while it reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from warehouse import prompt_history
from warehouse.drift import measures
from warehouse.drift.detection import PERCENTILES, Series, SeriesVerdict, Thresholds, evaluate
from warehouse.filters import Filters
from warehouse.queries import reading


@dataclass(frozen=True)
class DriftTrends:
    """One row per bucket (day or week) and series: `latency` (measure 'reply' or a step kind,
    group, n, p50, p95, p99), `usage` (group, calls, cost_per_call_usd, tokens_per_call), and
    the failure rates of `tool_errors` (group = tool) and `model_errors` (group = model)."""

    latency: pl.DataFrame
    usage: pl.DataFrame
    tool_errors: pl.DataFrame
    model_errors: pl.DataFrame


def drift_trends(f: Filters, grain: str, group: str) -> DriftTrends:
    """The drift page's trends for the filters' period, per `grain` ('day' or 'week') and per
    `group` ('agent', 'model' or 'prompt')."""
    if group not in measures.GROUPINGS:
        raise ValueError(f"Group by one of {', '.join(measures.GROUPINGS)}, not {group!r}.")
    with reading() as t:
        steps = measures.with_bucket(measures.steps(t, f, f.start, f.end), grain)
        replies = measures.with_bucket(measures.replies(t, f, f.start, f.end), grain)
        calls = measures.with_bucket(measures.grouped_calls(t, f, f.start, f.end), grain)
        step_latency = measures.step_latency(steps, ["bucket", "kind", group]).rename(measure="kind").to_polars()
        reply_latency = measures.reply_latency(replies, ["bucket", group]).to_polars()
        usage = measures.usage(calls, t, ["bucket", group]).to_polars()
        tools = steps.filter(steps.kind == "tool", steps.tool_name.notnull())
        llms = steps.filter(steps.kind == "llm", steps.step_model.notnull())
        tool_errors = measures.step_errors(tools, ["bucket", "tool_name"]).to_polars()
        model_errors = measures.step_errors(llms, ["bucket", "step_model"]).to_polars()
    reply_latency = reply_latency.with_columns(measure=pl.lit("reply"))
    latency = pl.concat([step_latency, reply_latency.select(step_latency.columns)], how="vertical_relaxed")
    return DriftTrends(
        latency=latency.rename({group: "group"}).sort("bucket", "measure", "group"),
        usage=usage.rename({group: "group"}).sort("bucket", "group"),
        tool_errors=tool_errors.rename({"tool_name": "group"}).sort("bucket", "group"),
        model_errors=model_errors.rename({"step_model": "group"}).sort("bucket", "group"),
    )


def change_markers() -> pl.DataFrame:
    """Every day a prompt version or a model went live for an agent: day, agent, kind ('prompt'
    or 'model'), what (the version or model) and a short label."""
    with reading() as t:
        models = measures.model_debuts(t).to_polars()
    prompts = prompt_history.prompt_versions().filter(pl.col("deployed_at").is_not_null())
    prompt_rows = prompts.select(
        day=pl.col("deployed_at").dt.date(), agent="agent", kind=pl.lit("prompt"), what="version"
    )
    model_rows = models.select(pl.col("day").cast(pl.Date), "agent", kind=pl.lit("model"), what="model")
    markers = pl.concat([prompt_rows, model_rows])
    label = pl.when(pl.col("kind") == "prompt").then(pl.format("{} prompt {}", "agent", "what"))
    markers = markers.with_columns(label=label.otherwise(pl.format("{} → {}", "agent", "what")))
    return markers.sort("day", "agent")


@dataclass(frozen=True)
class DriftSamples:
    """The values behind the flags for one end day, each row with its `week`: 0 for the recent
    week, 1, 2, … for the baseline's weeks counting back."""

    steps: pl.DataFrame  # week, kind, agent, model, prompt, tool_name, step_model, duration_ms, is_error
    replies: pl.DataFrame  # week, agent, model, prompt, response_latency_ms
    calls: pl.DataFrame  # week, agent, model, prompt, cost_usd, tokens


def drift_samples(f: Filters, end: date, thresholds: Thresholds) -> DriftSamples:
    start = end - timedelta(days=thresholds.recent_days + thresholds.baseline_days - 1)
    scope = replace(f, start=start, end=end)
    with reading() as t:
        steps = measures.steps(t, scope, start, end).to_polars()
        replies = measures.replies(t, scope, start, end).to_polars()
        calls = measures.grouped_calls(t, scope, start, end)
        calls = calls.mutate(cost_usd=calls.cost_usd.fill_null(0), tokens=measures.call_tokens(calls)).to_polars()
    week = ((pl.lit(end) - pl.col("day")).dt.total_days() // thresholds.recent_days).alias("week")
    return DriftSamples(steps.with_columns(week), replies.with_columns(week), calls.with_columns(week))


def _series(frame: pl.DataFrame, measure: str, by: str, column: str, statistics: tuple[str, ...],
            thresholds: Thresholds) -> list[Series]:
    weeks = range(1, -(-thresholds.baseline_days // thresholds.recent_days) + 1)
    found = []
    for (group,), rows in frame.filter(pl.col(by).is_not_null()).group_by([by], maintain_order=True):
        values = {w: rows.filter(pl.col("week") == w)[column].cast(pl.Float64).to_numpy() for w in (0, *weeks)}
        baseline = np.concatenate([values[w] for w in weeks])
        found += [Series(measure, s, str(group), values[0], baseline, tuple(values[w] for w in weeks))
                  for s in statistics]
    return found


def drift_series(samples: DriftSamples, group: str, thresholds: Thresholds) -> list[Series]:
    """Every series the flags judge: reply and step latency (p50, p95, p99), cost and tokens per
    call, per `group`; the failure rate of each tool and each model."""
    percentiles = tuple(PERCENTILES)
    found = _series(samples.replies, "reply", group, "response_latency_ms", percentiles, thresholds)
    for kind in measures.STEP_KINDS:
        steps = samples.steps.filter(pl.col("kind") == kind)
        found += _series(steps, kind, group, "duration_ms", percentiles, thresholds)
    found += _series(samples.calls, "cost", group, "cost_usd", ("mean",), thresholds)
    found += _series(samples.calls, "tokens", group, "tokens", ("mean",), thresholds)
    for kind, by in (("tool", "tool_name"), ("llm", "step_model")):
        steps = samples.steps.filter(pl.col("kind") == kind)
        found += _series(steps, "errors", by, "is_error", ("rate",), thresholds)
    return found


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

    def change_behind(self, verdict: SeriesVerdict, since: date) -> dict | None:
        """The latest change from `since` to the end that concerns the verdict's group (an
        agent, a model or an agent's prompt version), if any."""
        recent = self.markers.filter(pl.col("day") >= since)
        concerns = (pl.col("agent") == verdict.group) | (pl.col("what") == verdict.group) | (
            pl.format("{} {}", "agent", "what") == verdict.group)
        found = recent.filter(concerns)
        return found.row(-1, named=True) if found.height else None


def drift_flags(f: Filters, group: str, thresholds: Thresholds, end: date | None = None) -> DriftFlags:
    """Judge every series' last `recent_days` up to `end` (default the filters' last day)
    against the `baseline_days` before."""
    end = end or f.end
    recent_start = end - timedelta(days=thresholds.recent_days - 1)
    baseline_start = recent_start - timedelta(days=thresholds.baseline_days)
    verdicts = evaluate(drift_series(drift_samples(f, end, thresholds), group, thresholds), thresholds)
    markers = change_markers().filter(pl.col("day").is_between(baseline_start, end))
    if f.agents:
        markers = markers.filter(pl.col("agent").is_in(f.agents))
    return DriftFlags(end, recent_start, baseline_start, verdicts, markers)
