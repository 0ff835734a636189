"""Simulated review sessions with a known truth: a population of calls whose pass/fail is fixed in
advance, drawn again and again with different seeds the way the app draws them
(warehouse/sampling.py), and summarised the way the summary page does
(warehouse/review_summary.py::population_strata, warehouse/stats.py::stratified_share).

Tolerances (docs/review.md): the 95% interval covers the truth in 90–98% of draws; the mean
estimate of a team that stops at 30 of 50 is within 2 points of the truth (the draws' own noise
on the mean is about 0.3 points, and the old order's bias was +9)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from warehouse import stats
from warehouse.review_metrics import PASS_FAIL
from warehouse.review_summary import agreement_table, population_strata
from warehouse.sampling import Candidate, draw

SEEDS = 300
STOP_EARLY_TOLERANCE = 0.02


def population(size: int = 400) -> tuple[list[Candidate], dict[str, bool]]:
    """Three agents of unequal size; 15% of calls flagged by the judge, and those pass far less often
    (35% against 93%), as in the audit's demo."""
    rng = np.random.default_rng(2026)
    agents = rng.choice(["clinic", "estate", "salon"], size=size, p=[0.5, 0.3, 0.2])
    flagged = rng.random(size) < 0.15
    passed = rng.random(size) < np.where(flagged, 0.35, 0.93)
    calls = [Candidate(f"call-{i}", str(agents[i]), bool(flagged[i])) for i in range(size)]
    return calls, {c.call_id: bool(p) for c, p in zip(calls, passed, strict=True)}


CALLS, PASSED = population()
TRUTH = float(np.mean(list(PASSED.values())))


def estimate(strategy: str, seed: int, scored: int) -> stats.StratifiedShare:
    """The summary's pass rate after the team scored the first `scored` calls in the order shown."""
    drawn = draw(CALLS, strategy, 50, seed)
    frame = pl.DataFrame(
        {"stratum": [d.stratum for d in drawn], "weight": [d.weight for d in drawn],
         "passed": [PASSED[d.call_id] if i < scored else None for i, d in enumerate(drawn)]},
        schema={"stratum": pl.String, "weight": pl.Float64, "passed": pl.Boolean},
    )  # fmt: skip
    share = stats.stratified_share(population_strata(frame))
    assert share is not None
    return share


@pytest.fixture(scope="module", params=["uniform", "stratified_agent", "oversample_flagged"])
def sessions(request: pytest.FixtureRequest) -> dict[int, list[stats.StratifiedShare]]:
    return {scored: [estimate(request.param, seed, scored) for seed in range(SEEDS)] for scored in (50, 30)}


def coverage(shares: list[stats.StratifiedShare]) -> float:
    return float(np.mean([low <= TRUTH <= high for low, high in (s.interval for s in shares)]))


def test_the_pass_rate_interval_covers_the_truth_about_95_percent_of_the_time(sessions: dict) -> None:
    assert 0.90 <= coverage(sessions[50]) <= 0.98
    assert 0.90 <= coverage(sessions[30]) <= 0.98


def test_stopping_at_30_of_50_does_not_bias_the_pass_rate(sessions: dict) -> None:
    assert abs(np.mean([s.estimate for s in sessions[30]]) - TRUTH) < STOP_EARLY_TOLERANCE
    assert abs(np.mean([s.estimate for s in sessions[50]]) - TRUTH) < STOP_EARLY_TOLERANCE


def test_the_raw_share_of_an_oversampled_draw_is_far_from_the_truth() -> None:
    """Why the headline is re-weighted: half the draw is flagged calls, which are 15% of the period."""
    raw = np.mean([PASSED[d.call_id] for seed in range(50) for d in draw(CALLS, "oversample_flagged", 50, seed)])
    assert TRUTH - raw > 0.15


def test_the_order_shown_mixes_the_strata() -> None:
    """In every seed's first 30 calls of an oversampled draw, the flagged share is near its half of
    the draw (it was 0 to a few when flagged calls were listed last)."""
    first_30 = [sum(d.stratum == "flagged" for d in draw(CALLS, "oversample_flagged", 50, seed)[:30])
                for seed in range(200)]  # fmt: skip
    assert 13 <= np.mean(first_30) <= 17
    assert min(first_30) >= 7


def test_the_interval_matches_an_independent_computation() -> None:
    """Two strata worked by hand: Wilson per stratum, half-widths combined with W_h² and the
    finite-population correction."""
    strata = [stats.Stratum(size=800, measured=20, yes=19), stats.Stratum(size=200, measured=20, yes=8)]
    share = stats.stratified_share(strata)
    w = [0.8, 0.2]
    p = [19 / 20, 8 / 20]
    bounds = [stats.wilson_interval(19, 20), stats.wilson_interval(8, 20)]
    fpc = [1 - 20 / 800, 1 - 20 / 200]
    centre = w[0] * p[0] + w[1] * p[1]
    below = sum(w[i] ** 2 * fpc[i] * (p[i] - bounds[i][0]) ** 2 for i in range(2)) ** 0.5
    above = sum(w[i] ** 2 * fpc[i] * (bounds[i][1] - p[i]) ** 2 for i in range(2)) ** 0.5
    assert share.estimate == pytest.approx(centre)
    assert share.interval == pytest.approx((centre - below, centre + above))
    assert stats.stratified_share([stats.Stratum(100, 0, 0)]) is None


def agreement_with_judge(seed: int) -> pl.DataFrame:
    """The summary's pass / fail agreement row for one oversampled draw, every call scored; the judge
    fails exactly the calls it flagged."""
    drawn = draw(CALLS, "oversample_flagged", 50, seed)
    calls = pl.DataFrame({"call_id": [d.call_id for d in drawn], "stratum": [d.stratum for d in drawn],
                          "weight": [d.weight for d in drawn]})  # fmt: skip
    flagged = {c.call_id: c.flagged for c in CALLS}
    pairs = pl.DataFrame({"call_id": calls["call_id"], "label": PASS_FAIL,
                          "human_yes": [not PASSED[c] for c in calls["call_id"]],
                          "judge_yes": [flagged[c] for c in calls["call_id"]]})  # fmt: skip
    return agreement_table(pairs, calls)


def test_agreement_with_the_judge_is_weighted_like_the_pass_rate() -> None:
    """An oversampled draw holds about half flagged calls, where people and judge disagree most: the
    sample's agreement is far below the period's, the weighted one within 2 points of it on average
    and its interval covers it at about its level."""
    truth = float(np.mean([(not PASSED[c.call_id]) == c.flagged for c in CALLS]))
    rows = [agreement_with_judge(seed).row(0, named=True) for seed in range(SEEDS)]
    assert abs(np.mean([r["agreement"] for r in rows]) - truth) < STOP_EARLY_TOLERANCE
    assert truth - np.mean([r["sample_agreement"] for r in rows]) > 0.05
    assert 0.90 <= np.mean([r["agreement_low"] <= truth <= r["agreement_high"] for r in rows]) <= 0.99
    assert all(r["sample_agreement"] == r["agreed"] / r["calls"] for r in rows)
