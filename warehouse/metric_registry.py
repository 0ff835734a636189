"""What each owned metric is called, who owns it, how it is shown and how a change in it is told
apart from noise: one entry per metric, read by the pages, the deck, `python -m warehouse metrics`
and docs/metrics.md (checked by tests/test_metric_registry.py).

The values themselves are computed once, in `warehouse/metrics.py`. Adding a metric is its
definition there plus one `Metric` here; a test fails until both exist. Besides the value, each
definition computes the metric's sample size (`n_key`) and, for means and percentiles, the one
more figure its noise test needs (`spread_key`), so a change can be tested from two summary rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import SupportsFloat

from warehouse import stats

Row = Mapping[str, object]
Strata = Sequence[Row]  # one summary row per stratum (an agent), in the same order in both arms

OWNERS = {"PM": "PM owns", "Engineering": "Engineering owns", "Joint": "Joint",
          "Conversation": "Conversation (joint)"}
NEEDS_JUDGEMENTS = "Joint"  # the owner whose figures exist only once a judge has scored calls

UNITS = {  # how a value is stored, which also decides how it is shown (present's format_value)
    "pct": "share, shown as %",
    "ms": "milliseconds, shown in seconds",
    "usd": "US dollars",
    "score": "judge score, 1–5",
    "nps": "NPS points, −100 to 100",
    "count": "count",
}


def number(row: Row, key: str | None) -> float | None:
    """The row's figure under `key` as a float; None when there is no key, no figure or NaN."""
    value = row.get(key) if key else None
    return float(value) if isinstance(value, SupportsFloat) and value == value else None  # not None, not NaN


@dataclass(frozen=True)
class NoiseTest:
    """How to tell whether a change between two periods is more than chance: the test's name for
    people, when it applies, and the function (from warehouse/stats.py) applied to the metric's
    two summary rows. `interval` is the metric's own 95% interval for one row, where the summary
    allows one."""

    name: str
    applies_to: str
    compare: Callable[[Metric, Row, Row], stats.TestResult | None]
    interval: Callable[[Metric, Row], stats.Interval | None]
    standardize: Callable[[Metric, Strata, Strata, list[float]], stats.Standardized | None]


def _successes(m: Metric, row: Row) -> tuple[int, int] | None:
    rate, n = number(row, m.key), number(row, m.n_key)
    return None if rate is None or not n else (round(rate * n), int(n))


def _proportions(m: Metric, now: Row, before: Row) -> stats.TestResult | None:
    first, second = _successes(m, now), _successes(m, before)
    return stats.two_proportion_test(*first, *second) if first and second else None


def _wilson(m: Metric, row: Row) -> stats.Interval | None:
    counts = _successes(m, row)
    return stats.wilson_interval(*counts) if counts else None


def _summary(m: Metric, row: Row) -> tuple[float, float, int] | None:
    mean, sd, n = number(row, m.key), number(row, m.spread_key), number(row, m.n_key)
    return None if mean is None or sd is None or not n else (mean, sd, int(n))


def _means(m: Metric, now: Row, before: Row) -> stats.TestResult | None:
    first, second = _summary(m, now), _summary(m, before)
    return stats.welch_t_test(*first, *second) if first and second else None


def _mean_interval(m: Metric, row: Row) -> stats.Interval | None:
    summary = _summary(m, row)
    return stats.mean_interval(*summary) if summary else None


def _above_pooled(m: Metric, row: Row) -> tuple[int, int] | None:
    share, n = number(row, m.spread_key), number(row, m.n_key)
    return None if share is None or not n else (round(share * n), int(n))


def _quantiles(m: Metric, now: Row, before: Row) -> stats.TestResult | None:
    first, second = _above_pooled(m, now), _above_pooled(m, before)
    return stats.two_proportion_test(*first, *second) if first and second else None


def _counts(m: Metric, now: Row, before: Row) -> stats.TestResult | None:
    first, second = number(now, m.key), number(before, m.key)
    return None if first is None or second is None else stats.poisson_counts_test(int(first), int(second))


def _no_interval(m: Metric, row: Row) -> None:
    return None


def _share_estimates(counts: list[tuple[int, int] | None]) -> list[stats.ArmEstimate] | None:
    if any(c is None for c in counts):
        return None
    return [stats.ArmEstimate(k / n, k * (n - k) / n**3, n) for k, n in counts]  # type: ignore[misc]


def _standardized_shares(counts_a: list, counts_b: list, weights: list[float]) -> stats.Standardized | None:
    """Shares compared within strata; the test's variance pools each stratum's two arms, as the
    two-proportion z-test does."""
    a, b = _share_estimates(counts_a), _share_estimates(counts_b)
    if a is None or b is None or len(a) != len(weights) or len(b) != len(weights):
        return None
    pooled = [(x.value * x.n + y.value * y.n) / (x.n + y.n) for x, y in zip(a, b, strict=True)]
    null = [p * (1 - p) * (1 / x.n + 1 / y.n) for p, x, y in zip(pooled, a, b, strict=True)]
    return stats.standardized_comparison(weights, a, b, null)


