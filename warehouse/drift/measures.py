"""The engineering drift figures, each defined once as an ibis expression over the named tables:
latency percentiles per pipeline step and per reply, tokens per call, and the failure rate of
each tool and model. Cost per call and the reply rows come from `warehouse.metrics`, so the drift
page and the overview agree to the cent and the millisecond.

The flags read small summaries the engine computes (`daily_summary`, `quantile_summary`): per
series and day (or week) the count, mean, variance and events, and a few exact percentiles, so a
million calls never leave the engine as rows; `warehouse/drift/detection.py` runs its tests on them.

A step is one span of the voice pipeline: speech-to-text (stt), the language model (llm), a
tool call (tool) or text-to-speech (tts). Steps and replies are grouped by their call's agent,
model or prompt version, and belong to their call's day.
"""

from __future__ import annotations

import ibis

from warehouse import metrics
from warehouse.tables import Tables

STEP_KINDS = ("stt", "llm", "tool", "tts")
GROUPINGS = ("agent", "model", "prompt")
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
# Each percentile with a neighbour either side: the spread between them gives the percentile's
# standard error (Siddiqui's sparsity estimate; warehouse/drift/detection.py).
PERCENTILE_NEIGHBOURS = {"p50": (0.45, 0.55), "p95": (0.93, 0.97), "p99": (0.985, 0.995)}
SUMMARY_LEVELS = tuple(sorted({q for name, q in PERCENTILES.items() for q in (q, *PERCENTILE_NEIGHBOURS[name])}))
WEEK = 7  # days: the flags' weeks and the trends' end on the last day judged


def grouped_calls(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day) -> ibis.Table:
    """The calls in scope with the columns a series can be grouped by; `prompt` names the agent
    with its version ('salon-booker v2'), because two agents' 'v2' are different prompts."""
    calls = metrics.scoped_calls(t, f, start, end)
    return calls.mutate(prompt=calls.agent.concat(" ", calls.prompt_version))


def _call_groups(calls: ibis.Table) -> ibis.Table:
    return calls.select("call_id", "day", *GROUPINGS)


def steps(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day) -> ibis.Table:
    """Pipeline steps of the calls in scope, with their call's day and groups. A span's `day` is
    its call's first day (see `metrics.wait_stages`), so the period's spans are its calls' steps,
    those after midnight too."""
    s = t.spans
    s = s.filter(s.kind.isin(STEP_KINDS), s.day >= metrics.as_day(start), s.day <= metrics.as_day(end))
    s = s.select("call_id", "kind", "duration_ms", "is_error", "tool_name", step_model=s.model)
    return s.inner_join(_call_groups(grouped_calls(t, f, start, end)), "call_id")


def replies(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day) -> ibis.Table:
    """The agent replies that have a response latency (`metrics.agent_replies`), with their
    call's groups."""
    r = metrics.agent_replies(t, f, start, end).select("call_id", "response_latency_ms")
    return r.inner_join(_call_groups(grouped_calls(t, f, start, end)), "call_id")


def call_tokens(calls: ibis.Table) -> ibis.NumericColumn:
    """A call's tokens, in and out; a call that reported none counts as 0, as its cost does in
    `cost_per_call_usd`."""
    return calls.input_tokens.fill_null(0) + calls.output_tokens.fill_null(0)


def model_debuts(t: Tables) -> ibis.Table:
    """The first day each agent's calls used each model, for the models an agent switched to:
    the model it started the data with is no change."""
    c = t.calls.filter(t.calls.agent.notnull(), t.calls.model.notnull())
    firsts = c.group_by(["agent", "model"]).aggregate(day=c.day.min())
    starts = c.group_by("agent").aggregate(agent_first_day=c.day.min())
    joined = firsts.inner_join(starts, "agent")
    return joined.filter(joined.day > joined.agent_first_day).select("agent", "model", "day")


