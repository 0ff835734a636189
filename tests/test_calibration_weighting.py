"""Judge calibration from oversampled reviews, simulated with a known truth: each week a fresh
period of calls with a true failure mode (8% of calls) and a judge that finds 80% of them and
leaves 90% of the clean calls alone; the weekly review oversamples the calls the judge flagged
(warehouse/sampling.py), and the reviews of several weeks are pooled the way the calibration page
pools them (warehouse/calibration_math.py).

Tolerance (docs/judges.md): over 150 simulated quarters, the mean corrected share is within 1.5
points of the truth; unweighted, the same reviews gave about half of it (the audit's 2.9% against
7.8%)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from warehouse import calibration_math
from warehouse.calibration_queries import calibration_rows
from warehouse.sampling import Candidate, draw
from warehouse.taxonomy import Taxonomy

PREVALENCE, TPR, TNR = 0.08, 0.8, 0.9
WEEKS, CALLS_PER_WEEK, REVIEWED = 8, 400, 50
QUARTERS = 150
TOLERANCE = 0.015


def quarter(seed: int) -> tuple[list[tuple[bool, bool, float]], float]:
    """The reviewed calls of one quarter (person's label, judge's label, sampling weight) and the
    share of all its calls the judge flagged."""
    rng = np.random.default_rng(seed)
    reviewed, flagged = [], 0
    for week in range(WEEKS):
        truth = rng.random(CALLS_PER_WEEK) < PREVALENCE
        judge = np.where(truth, rng.random(CALLS_PER_WEEK) < TPR, rng.random(CALLS_PER_WEEK) > TNR)
        flagged += int(judge.sum())
        calls = [Candidate(str(i), flagged=bool(judge[i])) for i in range(CALLS_PER_WEEK)]
        for d in draw(calls, "oversample_flagged", REVIEWED, seed * 100 + week):
            i = int(d.call_id)
            reviewed.append((bool(truth[i]), bool(judge[i]), d.weight))
    return reviewed, flagged / (WEEKS * CALLS_PER_WEEK)


def corrected(reviewed: list[tuple[bool, bool, float]], observed: float, weighted: bool) -> float:
    human, judge, weight = zip(*reviewed, strict=True)
    c = calibration_math.confusion(human, judge, weight if weighted else None)
    rate = calibration_math.rogan_gladen(observed, c.tpr, c.tnr)
    assert rate is not None
    return rate


@pytest.fixture(scope="module")
def quarters() -> list[tuple[list[tuple[bool, bool, float]], float]]:
    return [quarter(seed) for seed in range(QUARTERS)]


def test_the_corrected_share_from_oversampled_reviews_is_unbiased(quarters: list) -> None:
    weighted = np.mean([corrected(reviewed, observed, weighted=True) for reviewed, observed in quarters])
    assert abs(weighted - PREVALENCE) < TOLERANCE


def test_unweighted_oversampled_reviews_would_understate_it(quarters: list) -> None:
    """What the test guards against: counting each reviewed call once inflates TPR, deflates TNR
    and so shrinks the corrected share."""
    unweighted = np.mean([corrected(reviewed, observed, weighted=False) for reviewed, observed in quarters])
    assert PREVALENCE - unweighted > 2 * TOLERANCE


def test_weighted_cells_match_an_independent_computation() -> None:
    human = [True, True, False, False, False]
    judge = [True, False, True, False, False]
    weight = [2.0, 1.0, 4.0, 1.0, 2.0]  # mean 2: cells are weight ÷ 2
    c = calibration_math.confusion(human, judge, weight)
    assert (c.tp, c.fn, c.fp, c.tn) == pytest.approx((1.0, 0.5, 2.0, 1.5))
    assert c.n == pytest.approx(5)
    assert c.effective_n == pytest.approx(10**2 / (4 + 1 + 16 + 1 + 4))
    assert c.tpr == pytest.approx(2 / 3) and c.tnr == pytest.approx(1.5 / 3.5)


def test_a_judge_near_chance_gets_a_caution_and_no_corrected_share() -> None:
    """TPR + TNR − 1 = 0.03, as in the audit: the page said "100% of calls" with no caution."""
    human = [True] * 20 + [False] * 80
    judge = [True] * 11 + [False] * 9 + [True] * 38 + [False] * 42  # TPR 0.55, TNR 0.525 → J = 0.075
    pairs = pl.DataFrame({"call_id": [str(i) for i in range(100)],
                          "human_labels": [["slow_turn"] if h else [] for h in human],
                          "judge_labels": [["slow_turn"] if j else [] for j in judge]})  # fmt: skip
    in_scope = pl.DataFrame({"call_id": [str(i) for i in range(1000)],
                             "judge_labels": [["slow_turn"]] * 480 + [[]] * 520})  # fmt: skip
    taxonomy = Taxonomy(pl.DataFrame({"name": ["slow_turn"]}), {"slow_turn": "slow_turn"})
    row = calibration_rows(pairs, in_scope, taxonomy).row(0, named=True)
    assert row["tpr"] + row["tnr"] - 1 == pytest.approx(0.075)
    assert row["corrected_rate"] is None and row["corrected_low"] is None
    assert "near chance" in row["warning"] and "8%" in row["warning"]
