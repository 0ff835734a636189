"""The statistics behind the drift flags and A/B comparisons, against values worked out by hand or
published with the method."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from warehouse import stats


def test_wilson_interval_for_10_of_20_matches_the_published_value() -> None:
    low, high = stats.wilson_interval(10, 20)
    assert (round(low, 4), round(high, 4)) == (0.2993, 0.7007)


def test_wilson_interval_stays_inside_0_and_1_and_refuses_an_empty_sample() -> None:
    assert stats.wilson_interval(0, 10)[0] == 0.0
    assert stats.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert stats.wilson_interval(0, 0) is None


def test_difference_interval_matches_newcombes_worked_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 − 48/80, method 10.
    low, high = stats.difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_mann_whitney_on_a_small_case_worked_by_hand() -> None:
    # x = 1, 2, 2, 4 and y = 2, 3, 5. Pooled and sorted: 1(x) 2(x) 2(x) 2(y) 3(y) 4(x) 5(y);
    # ranks 1, 3, 3, 3, 5, 6, 7 (the three 2s share 2, 3, 4). R_x = 1 + 3 + 3 + 6 = 13, so
    # U_x = 13 − 4·5/2 = 3; mean n1·n2/2 = 6. Ties: one group of 3, (27 − 3) / (7·6) = 4/7, so
    # var = 4·3/12 · (8 − 4/7) = 52/7. z = (3 − 6 + 0.5) / √(52/7) = −0.9173, p = 0.3590.
    u, result = stats.mann_whitney_u(np.array([1, 2, 2, 4]), np.array([2, 3, 5]))
    assert u == 3
    assert result.z == pytest.approx(-2.5 / math.sqrt(52 / 7))
    assert result.p_value == pytest.approx(0.3590, abs=1e-4)


def test_a_p_value_far_out_in_the_tail_is_not_rounded_to_zero() -> None:
    assert 0 < stats.z_test(12.0, 1.0).p_value < 1e-30


def test_mann_whitney_sees_a_shift_and_is_symmetric() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(1.0, 1, 400), rng.normal(0.0, 1, 400)
    _, forward = stats.mann_whitney_u(x, y)
    _, backward = stats.mann_whitney_u(y, x)
    assert forward.z > 5 and forward.p_value < 1e-6
    assert backward.z == pytest.approx(-forward.z)
    assert stats.mann_whitney_u(np.ones(5), np.ones(5)) is None


def test_two_proportion_test_against_a_hand_computation() -> None:
    # 30/100 against 20/100: pooled 0.25, se = √(0.25·0.75·0.02) = 0.061237, z = 0.1 / se = 1.63299.
    result = stats.two_proportion_test(30, 100, 20, 100)
    assert result.z == pytest.approx(1.63299, abs=1e-5)
    assert result.p_value == pytest.approx(0.10247, abs=1e-4)
    assert stats.two_proportion_test(0, 50, 0, 50) is None


def test_welch_test_against_a_hand_computation() -> None:
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0])
    # means 2.5 and 4; variances 5/3 and 4; se = √(5/12 + 4/3) = 1.32288; z = −1.5 / se.
    assert stats.welch_test(x, y).z == pytest.approx(-1.5 / math.sqrt(5 / 12 + 4 / 3))


def test_quantile_interval_uses_the_order_statistics_around_n_q() -> None:
    values = np.arange(1, 101, dtype=float)  # n = 100, median: ranks 50 ± 1.96·5 → 40 and 60
    assert stats.quantile_interval(values, 0.5) == (40.0, 60.0)
    assert stats.quantile_interval(np.arange(1, 21, dtype=float), 0.99) is None


def test_ratio_interval_is_symmetric_on_the_log_scale() -> None:
    low, high = stats.ratio_interval(2.0, 0.1, 0.0)
    assert low * high == pytest.approx(4.0)
    assert high / 2.0 == pytest.approx(math.exp(stats.Z_95 * 0.1))


def test_total_variation_distance() -> None:
    assert stats.total_variation_distance({"a": 5, "b": 5}, {"a": 10}) == pytest.approx(0.5)
    assert stats.total_variation_distance({"a": 1}, {"a": 3}) == 0
    assert stats.total_variation_distance({}, {"a": 1}) is None


def test_welch_t_test_matches_welchs_worked_example() -> None:
    # Two samples with unequal spreads, worked by hand: means 20.0 and 22.0, sd 2 and 4, n 10 and 12.
    # se² = 4/10 + 16/12 = 1.7333, t = −2 / 1.3166 = −1.5191; Welch–Satterthwaite
    # df = 1.7333² / (0.4²/9 + 1.3333²/11) = 16.75; two-sided p from t(16.75) = 0.1474.
    result = stats.welch_t_test(20.0, 2.0, 10, 22.0, 4.0, 12)
    assert result.z == pytest.approx(-2 / math.sqrt(0.4 + 16 / 12))
    assert result.p_value == pytest.approx(0.1474, abs=1e-4)
    assert stats.welch_t_test(1.0, 0.0, 5, 1.0, 0.0, 5) is None
    assert stats.welch_t_test(1.0, 1.0, 1, 1.0, 1.0, 5) is None


def test_poisson_counts_test_is_the_exact_binomial_on_the_split() -> None:
    # 10 against 2 events: given 12, P(X ≥ 10 | Bin(12, ½)) = (66 + 12 + 1) / 4096, doubled = 0.03857.
    result = stats.poisson_counts_test(10, 2)
    assert result.p_value == pytest.approx(2 * 79 / 4096)
    assert result.z == pytest.approx(8 / math.sqrt(12))
    assert stats.poisson_counts_test(0, 0) is None


def test_fisher_exact_test_matches_the_tea_tasting_example() -> None:
    """Fisher's lady tasting tea: 3 of 4 cups right against 1 of 4 has two-sided p = 34/70."""
    result = stats.fisher_exact_test(3, 4, 1, 4)
    assert result is not None and result.p_value == pytest.approx(34 / 70)
    assert result.z == pytest.approx(0.5)
    assert stats.fisher_exact_test(0, 50, 0, 60) is None and stats.fisher_exact_test(1, 0, 1, 5) is None


def test_fisher_holds_its_level_on_a_rare_rate_where_the_z_test_does_not() -> None:
    """A failure rate of 0.2% in 1,000 requests a week against 4,000 before, nothing changed: at the
    level a drift flag needs (0.001), the z-test rejects about three times too often, Fisher's never does."""
    rng = np.random.default_rng(3)
    draws = [(int(rng.binomial(1000, 0.002)), int(rng.binomial(4000, 0.002))) for _ in range(10000)]
    level = 0.001

    def rejections(test) -> float:
        results = [test(k1, 1000, k2, 4000) for k1, k2 in draws]
        return sum(1 for r in results if r is not None and r.p_value < level) / len(draws)

    assert rejections(stats.fisher_exact_test) <= level
    assert rejections(stats.two_proportion_test) > 2 * level


def test_fisher_exact_test_agrees_with_scipys_on_random_tables() -> None:
    rng = np.random.default_rng(8)
    for _ in range(300):
        n1, n2 = (int(n) for n in rng.integers(1, 3000, 2))
        k1, k2 = int(rng.binomial(n1, 0.03)), int(rng.binomial(n2, rng.choice([0.03, 0.06])))
        result = stats.fisher_exact_test(k1, n1, k2, n2)
        if result is None:
            continue
        expected = scipy.stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
        assert result.p_value == pytest.approx(expected, rel=1e-6, abs=1e-15)
