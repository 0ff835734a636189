"""How far a judge can be trusted on one label, and what its labels say about every call once its
measured errors are taken out. Plain math on counts (numpy), so it is checked against
hand-computed cases and scikit-learn in the tests; warehouse/calibration_queries.py feeds it.

- The **confusion matrix** compares, on calls a person labelled, the person's word (truth) with
  the judge's: true positives (both say the mode is there), false negatives (the judge missed it),
  false positives (the judge saw it, the person did not), true negatives. Each call counts by its
  sampling weight, scaled so the weights add up to the calls compared: a review session that
  oversampled judge-flagged calls holds more calls the judge flagged than the period does, and
  counted one each they would inflate TPR and deflate TNR.
- **TPR** (sensitivity) = TP / (TP + FN): the share of real cases the judge finds.
  **TNR** (specificity) = TN / (TN + FP): the share of clean calls it leaves alone.
- **Cohen's kappa**: agreement beyond what two raters labelling at these rates would reach by
  chance; 0 is chance, 1 is perfect.
- **Corrected rate** (Rogan–Gladen): the share of all calls the judge flags, p_obs, mixes real
  cases it found with false alarms; (p_obs + TNR − 1) / (TPR + TNR − 1), clipped to [0, 1],
  estimates the real share. It exists only when the judge beats chance (TPR + TNR > 1), and is
  not shown when TPR + TNR − 1 (Youden's J) is below `NEAR_CHANCE`: dividing by a number near 0
  turns any noise in the flags into 0% or 100%.
- Its **interval** is a seeded percentile bootstrap: the labelled calls are resampled for TPR and
  TNR (as many as the weights' effective sample size, (Σw)²/Σw², at the weighted cells' shares),
  and the judged calls for p_obs, because both are measured with error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

MIN_LABELLED_CALLS = 30
MIN_POSITIVES = 5
BOOTSTRAP_DRAWS = 2000
SEED = 7
NEAR_CHANCE = 0.2  # TPR + TNR − 1 below this: the corrected share would be mostly noise


@dataclass(frozen=True)
class Confusion:
    """Human (truth) against judge on one label: weighted counts of calls (plain counts when every
    weight is 1), and the effective number of calls behind them."""

    tp: float
    fn: float
    fp: float
    tn: float
    effective_n: float | None = None  # (Σw)²/Σw²; None: the cells are plain counts

    @property
    def n(self) -> float:
        return self.tp + self.fn + self.fp + self.tn

    @property
    def positives(self) -> float:
        """Calls a person gave the label."""
        return self.tp + self.fn

    @property
    def youden(self) -> float | None:
        """TPR + TNR − 1: 0 for a judge that flags at random, 1 for a perfect one."""
        return None if self.tpr is None or self.tnr is None else self.tpr + self.tnr - 1

    @property
    def tpr(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def tnr(self) -> float | None:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa; None when both raters gave every call the same answer (no chance
        agreement to beat) or there are no calls."""
        n = self.n
        if n == 0:
            return None
        observed = (self.tp + self.tn) / n
        human_yes, judge_yes = (self.tp + self.fn) / n, (self.tp + self.fp) / n
        chance = human_yes * judge_yes + (1 - human_yes) * (1 - judge_yes)
        return None if chance >= 1 else (observed - chance) / (1 - chance)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def confusion(human: ArrayLike, judge: ArrayLike, weights: ArrayLike | None = None) -> Confusion:
    """Count the four cells from paired yes/no answers (same calls, same order), each call counted
    by its sampling weight scaled to a mean of 1 (plain counts without weights)."""
    h, j = np.asarray(human, dtype=bool), np.asarray(judge, dtype=bool)
    if h.shape != j.shape:
        raise ValueError("The human and judge answers must cover the same calls.")
    if weights is None:
        return Confusion(tp=int(np.sum(h & j)), fn=int(np.sum(h & ~j)), fp=int(np.sum(~h & j)), tn=int(np.sum(~h & ~j)))
    w = np.asarray(weights, dtype=float)
    if w.shape != h.shape:
        raise ValueError("Every compared call needs a weight.")
    if not w.size:
        return Confusion(0, 0, 0, 0)
    w = w * w.size / w.sum()
    return Confusion(
        tp=float(w[h & j].sum()), fn=float(w[h & ~j].sum()), fp=float(w[~h & j].sum()), tn=float(w[~h & ~j].sum()),
        effective_n=float(w.sum() ** 2 / (w * w).sum()),
    )


def rogan_gladen(p_obs: float, tpr: float | None, tnr: float | None) -> float | None:
    """The real rate behind an observed one, given the judge's TPR and TNR; None when those are
    unknown or the judge is no better than chance (TPR + TNR ≤ 1)."""
    if tpr is None or tnr is None or tpr + tnr <= 1:
        return None
    return float(min(1.0, max(0.0, (p_obs + tnr - 1) / (tpr + tnr - 1))))


def corrected_rate_interval(
    c: Confusion, judged: int, flagged: int, level: float = 0.95, draws: int = BOOTSTRAP_DRAWS, seed: int = SEED
) -> tuple[float, float] | None:
    """A percentile bootstrap interval for the corrected rate. Resampling the labelled calls is a
    multinomial draw over the four cells, and resampling the judged calls a binomial draw of the
    flagged ones: the same distributions as resampling rows, without materialising them. Draws
    where the judge would be no better than chance give no estimate and are left out; None when
    fewer than half of the draws give one."""
    resampled = round(c.effective_n if c.effective_n is not None else c.n)
    if resampled == 0 or judged == 0:
        return None
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(resampled, np.array([c.tp, c.fn, c.fp, c.tn]) / c.n, size=draws)
    tp, fn, fp, tn = cells.T
    p_obs = rng.binomial(judged, flagged / judged, size=draws) / judged
    with np.errstate(divide="ignore", invalid="ignore"):
        tpr, tnr = tp / (tp + fn), tn / (tn + fp)
        denominator = tpr + tnr - 1
        estimate = np.where(denominator > 0, (p_obs + tnr - 1) / denominator, np.nan)
    estimate = np.clip(estimate, 0.0, 1.0)
    finite = estimate[np.isfinite(estimate)]
    if finite.size < draws / 2:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def near_chance(c: Confusion) -> bool:
    """True when the judge is too close to flagging at random for its corrected share to mean anything."""
    return c.youden is not None and c.youden < NEAR_CHANCE


def caution(c: Confusion) -> str | None:
    """A plain warning when the human labels are too few for the judge's error rates (and so the
    corrected rate) to mean much, or when the judge is near chance; None when neither."""
    if c.n < MIN_LABELLED_CALLS:
        return (f"Only {c.n:.0f} calls have both a person's and the judge's labels; "
                f"review at least {MIN_LABELLED_CALLS}.")
    if c.positives < MIN_POSITIVES:
        return (f"People tagged this mode on only {c.positives:.0f} of those calls; with fewer than {MIN_POSITIVES} "
                "the judge's hit rate is a guess.")
    if near_chance(c) and c.youden is not None:
        return (f"The judge is near chance on this mode (found + left alone − 100% = {c.youden:.0%}): its flags "
                "say little about which calls really have it, so no corrected share is given.")
    return None
