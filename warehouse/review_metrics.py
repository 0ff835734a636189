"""The review figures, each defined once as an ibis expression (or, for the interval, plain math
on counts), so the summary page, the exports and the tests share one definition.

- A reviewer's **current** review of a call is their newest save; earlier saves stay as history.
- A call's **verdict** in a session is its newest save from any reviewer: the team's last word
  when two people scored it.
- **Sample pass share** is passed verdicts ÷ verdicts with a pass/fail. The population pass rate
  re-weights it by stratum (warehouse/review_summary.py, warehouse/stats.py::stratified_share),
  which matters when the draw oversampled judge-flagged calls or the team stopped early.
- **Judge agreement** for a label is the share of calls (with both a verdict and a judgement) on
  which human and judge agree that the label applies or does not; "pass / fail" compares verdicts.
  Like the pass rate it is the population's, each stratum of the draw weighted by the calls it
  stands for (warehouse/review_summary.py::agreement_table); the plain share is the sample's.
"""

from __future__ import annotations

import ibis

from warehouse import metrics
from warehouse.tables import Tables

PASS_FAIL = "pass / fail"
def _newest(reviews: ibis.Table, by: list[str]) -> ibis.Table:
    rank = ibis.row_number().over(group_by=by, order_by=[ibis.desc(reviews.created_at), ibis.desc(reviews.review_id)])
    ranked = reviews.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def current_reviews(reviews: ibis.Table) -> ibis.Table:
    """Each reviewer's newest save per call."""
    return _newest(reviews, ["call_id", "reviewer"])


def call_verdicts(reviews: ibis.Table) -> ibis.Table:
    """Each call's newest save from any reviewer."""
    return _newest(reviews, ["call_id"])


def pass_counts(verdicts: ibis.Table) -> ibis.Table:
    """Calls scored, passed and with a pass/fail."""
    return verdicts.aggregate(
        scored=verdicts.count(),
        decided=verdicts.passed.notnull().cast("int64").sum(),
        passed=verdicts.passed.cast("int64").sum(),
    )


def label_counts(verdicts: ibis.Table) -> ibis.Table:
    """Calls per failure-mode label among the verdicts, most frequent first."""
    labels = verdicts.select(label=verdicts.labels.unnest())
    return labels.group_by("label").aggregate(calls=labels.count()).order_by([ibis.desc("calls"), "label"])


def agreement_pairs(verdicts: ibis.Table, t: Tables) -> ibis.Table:
    """One row per call with both a verdict and a judgement, per label either of them used (and
    for pass / fail, where "yes" is a fail): call_id, label, human_yes, judge_yes. The summary
    weights these by the draw (warehouse/review_summary.py::agreement_table)."""
    judged = metrics.latest_judgement_per_call(t)
    empty = ibis.literal([], type="array<string>")
    pairs = verdicts.select(
        "call_id", human_passed=verdicts.passed, human_labels=verdicts.labels.fill_null(empty)
    ).inner_join(
        judged.select("call_id", judge_passed=judged.passed, judge_labels=judged.labels.fill_null(empty)), "call_id"
    )
    names = pairs.select(label=pairs.human_labels.unnest()).union(pairs.select(label=pairs.judge_labels.unnest()))
    crossed = pairs.cross_join(names.distinct())
    per_label = crossed.select(
        "call_id", "label",
        human_yes=crossed.human_labels.contains(crossed.label),
        judge_yes=crossed.judge_labels.contains(crossed.label),
    )  # fmt: skip
    decided = pairs.filter(pairs.human_passed.notnull(), pairs.judge_passed.notnull())
    pass_fail = decided.select(
        "call_id", label=ibis.literal(PASS_FAIL), human_yes=~decided.human_passed, judge_yes=~decided.judge_passed
    )
    return pass_fail.union(per_label)
