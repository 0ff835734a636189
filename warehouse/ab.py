"""A/B comparison of two arms (two prompt versions, two models, any two sets of filters): the
owned outcome and quality metrics side by side, with sample sizes, 95% intervals and a test.

The figures are the owned definitions (`metrics.call_metrics`, `metrics.judge_metrics`); this
module adds only what an interval needs (how many calls each rate is over, the spread of NPS
answers and of scores). A difference is called significant only when both arms have at least
`MIN_SAMPLE` observations and its test passes at `ALPHA` shared across the metrics compared
(Bonferroni), so scanning five metrics does not turn noise into a finding.

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
from warehouse.queries import reading
from warehouse.tables import Tables

ALPHA = 0.05
MIN_SAMPLE = 100
MIX_THRESHOLD = 0.10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

RATES = {"conversion_rate": "conversion_n", "resolution_rate": "resolution_n", "hallucination_rate": "judged_calls"}
COMPARED = ("conversion_rate", "nps", "resolution_rate", "eval_score", "hallucination_rate")


def _spread(calls: ibis.Table, t: Tables) -> ibis.Table:
    """Per call set: how many calls each rate is over, the share of NPS answers that are not
    passive (promoters plus detractors) and the spread of judge scores."""
    outcomes = metrics.outcome_per_call(t)
    c = calls.left_join(outcomes, calls.call_id == outcomes.call_id)
    counts = c.aggregate(
        conversion_n=c.booked.count(),
        resolution_n=c.resolved.count(),
        nps_decided_share=((c.nps >= 9) | (c.nps <= 6)).cast("float64").mean(),
    )
    j = calls.select("call_id").inner_join(metrics.latest_judgement_per_call(t), "call_id")
    return counts.cross_join(j.aggregate(score_sd=j.score.std()))


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
    figures = {}
    for frame in (metrics.call_metrics(calls, t, ["arm"]), metrics.judge_metrics(calls, t, ["arm"]), _spread(calls, t)):
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


def _sample_size(figures: dict, metric: str) -> int:
    key = RATES.get(metric) or {"nps": "nps_responses", "eval_score": "judged_calls"}[metric]
    return int(figures.get(key) or 0)


def _sd(figures: dict, metric: str) -> float | None:
    """The standard deviation of one observation: for NPS, of +100 (promoter), 0 or −100."""
    if metric == "eval_score":
        return figures.get("score_sd")
    share, nps = figures.get("nps_decided_share"), figures.get("nps")
    if share is None or nps is None:
        return None
    return 100 * math.sqrt(max(share - (nps / 100) ** 2, 0.0))


def _compare(metric: str, a: dict, b: dict, level: float) -> Comparison:
    value_a, value_b = a.get(metric), b.get(metric)
    n_a, n_b = _sample_size(a, metric), _sample_size(b, metric)
    interval_a = interval_b = difference_interval = test = None
    if metric in RATES:
        k_a, k_b = round((value_a or 0) * n_a), round((value_b or 0) * n_b)
        interval_a, interval_b = stats.wilson_interval(k_a, n_a), stats.wilson_interval(k_b, n_b)
        difference_interval = stats.difference_interval(k_b, n_b, k_a, n_a)
        test = stats.two_proportion_test(k_b, n_b, k_a, n_a)
    else:
        sd_a, sd_b = _sd(a, metric), _sd(b, metric)
        if value_a is not None and sd_a is not None:
            interval_a = stats.mean_interval(value_a, sd_a, n_a)
        if value_b is not None and sd_b is not None:
            interval_b = stats.mean_interval(value_b, sd_b, n_b)
        if interval_a and interval_b:
            se = math.hypot(sd_a / math.sqrt(n_a), sd_b / math.sqrt(n_b))
            half = stats.Z_95 * se
            difference_interval = (value_b - value_a - half, value_b - value_a + half)
            test = stats.z_test(value_b - value_a, se)
    difference = value_b - value_a if value_a is not None and value_b is not None else None
    small = min(n_a, n_b) < MIN_SAMPLE
    p_value = test.p_value if test else None
    significant = bool(not small and p_value is not None and p_value < level)
    note = f"fewer than {MIN_SAMPLE} in an arm" if small else ""
    return Comparison(metric, value_a, value_b, n_a, n_b, interval_a, interval_b, difference,
                      difference_interval, p_value, significant, note)


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
