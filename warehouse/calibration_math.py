"""How far a judge can be trusted on one label, and what its labels say about every call once its
measured errors are taken out. Plain math on counts (numpy), so it is checked against
hand-computed cases and scikit-learn in the tests; warehouse/calibration_queries.py feeds it.

- The **confusion matrix** compares, on calls a person labelled, the person's word (truth) with
  the judge's: true positives (both say the mode is there), false negatives (the judge missed it),
  false positives (the judge saw it, the person did not), true negatives.
- **TPR** (sensitivity) = TP / (TP + FN): the share of real cases the judge finds.
  **TNR** (specificity) = TN / (TN + FP): the share of clean calls it leaves alone.
- **Cohen's kappa**: agreement beyond what two raters labelling at these rates would reach by
  chance; 0 is chance, 1 is perfect.
- **Corrected rate** (Rogan–Gladen): the share of all calls the judge flags, p_obs, mixes real
  cases it found with false alarms; (p_obs + TNR − 1) / (TPR + TNR − 1), clipped to [0, 1],
  estimates the real share. It exists only when the judge beats chance (TPR + TNR > 1).
- Its **interval** is a seeded percentile bootstrap: the labelled calls are resampled for TPR and
  TNR, and the judged calls for p_obs, because both are measured with error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

MIN_LABELLED_CALLS = 30
MIN_POSITIVES = 5
BOOTSTRAP_DRAWS = 2000
SEED = 7


@dataclass(frozen=True)
class Confusion:
    """Human (truth) against judge on one label."""

    tp: int
    fn: int
    fp: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.fp + self.tn

    @property
    def positives(self) -> int:
        """Calls a person gave the label."""
        return self.tp + self.fn

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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def confusion(human: ArrayLike, judge: ArrayLike) -> Confusion:
    """Count the four cells from paired yes/no answers (same calls, same order)."""
    h, j = np.asarray(human, dtype=bool), np.asarray(judge, dtype=bool)
    if h.shape != j.shape:
        raise ValueError("The human and judge answers must cover the same calls.")
    return Confusion(tp=int(np.sum(h & j)), fn=int(np.sum(h & ~j)), fp=int(np.sum(~h & j)), tn=int(np.sum(~h & ~j)))


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
    if c.n == 0 or judged == 0:
        return None
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(c.n, np.array([c.tp, c.fn, c.fp, c.tn]) / c.n, size=draws)
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


def too_few_labels(c: Confusion) -> str | None:
    """A plain warning when the human labels are too few for the judge's error rates (and so the
    corrected rate) to mean much; None when there are enough."""
    if c.n < MIN_LABELLED_CALLS:
        return f"Only {c.n} calls have both a person's and the judge's labels; review at least {MIN_LABELLED_CALLS}."
    if c.positives < MIN_POSITIVES:
        return (f"People tagged this mode on only {c.positives} of those calls; with fewer than {MIN_POSITIVES} "
                "the judge's hit rate is a guess.")
    return None
