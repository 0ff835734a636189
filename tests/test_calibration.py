"""Calibration math against hand-computed cases and scikit-learn, the corrected rate and its
bootstrap interval on known examples, and the per-label table with renamed labels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix, recall_score

from warehouse import calibration_math
from warehouse.calibration_queries import calibration_rows
from warehouse.taxonomy import Taxonomy


def test_a_hand_computed_case() -> None:
    c = calibration_math.Confusion(tp=9, fn=1, fp=5, tn=85)
    assert (c.n, c.positives) == (100, 10)
    assert c.tpr == pytest.approx(0.9)
    assert c.tnr == pytest.approx(85 / 90)
    # observed agreement 0.94; chance 0.10 * 0.14 + 0.90 * 0.86 = 0.788
    assert c.kappa == pytest.approx((0.94 - 0.788) / (1 - 0.788))


@pytest.mark.parametrize("seed", range(5))
def test_counts_rates_and_kappa_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    human = rng.random(200) < 0.2
    judge = np.where(rng.random(200) < 0.85, human, ~human)
    c = calibration_math.confusion(human.tolist(), judge.tolist())
    tn, fp, fn, tp = confusion_matrix(human, judge, labels=[False, True]).ravel()
    assert (c.tp, c.fn, c.fp, c.tn) == (tp, fn, fp, tn)
    assert c.tpr == pytest.approx(recall_score(human, judge, pos_label=True))
    assert c.tnr == pytest.approx(recall_score(human, judge, pos_label=False))
    assert c.kappa == pytest.approx(cohen_kappa_score(human, judge))


def test_kappa_and_rates_are_none_when_undefined() -> None:
    assert calibration_math.Confusion(0, 0, 0, 10).tpr is None
    assert calibration_math.Confusion(0, 0, 0, 10).kappa is None  # both always said no: no chance to beat
    assert calibration_math.Confusion(0, 0, 0, 0).kappa is None


def test_rogan_gladen_on_known_examples() -> None:
    assert calibration_math.rogan_gladen(0.14, 0.9, 0.95) == pytest.approx((0.14 + 0.95 - 1) / 0.85)
    assert calibration_math.rogan_gladen(0.14, 0.9, 0.95) == pytest.approx(0.10588, abs=1e-5)
    assert calibration_math.rogan_gladen(0.01, 0.9, 0.95) == 0.0  # below the false-alarm floor: clipped
    assert calibration_math.rogan_gladen(0.99, 0.9, 0.95) == 1.0
    assert calibration_math.rogan_gladen(0.2, 0.5, 0.5) is None  # a coin flip corrects nothing
    assert calibration_math.rogan_gladen(0.2, None, 0.9) is None


def _row_bootstrap(c: calibration_math.Confusion, judged: int, flagged: int, draws: int,
                   seed: int) -> tuple[float, float]:
    """The interval by literally resampling rows (independent of the multinomial shortcut)."""
    rng = np.random.default_rng(seed)
    human = np.array([1] * c.tp + [1] * c.fn + [0] * c.fp + [0] * c.tn, dtype=bool)
    judge = np.array([1] * c.tp + [0] * c.fn + [1] * c.fp + [0] * c.tn, dtype=bool)
    flags = np.array([1] * flagged + [0] * (judged - flagged), dtype=bool)
    out = []
    for _ in range(draws):
        i = rng.integers(0, c.n, c.n)
        h, j = human[i], judge[i]
        tpr, tnr = (h & j).sum() / h.sum(), (~h & ~j).sum() / (~h).sum()
        p = flags[rng.integers(0, judged, judged)].mean()
        if tpr + tnr > 1:
            out.append(min(1, max(0, (p + tnr - 1) / (tpr + tnr - 1))))
    return tuple(np.percentile(out, [2.5, 97.5]))


def test_the_interval_matches_resampling_rows_and_holds_the_estimate() -> None:
    c = calibration_math.Confusion(tp=45, fn=5, fp=10, tn=190)  # TPR 0.9, TNR 0.95
    low, high = calibration_math.corrected_rate_interval(c, judged=5000, flagged=700)
    assert low < calibration_math.rogan_gladen(0.14, 0.9, 0.95) < high
    assert (low, high) == calibration_math.corrected_rate_interval(c, judged=5000, flagged=700)  # seeded
    rows_low, rows_high = _row_bootstrap(c, 5000, 700, draws=3000, seed=1)
    assert low == pytest.approx(rows_low, abs=0.01)
    assert high == pytest.approx(rows_high, abs=0.01)


def test_more_human_labels_narrow_the_interval() -> None:
    few = calibration_math.corrected_rate_interval(calibration_math.Confusion(9, 1, 2, 38), 5000, 700)
    many = calibration_math.corrected_rate_interval(calibration_math.Confusion(90, 10, 20, 380), 5000, 700)
    assert many[1] - many[0] < few[1] - few[0]


def test_the_warning_names_the_thin_sample() -> None:
    assert "29" in calibration_math.caution(calibration_math.Confusion(5, 0, 0, 24))
    assert "4" in calibration_math.caution(calibration_math.Confusion(3, 1, 0, 40))
    assert calibration_math.caution(calibration_math.Confusion(5, 0, 0, 25)) is None


def test_the_table_resolves_renamed_labels_before_counting() -> None:
    taxonomy = Taxonomy(pl.DataFrame({"name": ["long_silence"]}), {"slow_turn": "long_silence",
                                                                      "long_silence": "long_silence"})
    pairs = pl.DataFrame({
        "call_id": ["a", "b", "c", "d"],
        "human_labels": [["long_silence"], ["slow_turn"], [], None],
        "judge_labels": [["slow_turn"], [], ["slow_turn"], []],
    })  # fmt: skip
    in_scope = pl.DataFrame({"call_id": list("abcdefghij"), "judge_labels": [["slow_turn"]] * 3 + [[]] * 7})
    row = calibration_rows(pairs, in_scope, taxonomy).row(0, named=True)
    assert row["label"] == "long_silence"
    assert (row["tp"], row["fn"], row["fp"], row["tn"]) == (1, 1, 1, 1)
    assert (row["judged_calls"], row["flagged"], row["observed_rate"]) == (10, 3, 0.3)
    assert row["warning"] is not None
