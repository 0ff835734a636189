"""A/B comparison of two arms (two prompt versions, two models, any two sets of filters): the
owned outcome, quality, cost and latency metrics side by side, like with like.

- **Like with like.** Arms are rarely randomised here (a new prompt replaces the old one; a cheaper
  model serves one agent), so their agent mix differs, and agents differ in every metric. Each
  metric is computed per agent in each arm with its owned definition (`metrics.call_metrics`,
  `metrics.judge_metrics`, `metrics.latency_metrics`) and the arms are compared by direct
  standardization: per-agent figures weighted by one common agent mix (both arms' calls per
  agent together), with the noise test the registry names for the metric made stratified
  (`Metric.standardized`, `stats.standardized_comparison`). Agents with calls in one arm only
  cannot be compared like with like: they are left out and named (`ABResult.left_out`); when no
  agent has calls in both arms the comparison is refused (`ABResult.refusal`).
- **Many comparisons.** A difference is called significant only when both arms have at least
  `MIN_SAMPLE` observations and its Holm-adjusted p-value (`stats.holm_adjusted`, over every
  metric tested on the page) is under `ALPHA`: scanning eight metrics does not turn noise into a
  finding.
- **Different periods.** When most of one arm's calls fall on days the other arm has none (a
  version replaced another), the arms also differ in everything else that changed over time;
  `ABResult.switch_day` names the day B took over (or A), so the page can offer the days either
  side of it (`around_switch`). When the period holds only one arm (the version replaced weeks
  ago), `when_arms_ran` finds the arms over every day on record, and `Ran.window` the days either
  side of their switch, so the page opens on days that hold both.

`ABResult.mix_distance` still measures how far the arms' agents, models and weekdays differ, as
the total variation distance between their shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import ibis
import polars as pl

from warehouse import metrics, prepared, stats
from warehouse.engines import source
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY
from warehouse.tables import Tables

ALPHA = 0.05
MIN_SAMPLE = 100
MIX_THRESHOLD = 0.10
SAME_DAYS_SHARE = 0.5  # below this share of an arm's calls on days both arms ran, they ran in different periods
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

COMPARED = (
    "conversion_rate", "nps", "resolution_rate", "eval_score", "hallucination_rate",
    "cost_per_call_usd", "latency_p50_ms", "latency_p95_ms",
)  # fmt: skip


LISTS = (("agent", "agents"), ("prompt_version", "prompt_versions"), ("model", "models"))  # column, Filters field


def _arm_values(a: Filters, b: Filters) -> dict[str, object]:
    """Both arms' filters as the values of a prepared read's parameters (`_arm_calls`): their days and
    every list, empty when nothing is picked, so that one compiled read serves whatever is picked
    (the sidebar's first model or agent picked on the page compiled its reads anew: ~350 ms of CPU)."""
    return {f"{arm}.{field}": getattr(f, field) for arm, f in (("a", a), ("b", b))
            for field in ("start", "end", *(field for _, field in LISTS))}  # fmt: skip


def _arm_calls(t: Tables, params: prepared.Params) -> ibis.Table:
    """Both arms' calls (filters `a` and `b`) with an `arm` column ('a' or 'b'). A list narrows the
    arm's calls as `metrics.scoped_calls` has it, and an empty one leaves them all."""
    arms = []
    for arm in ("a", "b"):
        calls = metrics.scoped_calls(t, prepared.FilterParams(params[f"{arm}.start"], params[f"{arm}.end"]))
        for column, field in LISTS:
            picked = params[f"{arm}.{field}"]
            calls = calls.filter((picked.length() == 0) | calls[column].isin(picked))
        arms.append(calls.mutate(arm=ibis.literal(arm)))
    return arms[0].union(arms[1], distinct=False)


def _traffic_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    calls = _arm_calls(t, params)
    return [calls.group_by("arm", "agent", "model", "day").aggregate(n=calls.count())]


def traffic(a: Filters, b: Filters) -> pl.DataFrame:
    """Calls per arm ('a' or 'b'), agent, model and day of arms `a` and `b`, each over its own period:
    every mix and period a comparison shows, in one read. Read once over the days on record, it
    serves `compare` and `when_arms_ran` for every period of the same arms (`_within`): a period's
    calls per day are the same counts, wherever they were read from."""
    with source() as opened:
        (frame,) = prepared.frames(opened, _traffic_expressions, (), _arm_values(a, b))
    return frame


def _within(traffic_read: pl.DataFrame | None, a: Filters, b: Filters) -> pl.DataFrame:
    """The `traffic` of arms `a` and `b` over their own periods: read now, or taken from `traffic_read`,
    the same arms' traffic over days that hold both periods."""
    if traffic_read is None:
        return traffic(a, b)
    day, arm = pl.col("day"), pl.col("arm")
    return traffic_read.filter(pl.when(arm == "a").then(day.is_between(a.start, a.end))
                               .otherwise(day.is_between(b.start, b.end)))  # fmt: skip


def _tally(traffic: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    """Calls per arm and `key`."""
    return traffic.group_by("arm", key=key).agg(n=pl.col("n").sum())


def _per_agent_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """`_per_agent`'s figures for the arms' calls of the `agents` given, whose days lie from
    `first` to `last`: three reads, not one joined in the engine, which at 1M calls held all three's
    working memory at once (peak 575 -> 668 MiB over 90 days, for ~10 ms less at 20k)."""
    calls = _arm_calls(t, params)
    calls = calls.filter(calls.agent.isin(params["agents"]))
    by = ["arm", "agent"]
    replies = metrics.agent_replies_of(t, calls.select("call_id", "arm", "agent"), params["first"], params["last"])
    return [
        metrics.call_metrics(calls, t, by),
        metrics.judge_metrics(calls, t, by),
        metrics.latency_metrics(replies, by, pooled_within=["agent"]),
    ]


def _per_agent(a: Filters, b: Filters, agents: list[str]) -> pl.DataFrame:
    """Every compared figure per arm and agent (of `agents`), with its n and spread, as the owned
    definitions compute them; reply percentiles pooled within each agent for Mood's test."""
    values = _arm_values(a, b) | {"agents": agents, "first": min(a.start, b.start), "last": max(a.end, b.end)}
    with source() as opened:
        frames = prepared.frames(opened, _per_agent_expressions, (), values)
    merged = frames[0]
    for frame in frames[1:]:
        merged = merged.join(frame, on=["arm", "agent"], how="left")
    return merged


@dataclass(frozen=True)
class Comparison:
    """One metric for both arms: standardized values, sample sizes, 95% intervals, the difference
    (b − a) with its interval, the test's p-value, its Holm-adjusted p-value on the page, and
    whether the difference counts as significant."""

    metric: str
    value_a: float | None
    value_b: float | None
    n_a: int
    n_b: int
    interval_a: stats.Interval | None
    interval_b: stats.Interval | None
    difference: float | None
    difference_interval: stats.Interval | None
    p_value: float | None
    adjusted_p: float | None = None
    significant: bool = False

    @property
    def too_small(self) -> bool:
        return min(self.n_a, self.n_b) < MIN_SAMPLE


def _interval(pair: stats.Interval) -> stats.Interval | None:
    return None if math.isnan(pair[0]) else pair


def _compare(metric: str, rows_a: list[dict], rows_b: list[dict], weights: list[float]) -> Comparison:
    m = BY_KEY[metric]
    n_a = sum(int(r.get(m.n_key) or 0) for r in rows_a)
    n_b = sum(int(r.get(m.n_key) or 0) for r in rows_b)
    s = m.standardized(rows_a, rows_b, weights) if rows_a else None
    if s is None:
        return Comparison(metric, None, None, n_a, n_b, None, None, None, None, None)
    one = len(weights) == 1  # one agent: the registry's own intervals (Wilson for shares)
    return Comparison(
        metric, s.value_a, s.value_b, n_a, n_b,
        m.interval(rows_a[0]) if one else _interval(s.interval_a),
        m.interval(rows_b[0]) if one else _interval(s.interval_b),
        s.difference, _interval(s.interval), s.test.p_value if s.test else None,
    )  # fmt: skip


def _holm(comparisons: list[Comparison]) -> list[Comparison]:
    """Each comparison with its Holm-adjusted p-value over the metrics tested (both arms large
    enough), and significant when that is under ALPHA."""
    tested = [None if c.too_small else c.p_value for c in comparisons]
    adjusted = stats.holm_adjusted(tested)
    return [replace(c, adjusted_p=p, significant=p is not None and p < ALPHA)
            for c, p in zip(comparisons, adjusted, strict=True)]  # fmt: skip


@dataclass(frozen=True)
class ABResult:
    calls_a: int
    calls_b: int
    comparisons: list[Comparison]
    agents: tuple[str, ...]  # the agents compared (calls in both arms)
    agent_weights: tuple[float, ...]  # their common mix: share of both arms' calls
    left_out: dict[str, str]  # agent → the arm ('A' or 'B') it has no calls in
    mix_distance: dict[str, float | None]  # 'agent', 'model', 'weekday' → total variation distance
    mix: dict[str, pl.DataFrame]  # 'agent', 'model', 'weekday' → share of each arm's calls
    days_a: tuple[date, date] | None  # first and last day with calls, over the agents compared
    days_b: tuple[date, date] | None
    switch_day: date | None  # the day the later arm took over, when the arms ran in different periods

    @property
    def refusal(self) -> str | None:
        """Why nothing can be compared, in a sentence; None when something can."""
        if not self.calls_a or not self.calls_b:
            return f"Arm {'A' if not self.calls_a else 'B'} has no calls in this period and for these agents."
        if not self.agents:
            return ("No agent has calls in both arms, so any difference would be a difference between agents, "
                    "not between the versions: pick arms that served the same agent.")
        return None

    @property
    def standardized(self) -> bool:
        """Whether the figures are standardized over more than one agent."""
        return len(self.agents) > 1

    @property
    def mix_differs(self) -> list[str]:
        """The mixes ('agent', 'model', 'weekday') on which the arms differ by more than MIX_THRESHOLD."""
        return [k for k, d in self.mix_distance.items() if d is not None and d > MIX_THRESHOLD]


def around_switch(f: Filters, switch_day: date, days: int, within: tuple[date, date] | None = None) -> Filters:
    """The `days` days before `switch_day` and the `days` from it on, inside `within` (by default
    the filters' own period)."""
    first, last = within or (f.start, f.end)
    return replace(f, start=max(first, switch_day - timedelta(days=days)),
                   end=min(last, switch_day + timedelta(days=days - 1)))  # fmt: skip


@dataclass(frozen=True)
class Ran:
    """When each arm ran over the days on record, whatever the period asked: for opening a
    comparison on days that hold both arms when the period holds only one (a version replaced
    weeks ago is not in the last 28 days)."""

    first: date  # the days on record
    last: date
    days_a: tuple[date, date] | None  # first and last day with calls, over the agents both arms served
    days_b: tuple[date, date] | None
    switch_day: date | None  # the day the later arm took over, when they ran one after the other

    def window(self, days: int) -> tuple[date, date] | None:
        """Days that hold both arms: the `days` days either side of the switch, or when the arms
        ran side by side the last 2 × `days` days both ran; inside the days on record. None when
        an arm has no calls (of an agent the other served) on any day."""
        if self.days_a is None or self.days_b is None:
            return None
        if self.switch_day is not None:
            start, end = self.switch_day - timedelta(days=days), self.switch_day + timedelta(days=days - 1)
        else:
            end = min(self.days_a[1], self.days_b[1])
            start = max(self.days_a[0], self.days_b[0], end - timedelta(days=2 * days - 1))
        return max(self.first, start), min(self.last, end)


def on_record(a: Filters, b: Filters, first: date, last: date) -> tuple[Filters, Filters]:
    """Arms `a` and `b` over the days from `first` to `last` (the days on record), whatever their periods."""
    return replace(a, start=first, end=last), replace(b, start=first, end=last)


def when_arms_ran(a: Filters, b: Filters, first: date, last: date, traffic_read: pl.DataFrame | None = None) -> Ran:
    """Each arm's days with calls from `first` to `last` (the days on record), over the agents both
    arms served, and the switch between them (as `compare` finds it). `traffic_read`: the arms'
    `traffic` over those days, when read already."""
    arms = _within(traffic_read, *on_record(a, b, first, last))
    agents = _tally(arms, pl.col("agent"))
    common = set(_of(agents, "a")) & set(_of(agents, "b"))
    days_a, days_b, switch = _periods(_tally(arms.filter(pl.col("agent").is_in(common)), pl.col("day")))
    return Ran(first, last, days_a, days_b, switch)


def _of(counts: pl.DataFrame, arm: str) -> dict:
    """One arm's counts by key."""
    return dict(counts.filter(pl.col("arm") == arm).select("key", "n").iter_rows())


def _shares(first: dict, second: dict, order: tuple[str, ...] | None = None) -> pl.DataFrame:
    keys = list(order) if order else sorted(set(first) | set(second))
    total_a, total_b = sum(first.values()) or 1, sum(second.values()) or 1
    return pl.DataFrame({"value": keys, "share_a": [first.get(k, 0) / total_a for k in keys],
                         "share_b": [second.get(k, 0) / total_b for k in keys]})  # fmt: skip


def _periods(days: pl.DataFrame) -> tuple[tuple[date, date] | None, tuple[date, date] | None, date | None]:
    """Each arm's first and last day, and the day the later arm took over when most of one arm's
    calls fall on days the other arm has none."""
    on = {arm: _of(days, arm) for arm in ("a", "b")}
    spans = {arm: (min(d), max(d)) if d else None for arm, d in on.items()}
    shared = set(on["a"]) & set(on["b"])
    apart = any(sum(n for d, n in on[arm].items() if d in shared) < SAME_DAYS_SHARE * sum(on[arm].values())
                for arm in on if on[arm])  # fmt: skip
    switch = None
    if apart and spans["a"] and spans["b"]:
        switch = max(spans["a"][0], spans["b"][0])
    return spans["a"], spans["b"], switch


def compare(a: Filters, b: Filters, traffic_read: pl.DataFrame | None = None) -> ABResult:
    """Arm `a` against arm `b` (each a set of filters over a period). `traffic_read`: the arms'
    `traffic` over days that hold both periods, when read already (the app reads it once per pair
    of arms, over the days on record); then a period with calls of one arm only reads nothing."""
    traffic = _within(traffic_read, a, b)
    agents = _tally(traffic, pl.col("agent"))
    common = sorted(set(_of(agents, "a")) & set(_of(agents, "b")))
    per_agent = _per_agent(a, b, common) if common else pl.DataFrame()
    weekday = pl.col("day").dt.weekday().sub(1).replace_strict(dict(enumerate(WEEKDAYS)), return_dtype=pl.String)
    mix = {"agent": agents, "model": _tally(traffic, pl.col("model")), "weekday": _tally(traffic, weekday)}
    by_arm = {k: (_of(v, "a"), _of(v, "b")) for k, v in mix.items()}
    days = _tally(traffic.filter(pl.col("agent").is_in(common)), pl.col("day"))
    totals = {arm: int(agents.filter(pl.col("arm") == arm)["n"].sum()) for arm in ("a", "b")}
    per = {(r["arm"], r["agent"]): r for r in per_agent.iter_rows(named=True)}
    sizes = [per[("a", g)]["calls"] + per[("b", g)]["calls"] for g in common]
    weights = [n / sum(sizes) for n in sizes]
    rows_a, rows_b = [per[("a", g)] for g in common], [per[("b", g)] for g in common]
    left_out = {g: "B" if arm == "a" else "A" for arm, g in agents.select("arm", "key").iter_rows() if g not in common}
    days_a, days_b, switch = _periods(days)
    return ABResult(
        calls_a=totals["a"],
        calls_b=totals["b"],
        comparisons=_holm([_compare(m, rows_a, rows_b, weights) for m in COMPARED]),
        agents=tuple(common),
        agent_weights=tuple(weights),
        left_out=left_out,
        mix_distance={k: stats.total_variation_distance(*v) for k, v in by_arm.items()},
        mix={k: _shares(*v, WEEKDAYS if k == "weekday" else None) for k, v in by_arm.items()},
        days_a=days_a,
        days_b=days_b,
        switch_day=switch,
    )
