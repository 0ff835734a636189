"""The statistics behind the drift flags, the A/B comparison and the overview's noise tests, as
plain functions over numbers.

Most of it is a normal approximation or distribution-free: the samples Callboard tests are
hundreds to thousands of calls or steps, where the approximations are accurate, and the callers
refuse to judge smaller ones. Where scipy gives the test directly (Welch's t, Mann–Whitney, the
exact binomial, the normal tail), it is used rather than a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats

Z_95 = 1.959963984540054

Interval = tuple[float, float]


@dataclass(frozen=True)
class TestResult:
    """A test's statistic (a z score or a t, signed: positive when the first sample is higher) and its
    two-sided p-value."""

    z: float
    p_value: float


def _from_z(z: float) -> TestResult:
    """Two-sided p from the normal's lower tail at −|z| (scipy's `ndtr`, a plain ufunc: the drift
    flags call it thousands of times), which stays above 0 far out in the tail where 1 − cdf
    rounds to 0."""
    return TestResult(z, float(2.0 * scipy.special.ndtr(-abs(z))))


def z_test(difference: float, se: float) -> TestResult | None:
    """Normal test of a difference against 0, given its standard error."""
    return _from_z(difference / se) if se > 0 else None


def wilson_interval(successes: int, n: int, z: float = Z_95) -> Interval | None:
    """Wilson score interval for a proportion: unlike the textbook p ± z·se it stays inside
    [0, 1] and keeps its coverage at small n and near 0 or 1. None when n is 0."""
    return _wilson(successes / n, n, z) if n > 0 else None


def _wilson(p: float, n: float, z: float) -> Interval:
    """The Wilson interval around a share `p` measured on `n` (possibly an effective, fractional) calls."""
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


@dataclass(frozen=True)
class Stratum:
    """One group of a stratified draw: calls in the population, calls with a yes/no measured in the
    sample, and how many said yes."""

    size: float
    measured: int
    yes: int


@dataclass(frozen=True)
class StratifiedShare:
    estimate: float
    interval: Interval


def stratified_share(strata: list[Stratum], z: float = Z_95) -> StratifiedShare | None:
    """The population share behind a stratified (or oversampled) sample, with a design-based
    interval. The estimate weights each stratum's share by its share of the population,
    Σ W_h·p_h. The interval combines each stratum's Wilson interval the way the stratified
    estimator's variance, Σ W_h²·var(p_h), combines their variances (the MOVER method of Newcombe
    and Zou, as in `difference_interval`): each side's half-width is √Σ W_h²·(1 − n_h/N_h)·d_h²,
    with d_h the distance from p_h to that side of its Wilson interval and 1 − n_h/N_h the
    finite-population correction (calls are drawn without replacement). Unlike p ± z·se it keeps
    its coverage when a small stratum's share is 0 or 1, where the plain variance is 0. Strata with
    no measurement are left out and the rest re-weighted (the caller says so); None when nothing
    is measured."""
    measured = [s for s in strata if s.measured > 0]
    if not measured:
        return None
    population = sum(s.size for s in measured)
    estimate, below, above = 0.0, 0.0, 0.0
    for s in measured:
        weight, share = s.size / population, s.yes / s.measured
        low, high = _wilson(share, s.measured, z)
        kept = weight * weight * (1 - min(1.0, s.measured / s.size))
        estimate += weight * share
        below += kept * (share - low) ** 2
        above += kept * (high - share) ** 2
    return StratifiedShare(estimate, (max(0.0, estimate - math.sqrt(below)), min(1.0, estimate + math.sqrt(above))))


def difference_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z_95) -> Interval | None:
    """Interval for p1 − p2 from the two Wilson intervals (Newcombe's method 10), which keeps
    its coverage where the plain normal interval for a difference does not (rare events)."""
    first, second = wilson_interval(k1, n1, z), wilson_interval(k2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return (d - math.hypot(p1 - first[0], second[1] - p2), d + math.hypot(first[1] - p1, p2 - second[0]))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> TestResult | None:
    """Two-proportion z-test with the pooled proportion; None when either sample is empty or
    neither has a single event (or non-event), where there is no spread to test against."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    return z_test(k1 / n1 - k2 / n2, math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))


def fisher_exact_test(k1: int, n1: int, k2: int, n2: int) -> TestResult | None:
    """Fisher's exact test that two shares, k1 of n1 and k2 of n2, come from one rate: given the
    events' total, the first sample's count is hypergeometric, and the two-sided p sums the
    probabilities of every count no more likely than the one seen (scipy's `fisher_exact` rule,
    with its relative tolerance of 1e-7 for ties; here in one vectorized pass, as scipy's own takes
    milliseconds a call and the drift flags make thousands). Exact for any counts, so it holds its
    level for rare events (a tool that fails 3 times in 2,000) where the two-proportion z-test
    does not. The statistic is the difference of the shares. None when either sample is empty,
    or when no row (or every row) has the event, where there is nothing to test."""
    if n1 <= 0 or n2 <= 0 or k1 + k2 in (0, n1 + n2):
        return None
    events = k1 + k2
    support = np.arange(max(0, events - n2), min(events, n1) + 1)
    log_pmf = _log_choose(n1, support) + _log_choose(n2, events - support) - _log_choose(n1 + n2, np.array(events))
    seen = log_pmf[k1 - support[0]]
    p_value = float(np.exp(log_pmf[log_pmf <= seen + math.log1p(1e-7)]).sum())
    return TestResult(k1 / n1 - k2 / n2, min(1.0, p_value))


def _log_choose(n: int, k: np.ndarray) -> np.ndarray:
    """log of n choose k, elementwise."""
    return scipy.special.gammaln(n + 1) - scipy.special.gammaln(k + 1) - scipy.special.gammaln(n - k + 1)


def mann_whitney_u(x: np.ndarray, y: np.ndarray) -> tuple[float, TestResult] | None:
    """Mann–Whitney U of `x` against `y` and its normal approximation with the tie and
    continuity corrections (scipy's `mannwhitneyu`, asymptotic method); the z, read back from
    the p-value, is positive when `x` tends to be larger. It compares whole distributions by rank,
    so a few extreme values cannot dominate it the way they dominate a t-test on skewed
    latencies. None when a sample is empty or every value is the same."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0 or len(y) == 0 or np.unique(np.concatenate([x, y])).size < 2:
        return None
    result = scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    u, p_value = float(result.statistic), float(result.pvalue)
    shift = u - len(x) * len(y) / 2.0
    return u, TestResult(math.copysign(float(scipy.stats.norm.isf(p_value / 2)), shift), p_value)


def welch_t_test(mean_1: float, sd_1: float, n_1: int, mean_2: float, sd_2: float, n_2: int) -> TestResult | None:
    """Welch's t-test for a difference in means from each sample's mean, standard deviation
    (ddof 1) and size: unequal variances allowed, Student's t with the Welch–Satterthwaite
    degrees of freedom (scipy's `ttest_ind_from_stats`). The statistic is positive when the
    first mean is higher. None when a sample has fewer than 2 values or neither has any spread."""
    if n_1 < 2 or n_2 < 2 or sd_1 != sd_1 or sd_2 != sd_2 or sd_1 ** 2 / n_1 + sd_2 ** 2 / n_2 <= 0:
        return None
    result = scipy.stats.ttest_ind_from_stats(mean_1, sd_1, n_1, mean_2, sd_2, n_2, equal_var=False)
    return TestResult(float(result.statistic), float(result.pvalue))


def welch_test(x: np.ndarray, y: np.ndarray) -> TestResult | None:
    """`welch_t_test` on two samples of values."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return None
    return welch_t_test(float(x.mean()), float(x.std(ddof=1)), len(x), float(y.mean()), float(y.std(ddof=1)), len(y))


def poisson_counts_test(k_1: int, k_2: int) -> TestResult | None:
    """Exact test that two counts of events over periods of the same length come from one rate:
    given their total, the first is binomial with p = ½ (scipy's `binomtest`). The statistic is
    the normal score of the first count's excess, positive when it is the larger. None when
    both are 0."""
    total = k_1 + k_2
    if total <= 0:
        return None
    p_value = scipy.stats.binomtest(k_1, total, 0.5).pvalue
    return TestResult((k_1 - k_2) / math.sqrt(total), float(p_value))


def mean_interval(mean: float, sd: float, n: int, z: float = Z_95) -> Interval | None:
    """Normal interval for a mean."""
    if n < 2 or sd != sd:
        return None
    half = z * sd / math.sqrt(n)
    return mean - half, mean + half


def quantile_interval(values: np.ndarray, q: float, z: float = Z_95) -> Interval | None:
    """Distribution-free interval for the q-quantile: the order statistics whose ranks lie
    z binomial standard deviations either side of n·q. None when the sample is too small to
    reach that far into the tail."""
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    spread = z * math.sqrt(n * q * (1 - q))
    low, high = math.floor(n * q - spread), math.ceil(n * q + spread)
    if low < 1 or high > n:
        return None
    return float(ordered[low - 1]), float(ordered[high - 1])


def ratio_interval(ratio: float, log_se_1: float, log_se_2: float, z: float = Z_95) -> Interval:
    """Interval for a ratio of two independent positive estimates, on the log scale where their
    errors add (the delta method)."""
    half = z * math.hypot(log_se_1, log_se_2)
    return ratio * math.exp(-half), ratio * math.exp(half)


def quantile_log_se(values: np.ndarray, q: float, z: float = Z_95) -> float | None:
    """Standard error of the log of the q-quantile, read off its distribution-free interval."""
    interval = quantile_interval(values, q, z)
    if interval is None or interval[0] <= 0:
        return None
    return (math.log(interval[1]) - math.log(interval[0])) / (2 * z)


def mean_log_se(values: np.ndarray) -> float | None:
    """Standard error of the log of a positive mean (the coefficient of variation over √n)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or values.mean() <= 0:
        return None
    return float(values.std(ddof=1) / math.sqrt(len(values)) / values.mean())


def total_variation_distance(first: dict[str, int], second: dict[str, int]) -> float | None:
    """Half the summed absolute difference of two mixes' shares: the share of traffic that would
    have to move for the two mixes to match (0 identical, 1 disjoint)."""
    total_1, total_2 = sum(first.values()), sum(second.values())
    if not total_1 or not total_2:
        return None
    keys = set(first) | set(second)
    return 0.5 * sum(abs(first.get(k, 0) / total_1 - second.get(k, 0) / total_2) for k in keys)


@dataclass(frozen=True)
class ArmEstimate:
    """One stratum's figure in one arm of a comparison: the estimate, its variance (the squared
    standard error) and the observations behind it."""

    value: float
    variance: float
    n: int


@dataclass(frozen=True)
class Standardized:
    """Two arms compared by direct standardization: each arm's figure as Σ w_g·x_g over strata g
    with common weights w_g, the difference b − a, its 95% interval, the test (z or t, positive
    when b is higher) and each arm's own 95% interval."""

    value_a: float
    value_b: float
    difference: float
    interval: Interval
    interval_a: Interval
    interval_b: Interval
    test: TestResult | None


def _weighted(weights: list[float], values: list[float]) -> float:
    return sum(w * x for w, x in zip(weights, values, strict=True))


def standardized_comparison(
    weights: list[float],
    a: list[ArmEstimate],
    b: list[ArmEstimate],
    null_variances: list[float] | None = None,
    t_distribution: bool = False,
) -> Standardized | None:
    """Arms `a` and `b` compared within strata (agents) and combined with one set of weights, so
    a difference in the arms' mix of strata cannot pass for a difference between the arms
    (direct standardization). The difference Σ w_g·(b_g − a_g) has variance Σ w_g²·(var a_g +
    var b_g); the test divides it by the root of that, or of Σ w_g²·`null_variances`_g when given
    (the variance if the arms were the same, as the pooled two-proportion test uses). With
    `t_distribution` the p-value is Student's t with Welch–Satterthwaite degrees of freedom,
    Σ v² ÷ Σ v_g²/(n_g − 1) over every arm-stratum variance v_g = w_g²·var_g. With one stratum this
    is the pooled two-proportion z-test, or Welch's t-test, exactly. Intervals are value ± z·se
    (t with `t_distribution`). None when a weight has no estimate in an arm."""
    if not weights or len(a) != len(weights) or len(b) != len(weights):
        return None
    squared = [w * w for w in weights]
    parts = [s * e.variance for s, arm in zip(squared, zip(a, b, strict=True), strict=True) for e in arm]
    variance = sum(parts)
    tested = _weighted(squared, null_variances) if null_variances is not None else variance
    difference = _weighted(weights, [y.value - x.value for x, y in zip(a, b, strict=True)])
    ns = [e.n for pair in zip(a, b, strict=True) for e in pair]
    df = (variance * variance / sum(v * v / (n - 1) for v, n in zip(parts, ns, strict=True) if n > 1)
          if t_distribution and variance > 0 and min(ns) > 1 else math.inf)  # fmt: skip
    critical = float(scipy.stats.t.isf(0.025, df)) if math.isfinite(df) else Z_95

    def around(value: float, var: float) -> Interval:
        half = critical * math.sqrt(var)
        return value - half, value + half

    test = None
    if tested > 0:
        statistic = difference / math.sqrt(tested)
        tail = scipy.stats.t.sf(abs(statistic), df) if math.isfinite(df) else scipy.stats.norm.sf(abs(statistic))
        test = TestResult(statistic, float(2.0 * tail))
    value_a, value_b = _weighted(weights, [e.value for e in a]), _weighted(weights, [e.value for e in b])
    return Standardized(
        value_a=value_a,
        value_b=value_b,
        difference=difference,
        interval=around(difference, variance),
        interval_a=around(value_a, _weighted(squared, [e.variance for e in a])),
        interval_b=around(value_b, _weighted(squared, [e.variance for e in b])),
        test=test,
    )


def holm_adjusted(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of the p-values of the tests on one page (None: not tested):
    the i-th smallest of m is multiplied by m − i + 1, and each adjusted value is at least the one
    before it. Comparing the adjusted values with α keeps the chance of any false 'significant'
    among the m at α, like Bonferroni, while calling more true differences."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted
