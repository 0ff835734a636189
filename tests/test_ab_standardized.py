"""Compare versions' statistics with a known truth: the standardized (stratified) tests reduce to
the registry's own tests with one agent, match a hand computation with two, and hold their level
when the arms' agent mix is confounded with the arm and the arm itself does nothing; Holm's
adjustment matches its definition.

The simulation (docs/metrics.md, "Comparing two versions"): two agents that differ in every metric
(conversion 30% and 60%, cost $0.05 and $0.09, reply time medians 900 and 1,400 ms); arm A's calls
are 80% the first agent, arm B's 80% the second; within an agent the arms are the same. The
unadjusted tests call that difference significant in nearly every draw; the standardized ones in
about 5% (between 3% and 7.5% over 1,000 draws: the binomial spread of a 5% rate there is ±1.4
points)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from warehouse import stats
from warehouse.metric_registry import BY_KEY

DRAWS = 1000
CONVERSION, COST, LATENCY = BY_KEY["conversion_rate"], BY_KEY["cost_per_call_usd"], BY_KEY["latency_p50_ms"]


def test_one_agent_is_the_registry_test_exactly() -> None:
    a = {"conversion_rate": 120 / 400, "conversion_n": 400, "cost_per_call_usd": 0.07, "cost_per_call_sd": 0.02,
         "priced_calls": 400}  # fmt: skip
    b = {"conversion_rate": 150 / 380, "conversion_n": 380, "cost_per_call_usd": 0.066, "cost_per_call_sd": 0.03,
         "priced_calls": 380}  # fmt: skip
    for m in (CONVERSION, COST):
        standardized = m.standardized([a], [b], [1.0])
        plain = m.change_test(b, a)
        assert standardized.test.z == pytest.approx(plain.z)
        assert standardized.test.p_value == pytest.approx(plain.p_value)
        assert standardized.difference == pytest.approx(b[m.key] - a[m.key])


def test_two_agents_match_a_hand_computation() -> None:
    """Weights 0.25 / 0.75; the difference Σ w·(b − a) and its pooled-variance z, worked in numpy."""
    k_a, n_a, k_b, n_b = np.array([30, 200]), np.array([100, 400]), np.array([50, 90]), np.array([150, 160])
    w = np.array([0.25, 0.75])
    rows = [[{"conversion_rate": k / n, "conversion_n": n} for k, n in zip(k_x, n_x, strict=True)]
            for k_x, n_x in ((k_a, n_a), (k_b, n_b))]  # fmt: skip
    result = CONVERSION.standardized(rows[0], rows[1], list(w))
    p_a, p_b, pooled = k_a / n_a, k_b / n_b, (k_a + k_b) / (n_a + n_b)
    difference = float(w @ (p_b - p_a))
    z = difference / math.sqrt(float(w**2 @ (pooled * (1 - pooled) * (1 / n_a + 1 / n_b))))
    half = 1.959963984540054 * math.sqrt(float(w**2 @ (p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)))
    assert result.value_a == pytest.approx(float(w @ p_a)) and result.value_b == pytest.approx(float(w @ p_b))
    assert result.difference == pytest.approx(difference)
    assert result.test.z == pytest.approx(z)
    assert result.test.p_value == pytest.approx(2 * scipy.stats.norm.sf(abs(z)))
    assert result.interval == pytest.approx((difference - half, difference + half))


def test_holm_matches_its_definition() -> None:
    """Adjusted p_i = max over the p_j ≤ p_i of (m − rank_j)·p_j, capped at 1 (rank from 0)."""
    p = [0.01, 0.04, None, 0.03, 0.005, 0.5]
    tested = sorted(x for x in p if x is not None)
    m = len(tested)
    expected = [None if x is None else max(min(1.0, (m - r) * tested[r]) for r in range(m) if tested[r] <= x)
                for x in p]  # fmt: skip
    assert stats.holm_adjusted(p) == pytest.approx(expected)
    assert stats.holm_adjusted(p) == pytest.approx([0.04, 0.09, None, 0.09, 0.025, 0.5])  # worked by hand


def _arm(rng: np.random.Generator, calls: int, first_share: float) -> tuple[np.ndarray, np.ndarray]:
    """One arm's calls: which agent (0 or 1) and a uniform draw per call for its outcomes."""
    return (rng.random(calls) > first_share).astype(int), rng.random(calls)


def _rows(agent: np.ndarray, u: np.ndarray, latency: np.ndarray, pooled: list[float]) -> list[dict]:
    """Per agent, the summary row the owned definitions would compute."""
    rows = []
    for g in (0, 1):
        mine = agent == g
        booked = u[mine] < (0.3, 0.6)[g]
        cost = (0.05, 0.09)[g] + 0.02 * scipy.stats.norm.ppf(u[mine])
        times = latency[mine]
        rows.append({
            "conversion_rate": booked.mean(), "conversion_n": int(mine.sum()),
            "cost_per_call_usd": cost.mean(), "cost_per_call_sd": cost.std(ddof=1), "priced_calls": int(mine.sum()),
            "latency_p50_ms": float(np.quantile(times, 0.5)), "replies": len(times),
            "latency_p50_share_above_pooled": float((times > pooled[g]).mean()),
        })  # fmt: skip
    return rows


def _draw(seed: int) -> dict[str, tuple[bool, bool]]:
    """One confounded draw: per metric, whether the unadjusted and the standardized test reject at 5%."""
    rng = np.random.default_rng(seed)
    (agent_a, u_a), (agent_b, u_b) = _arm(rng, 400, 0.8), _arm(rng, 400, 0.2)
    median = np.array([900.0, 1400.0])
    lat_a = median[agent_a] * np.exp(0.5 * rng.standard_normal(len(agent_a)))
    lat_b = median[agent_b] * np.exp(0.5 * rng.standard_normal(len(agent_b)))
    pooled = [float(np.median(np.concatenate([lat_a[agent_a == g], lat_b[agent_b == g]]))) for g in (0, 1)]
    rows_a, rows_b = _rows(agent_a, u_a, lat_a, pooled), _rows(agent_b, u_b, lat_b, pooled)
    sizes = [int((agent_a == g).sum() + (agent_b == g).sum()) for g in (0, 1)]
    weights = [n / sum(sizes) for n in sizes]
    everyone = np.median(np.concatenate([lat_a, lat_b]))
    whole = {"a": (agent_a, u_a, lat_a), "b": (agent_b, u_b, lat_b)}
    plain = {}
    for arm, (agent, u, lat) in whole.items():
        booked = u < np.where(agent == 0, 0.3, 0.6)
        cost = np.where(agent == 0, 0.05, 0.09) + 0.02 * scipy.stats.norm.ppf(u)
        plain[arm] = {"conversion_rate": booked.mean(), "conversion_n": len(u), "cost_per_call_usd": cost.mean(),
                      "cost_per_call_sd": cost.std(ddof=1), "priced_calls": len(u), "replies": len(lat),
                      "latency_p50_share_above_pooled": float((lat > everyone).mean())}  # fmt: skip
    return {
        m.key: (m.change_test(plain["b"], plain["a"]).p_value < 0.05,
                m.standardized(rows_a, rows_b, weights).test.p_value < 0.05)
        for m in (CONVERSION, COST, LATENCY)
    }  # fmt: skip


@pytest.fixture(scope="module")
def rejections() -> dict[str, np.ndarray]:
    draws = [_draw(seed) for seed in range(DRAWS)]
    return {key: np.array([d[key] for d in draws]) for key in draws[0]}


@pytest.mark.parametrize("metric", ["conversion_rate", "cost_per_call_usd", "latency_p50_ms"])
def test_the_standardized_test_holds_its_level_when_the_mix_is_confounded(rejections: dict, metric: str) -> None:
    unadjusted, standardized = rejections[metric].mean(axis=0)
    assert unadjusted > 0.9, "the confounding is strong enough to fool the unadjusted test"
    assert 0.03 <= standardized <= 0.075
