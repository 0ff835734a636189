"""A/B comparison of two arms (two prompt versions, two models, any two sets of filters): the
owned outcome and quality metrics side by side, with sample sizes, 95% intervals and a test.

The figures, their sample sizes and spreads are the owned definitions (`metrics.call_metrics`,
`metrics.judge_metrics`); each metric's interval and test are the ones the registry names for it
(`warehouse/metric_registry.py`, as on the overview). A difference is called significant only when
both arms have at least `MIN_SAMPLE` observations and its test passes at `ALPHA` shared across the
metrics compared (Bonferroni), so scanning five metrics does not turn noise into a finding.

Arms are rarely randomised here (a new prompt replaces the old one), so their traffic may
differ; `ABResult.mix_distance` measures by how much, as the total variation distance between the
arms' shares of agents, models and weekdays (a prompt's new version may run on a newer model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ibis
import polars as pl

from warehouse import metrics, stats
from warehouse.filters import Filters
from warehouse.metric_registry import BY_KEY, TWO_PROPORTIONS, Metric
from warehouse.queries import reading
from warehouse.tables import Tables

ALPHA = 0.05
MIN_SAMPLE = 100
MIX_THRESHOLD = 0.10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

COMPARED = ("conversion_rate", "nps", "resolution_rate", "eval_score", "hallucination_rate")


def _mix(calls: ibis.Table) -> dict[str, dict[str, int]]:
    """Calls per agent, per model and per weekday."""
    def count(column: ibis.Column) -> list[tuple]:
        return calls.group_by(key=column).aggregate(n=calls.count()).to_polars().rows()

    return {
        "agent": {str(a): n for a, n in count(calls.agent)},
        "model": {str(m): n for m, n in count(calls.model)},
        "weekday": {WEEKDAYS[d]: n for d, n in count(calls.day.day_of_week.index())},
    }


def _arm(t: Tables, f: Filters) -> tuple[dict, dict[str, dict[str, int]]]:
    calls = metrics.scoped_calls(t, f).mutate(arm=ibis.literal("arm"))
    figures: dict[str, object] = {}
    for frame in (metrics.call_metrics(calls, t, ["arm"]), metrics.judge_metrics(calls, t, ["arm"])):
        rows = frame.to_polars().to_dicts()
        figures.update(rows[0] if rows else {})
    return figures, _mix(calls)


@dataclass(frozen=True)
class Comparison:
    """One metric for both arms: values, sample sizes, intervals, the difference (b − a) with
    its interval, the test's p-value and whether the difference counts as significant."""

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
    significant: bool
    note: str


def _difference_interval(m: Metric, a: dict, b: dict) -> stats.Interval | None:
    """B − A's 95% interval: Newcombe's for shares; for means the normal one, whose half-width
    (1.96 standard errors of the difference) is the root sum of squares of the two arms' own."""
    if m.noise is TWO_PROPORTIONS:
        n_a, n_b = int(a.get(m.n_key) or 0), int(b.get(m.n_key) or 0)
        if a.get(m.key) is None or b.get(m.key) is None:
            return None
        return stats.difference_interval(round(b[m.key] * n_b), n_b, round(a[m.key] * n_a), n_a)
    interval_a, interval_b = m.interval(a), m.interval(b)
    if interval_a is None or interval_b is None:
        return None
    half = math.hypot(interval_a[1] - a[m.key], interval_b[1] - b[m.key])
    return b[m.key] - a[m.key] - half, b[m.key] - a[m.key] + half


def _compare(metric: str, a: dict, b: dict, level: float) -> Comparison:
    m = BY_KEY[metric]
    value_a, value_b = a.get(metric), b.get(metric)
    n_a, n_b = int(a.get(m.n_key) or 0), int(b.get(m.n_key) or 0)
    difference = value_b - value_a if value_a is not None and value_b is not None else None
    small = min(n_a, n_b) < MIN_SAMPLE
    test = m.change_test(b, a)
    p_value = test.p_value if test else None
    significant = bool(not small and p_value is not None and p_value < level)
    note = f"fewer than {MIN_SAMPLE} in an arm" if small else ""
    return Comparison(metric, value_a, value_b, n_a, n_b, m.interval(a), m.interval(b), difference,
                      _difference_interval(m, a, b), p_value, significant, note)


@dataclass(frozen=True)
class ABResult:
    calls_a: int
    calls_b: int
    comparisons: list[Comparison]
    mix_distance: dict[str, float | None]  # 'agent', 'model', 'weekday' → total variation distance
    mix: dict[str, pl.DataFrame]  # 'agent', 'model', 'weekday' → share of each arm's calls

    @property
    def mix_differs(self) -> list[str]:
        """The mixes ('agent', 'model', 'weekday') on which the arms differ by more than MIX_THRESHOLD."""
        return [k for k, d in self.mix_distance.items() if d is not None and d > MIX_THRESHOLD]


def _shares(first: dict[str, int], second: dict[str, int], order: tuple[str, ...] | None = None) -> pl.DataFrame:
    keys = list(order) if order else sorted(set(first) | set(second))
    total_a, total_b = sum(first.values()) or 1, sum(second.values()) or 1
    return pl.DataFrame({"value": keys, "share_a": [first.get(k, 0) / total_a for k in keys],
                         "share_b": [second.get(k, 0) / total_b for k in keys]})


def compare(a: Filters, b: Filters) -> ABResult:
    """Arm `a` against arm `b` (each a set of filters over a period)."""
    with reading() as t:
        figures_a, mix_a = _arm(t, a)
        figures_b, mix_b = _arm(t, b)
    level = ALPHA / len(COMPARED)
    return ABResult(
        calls_a=int(figures_a.get("calls") or 0),
        calls_b=int(figures_b.get("calls") or 0),
        comparisons=[_compare(m, figures_a, figures_b, level) for m in COMPARED],
        mix_distance={k: stats.total_variation_distance(mix_a[k], mix_b[k]) for k in mix_a},
        mix={k: _shares(mix_a[k], mix_b[k], WEEKDAYS if k == "weekday" else None) for k in mix_a},
    )