def _proportions_standardized(m: Metric, a: Strata, b: Strata, weights: list[float]) -> stats.Standardized | None:
    return _standardized_shares([_successes(m, r) for r in a], [_successes(m, r) for r in b], weights)


def _mean_estimates(m: Metric, rows: Strata) -> list[stats.ArmEstimate] | None:
    summaries = [_summary(m, r) for r in rows]
    if any(s is None or s[2] < 2 for s in summaries):
        return None
    return [stats.ArmEstimate(mean, sd * sd / n, n) for mean, sd, n in summaries]  # type: ignore[misc]


def _means_standardized(m: Metric, a: Strata, b: Strata, weights: list[float]) -> stats.Standardized | None:
    first, second = _mean_estimates(m, a), _mean_estimates(m, b)
    if first is None or second is None:
        return None
    return stats.standardized_comparison(weights, first, second, t_distribution=True)


def _weighted_value(m: Metric, rows: Strata, weights: list[float]) -> float | None:
    """Σ w_g·x_g of the strata's values; None when one has none."""
    values = [number(r, m.key) for r in rows]
    return sum(w * v for w, v in zip(weights, values, strict=True) if v is not None) if None not in values else None


def _quantiles_standardized(m: Metric, a: Strata, b: Strata, weights: list[float]) -> stats.Standardized | None:
    """Mood's test within strata: each stratum's shares above its own pooled percentile (the
    two arms' replies of that stratum together), compared as shares. The values shown are the
    strata's percentiles averaged with the common weights; a percentile has no interval here."""
    shares = _standardized_shares([_above_pooled(m, r) for r in a], [_above_pooled(m, r) for r in b], weights)
    value_a, value_b = _weighted_value(m, a, weights), _weighted_value(m, b, weights)
    if shares is None or value_a is None or value_b is None:
        return None
    none = (math.nan, math.nan)
    return stats.Standardized(value_a, value_b, value_b - value_a, none, none, none, shares.test)


def _counts_standardized(m: Metric, a: Strata, b: Strata, weights: list[float]) -> None:
    """Counts of events are compared over equal periods, never between arms."""
    return None


TWO_PROPORTIONS = NoiseTest(
    "two-proportion z-test", "a share of calls or replies (successes out of n)", _proportions, _wilson,
    _proportions_standardized)
WELCH = NoiseTest(
    "Welch's t-test", "a mean over calls or answers (unequal spreads allowed)", _means, _mean_interval,
    _means_standardized)
MOOD_QUANTILE = NoiseTest(
    "Mood's quantile test", "a percentile: the shares of each period above the two periods' pooled "
    "percentile, compared with the two-proportion z-test", _quantiles, _no_interval, _quantiles_standardized)
POISSON = NoiseTest(
    "exact Poisson test", "a count of events over two periods of the same length", _counts, _no_interval,
    _counts_standardized)


@dataclass(frozen=True)
class Metric:
    """One owned metric. `higher_is_better` is None when neither way is good news (volume).
    `n_key` is the column holding how many observations the value is over, `n_label` what they
    are; `spread_key` the extra column the noise test reads (a standard deviation for Welch, the
    share above the pooled percentile for Mood), None when it needs none. `left_out_key` counts
    what the figure had to leave out (calls it could not price), `left_out_label` says what they are."""

    key: str
    label: str
    help: str
    unit: str
    owner: str | None
    higher_is_better: bool | None
    noise: NoiseTest
    n_key: str
    n_label: str
    spread_key: str | None = None
    left_out_key: str | None = None
    left_out_label: str | None = None

    def change_test(self, now: Row, before: Row) -> stats.TestResult | None:
        """The noise test of `now` against `before`; None when either row lacks what it needs."""
        return self.noise.compare(self, now, before)

    def interval(self, row: Row) -> stats.Interval | None:
        return self.noise.interval(self, row)

    def standardized(self, a: Strata, b: Strata, weights: list[float]) -> stats.Standardized | None:
        """Arm `b` against arm `a`, stratum by stratum, combined with the common `weights` (the
        noise test made stratified: see `stats.standardized_comparison`)."""
        return self.noise.standardize(self, a, b, weights)


METRICS: tuple[Metric, ...] = (
    Metric("calls", "Calls", "Calls that started in the period and match the filters.", "count", None, None,
           POISSON, "calls", "calls"),
    Metric("conversion_rate", "Conversion rate", "Share of calls that ended in a booking or a qualified lead "
           "(among calls whose outcome the CRM has recorded).", "pct", "PM", True,
           TWO_PROPORTIONS, "conversion_n", "calls with an outcome"),
    Metric("nps", "NPS", "Net Promoter Score from post-call surveys: % who answered 9–10 minus % who "
           "answered 0–6. Ranges from −100 to 100.", "nps", "PM", True,
           WELCH, "nps_responses", "survey answers", "nps_sd"),
    Metric("resolution_rate", "Resolution rate", "Share of calls the agent resolved without handing over "
           "to a person (among calls with a recorded resolution).", "pct", "PM", True,
           TWO_PROPORTIONS, "resolution_n", "calls with a recorded resolution"),
    Metric("latency_p50_ms", "Reply time, typical (p50)", "Half of the agent's replies start sooner than "
           "this after the caller stops talking.", "ms", "Engineering", False,
           MOOD_QUANTILE, "replies", "replies", "latency_p50_share_above_pooled"),
    Metric("latency_p90_ms", "Reply time, slowest 10% (p90)", "90% of replies start sooner than this after "
           "the caller stops talking.", "ms", "Engineering", False,
           MOOD_QUANTILE, "replies", "replies", "latency_p90_share_above_pooled"),
    Metric("latency_p95_ms", "Reply time, slowest 5% (p95)", "95% of replies start sooner than this after "
           "the caller stops talking; the rest are the waits callers notice.", "ms", "Engineering", False,
           MOOD_QUANTILE, "replies", "replies", "latency_p95_share_above_pooled"),
    Metric("error_rate", "Error rate", "Share of calls in which at least one step failed (speech "
           "recognition, the language model, a tool, or speech synthesis).", "pct", "Engineering", False,
           TWO_PROPORTIONS, "calls", "calls"),
    Metric("cost_per_call_usd", "Cost per call", "What the models and speech services cost per call, "
           "from token and audio usage at list prices. Calls using a model with no list price are left out "
           "(python -m warehouse prices set adds one).", "usd", "Engineering", False,
           WELCH, "priced_calls", "calls with a known cost", "cost_per_call_sd",
           "unpriced_calls", "not priced (a model without a list price)"),
    Metric("eval_score", "Eval score", "Average quality score (1–5) the judges gave, one judgement per "
           "call: the latest.", "score", "Joint", True,
           WELCH, "judged_calls", "judged calls", "eval_score_sd"),
    Metric("hallucination_rate", "Hallucination rate", "Share of judged calls in which the agent stated a "
           "fact (price, time, date, address) its own tools contradict.", "pct", "Joint", False,
           TWO_PROPORTIONS, "judged_calls", "judged calls"),
    Metric("interruption_rate", "Calls with talking over", "Share of calls in which someone started talking "
           "while the other was still speaking: the caller barging in on the agent, or the agent talking over "
           "the caller.", "pct", "Conversation", False,
           TWO_PROPORTIONS, "voice_calls", "calls with a transcript"),
    Metric("dead_air_rate", "Calls with dead air", "Share of calls with a silence of 3 s or more between "
           "turns (CALLBOARD_DEAD_AIR_SECONDS changes the threshold).", "pct", "Conversation", False,
           TWO_PROPORTIONS, "voice_calls", "calls with a transcript"),
    Metric("talk_ratio", "Agent talk share", "The agent's speaking time as a share of all speaking time in "
           "the calls. A rising share often means long-winded replies.", "pct", "Conversation", None,
           WELCH, "voice_calls", "calls with a transcript", "talk_ratio_sd"),
    Metric("hang_up_rate", "Callers who hung up", "Share of calls the caller ended before the agent was done "
           "(among calls whose source says how they ended: completed, caller hung up, transferred to a person, "
           "voicemail or error).", "pct", "Conversation", False,
           TWO_PROPORTIONS, "ended_calls", "calls with a known ending"),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
KEYS: tuple[str, ...] = tuple(BY_KEY)
GROUPS: dict[str, tuple[Metric, ...]] = {
    title: tuple(m for m in METRICS if m.owner == owner) for owner, title in OWNERS.items()
}


PAGE_ALPHA = 0.05
CHANGE_LEVEL = PAGE_ALPHA / sum(1 for m in METRICS if m.owner)  # Bonferroni over the overview's cards


def unlikely_noise(result: stats.TestResult | None) -> bool:
    """Whether a change's test puts it beyond chance: p below `CHANGE_LEVEL`, the 5% shared
    across every owned metric compared at once, so that on a page where nothing changed at
    most one comparison in twenty shows any change as news."""
    return result is not None and result.p_value < CHANGE_LEVEL


def shows_nothing_yet(group: str, judged_calls: float | None) -> bool:
    """Whether a group has no figures to show yet: the joint metrics before any judgement."""
    return group == OWNERS[NEEDS_JUDGEMENTS] and not judged_calls


def computed_columns() -> set[str]:
    """Every column the metric definitions must compute for the registry: values, sample sizes
    and the figures the noise tests read."""
    return {c for m in METRICS for c in (m.key, m.n_key, m.spread_key, m.left_out_key) if c}
