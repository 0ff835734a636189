"""The engineering drift figures, each defined once as an ibis expression over the named tables:
latency percentiles per pipeline step and per reply, tokens per call, and the failure rate of
each tool and model. Cost per call and the reply rows come from `warehouse.metrics`, so the drift
page and the overview agree to the cent and the millisecond.

A step is one span of the voice pipeline: speech-to-text (stt), the language model (llm), a
tool call (tool) or text-to-speech (tts). Steps and replies are grouped by their call's agent,
model or prompt version, and belong to their call's day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import ibis

from warehouse import metrics
from warehouse.filters import Filters
from warehouse.tables import Tables

STEP_KINDS = ("stt", "llm", "tool", "tts")
GROUPINGS = ("agent", "model", "prompt")
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def grouped_calls(t: Tables, f: Filters, start: date, end: date) -> ibis.Table:
    """The calls in scope with the columns a series can be grouped by; `prompt` names the agent
    with its version ('salon-booker v2'), because two agents' 'v2' are different prompts."""
    calls = metrics.scoped_calls(t, f, start, end)
    return calls.mutate(prompt=calls.agent.concat(" ", calls.prompt_version))


def _call_groups(calls: ibis.Table) -> ibis.Table:
    return calls.select("call_id", "day", *GROUPINGS)


def steps(t: Tables, f: Filters, start: date, end: date) -> ibis.Table:
    """Pipeline steps of the calls in scope, with their call's day and groups. Spans are read a
    day past the period for calls that run over midnight."""
    s = t.spans
    s = s.filter(s.kind.isin(STEP_KINDS), s.day >= start, s.day <= end + timedelta(days=1))
    s = s.select("call_id", "kind", "duration_ms", "is_error", "tool_name", step_model=s.model)
    return s.inner_join(_call_groups(grouped_calls(t, f, start, end)), "call_id")


def replies(t: Tables, f: Filters, start: date, end: date) -> ibis.Table:
    """The agent replies that have a response latency (`metrics.agent_replies`), with their
    call's groups."""
    r = metrics.agent_replies(t, f, start, end).select("call_id", "response_latency_ms")
    return r.inner_join(_call_groups(grouped_calls(t, f, start, end)), "call_id")


def with_bucket(table: ibis.Table, grain: str) -> ibis.Table:
    """`bucket`: the row's day, or the Monday of its week."""
    return table.mutate(bucket=table.day if grain == "day" else table.day.truncate("W").cast("date"))


def _percentiles(column: ibis.NumericColumn) -> dict[str, ibis.NumericScalar]:
    """Exact percentiles with linear interpolation, as `metrics.latency_metrics`."""
    return {name: column.quantile(q) for name, q in PERCENTILES.items()}


def step_latency(steps: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """p50, p95 and p99 of the steps' durations, per group."""
    return steps.group_by(list(by)).aggregate(n=steps.count(), **_percentiles(steps.duration_ms))


def reply_latency(replies: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """p50, p95 and p99 of the agent's response latency (the silence the caller hears), per group."""
    return replies.group_by(list(by)).aggregate(n=replies.count(), **_percentiles(replies.response_latency_ms))


def call_tokens(calls: ibis.Table) -> ibis.NumericColumn:
    """A call's tokens, in and out; a call that reported none counts as 0, as its cost does in
    `cost_per_call_usd`."""
    return calls.input_tokens.fill_null(0) + calls.output_tokens.fill_null(0)


def usage(calls: ibis.Table, t: Tables, by: Sequence[str]) -> ibis.Table:
    """Calls, cost per call (the owned metric) and tokens per call, per group."""
    cost = metrics.call_metrics(calls, t, by).select(*by, "calls", "cost_per_call_usd")
    tokens = calls.group_by(list(by)).aggregate(tokens_per_call=call_tokens(calls).sum() / calls.count())
    return cost.inner_join(tokens, list(by))


def step_errors(steps: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """Steps, failed steps and their share, per group. A step failed when its span did
    (docs/metrics.md, `error_rate`); this counts steps where the owned metric counts calls, so a
    tool that fails often shows up even when the call carried on."""
    return steps.group_by(list(by)).aggregate(
        n=steps.count(), failed=steps.is_error.cast("int64").sum(), error_rate=steps.is_error.cast("float64").mean()
    )


def model_debuts(t: Tables) -> ibis.Table:
    """The first day each agent's calls used each model, for the models an agent switched to:
    the model it started the data with is no change."""
    c = t.calls.filter(t.calls.agent.notnull(), t.calls.model.notnull())
    firsts = c.group_by(["agent", "model"]).aggregate(day=c.day.min())
    starts = c.group_by("agent").aggregate(agent_first_day=c.day.min())
    joined = firsts.inner_join(starts, "agent")
    return joined.filter(joined.day > joined.agent_first_day).select("agent", "model", "day")