def days_back(day: ibis.DateValue, end: metrics.Day) -> ibis.IntegerValue:
    """Whole days from `day` back from `end` (0 on `end`), the same on every engine (both days
    made seconds since the epoch alike; the clock is UTC on every engine)."""
    def seconds(d: ibis.DateValue) -> ibis.IntegerValue:
        return d.cast("timestamp").epoch_seconds().floor().cast("int64")

    return ((seconds(metrics.as_day(end)) - seconds(day)) // 86400).cast("int64")


def _values(table: ibis.Table, measure: ibis.Value | str, group: ibis.Value, value: ibis.Value) -> ibis.Table:
    measure = ibis.literal(measure) if isinstance(measure, str) else measure
    return table.select(measure=measure.cast("string"), group=group.cast("string"), day=table.day.cast("date"),
                        value=value.cast("float64"))


def latency_values(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day, group: str) -> ibis.Table:
    """One row per reply (the caller's wait, measure 'reply') and per pipeline step (measure: its
    kind): measure, group, day, value in ms."""
    r, s = replies(t, f, start, end), steps(t, f, start, end)
    return _values(r, "reply", r[group], r.response_latency_ms).union(_values(s, s.kind, s[group], s.duration_ms))


def mean_values(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day, group: str) -> ibis.Table:
    """One row per call for cost (NULL when a span has no list price, as in `cost_per_call_usd`)
    and tokens: measure, group, day, value."""
    c = grouped_calls(t, f, start, end)
    return _values(c, "cost", c[group], c.cost_usd).union(_values(c, "tokens", c[group], call_tokens(c)))


def rate_values(t: Tables, f: metrics.Scope, start: metrics.Day, end: metrics.Day, group: str) -> ibis.Table:
    """0/1 rows for the rates: each tool's and model's requests that failed (measures
    'tool_errors' and 'model_errors', group: the tool or model) and each call with turns where
    anyone talked over the other (measure 'interruptions', `metrics.conversation_metrics`'
    interruption_rate, per `group`), read from the calls' stored conversation columns, not their
    turns. A step failed when its span did (docs/metrics.md, `error_rate`); this counts steps where
    the owned metric counts calls, so a tool that fails often shows up even when the call carried on."""
    s = steps(t, f, start, end)
    tools = s.filter(s.kind == "tool", s.tool_name.notnull())
    models = s.filter(s.kind == "llm", s.step_model.notnull())
    calls = grouped_calls(t, f, start, end)
    c = calls.filter(metrics.has_turns(calls))
    return (_values(tools, "tool_errors", tools.tool_name, tools.is_error)
            .union(_values(models, "model_errors", models.step_model, models.is_error))
            .union(_values(c, "interruptions", c[group], metrics.talked_over(c))))


def daily_summary(values: ibis.Table, end: metrics.Day) -> ibis.Table:
    """Per measure, group and day (`back`: days back from `end`): n, the sum and the sample
    variance of the values. Days combine exactly into any window (weeks, the last few days)."""
    v = values.filter(values.value.notnull(), values.group.notnull())
    v = v.mutate(back=days_back(v.day, end))
    return v.group_by(["measure", "group", "back"]).aggregate(n=v.value.count(), total=v.value.sum(),
                                                             var=v.value.var())


def quantile_summary(values: ibis.Table, end: metrics.Day, days: int) -> ibis.Table:
    """Per measure, group and window of `days` days (`back`: windows back from `end`, 0 the
    window ending on `end`): n and the exact percentiles at `SUMMARY_LEVELS`, as a list."""
    v = values.filter(values.value.notnull(), values.group.notnull())
    v = v.mutate(back=days_back(v.day, end) // days)
    return v.group_by(["measure", "group", "back"]).aggregate(n=v.value.count(),
                                                             q=v.value.quantile(list(SUMMARY_LEVELS)))


END_OF_TURN_SETTING = r'"callboard\.end_of_turn\.setting"\s*:\s*"([^"]*)"'


def end_of_turn_debuts(t: Tables) -> ibis.Table:
    """The first day each agent's end-of-turn detection ran with each setting
    (`callboard.end_of_turn.setting` on its end-of-turn spans), for the settings an agent changed
    to: agent, setting, day. The attributes are read as text, the same on every engine."""
    s = t.spans.filter(t.spans.kind == "eot")
    s = s.mutate(setting=s.attributes.cast("string").re_extract(END_OF_TURN_SETTING, 1))
    s = s.select("call_id", "setting", "day").inner_join(t.calls.select("call_id", "agent"), "call_id")
    firsts = s.group_by(["agent", "setting"]).aggregate(day=s.day.min(), named=s.setting.length().max())
    # Spans without a setting are left out after grouping, by an aggregate (a filter on the setting
    # itself is pushed below the grouping): filtered before, the pattern was matched twice per span
    # (once to filter, once to keep), half of this read's time.
    firsts = firsts.filter(firsts.named > 0).drop("named")
    starts = firsts.group_by("agent").aggregate(agent_first_day=firsts.day.min())
    joined = firsts.inner_join(starts, "agent")
    return joined.filter(joined.day > joined.agent_first_day).select("agent", "setting", "day")
