"""A review session's summary: scored calls, pass rate with its interval, failure modes, judge
agreement, follow-ups, decisions. Its Markdown is written by present/review_summary.py, its CSV (the
`calls` frame) by export/table_files.py.

The headline pass rate is the population's: each stratum of the draw (all calls, an agent, the
judge-flagged or the other calls) is weighted by the calls it stands for, over the calls actually
given a pass or fail, so a team that stops at 30 of 50 still estimates every call in the period.
Its interval is design-based (`stats.stratified_share`). The plain passed ÷ scored is the sample's
share, shown as such. Agreement with the judge is weighted the same way (an oversampled draw
holds more of the flagged calls, where the judge and people disagree most), beside the sample's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import polars as pl

from warehouse import calibration_math, metrics, review_metrics, stats
from warehouse.db import connect
from warehouse.reviews import OUTCOMES, ReviewSession, get_session
from warehouse.tables import duckdb_tables


@dataclass(frozen=True)
class ReviewerAgreement:
    """Two reviewers who scored the same calls independently (the PM and the engineer): on how many
    calls they gave the same pass/fail, Cohen's kappa for it (calibration_math: agreement beyond
    chance), and the calls where they disagree (verdict, or scores two or more apart)."""

    first: str
    second: str
    calls: int  # calls both gave a pass or fail
    agreed: int
    kappa: float | None
    disagreements: pl.DataFrame  # position, call_id, and each reviewer's score, verdict and notes


@dataclass(frozen=True)
class SessionSummary:
    session: ReviewSession
    scored: int
    decided: int
    passed: int
    pass_rate: float | None  # the population's, re-weighted over the calls given a pass or fail
    pass_interval: tuple[float, float] | None  # 95%, design-based (stats.stratified_share)
    sample_pass_rate: float | None  # passed ÷ decided: the sample's own share
    unrepresented_calls: int  # population calls in strata none of whose drawn calls has a pass/fail yet
    failure_modes: pl.DataFrame  # label, calls
    agreement: pl.DataFrame  # see agreement_table
    calls: pl.DataFrame  # one row per drawn call: the CSV export
    reviewers: ReviewerAgreement | None = None  # when two people scored the same calls

    @property
    def test_cases(self) -> pl.DataFrame:
        return self.calls.filter(pl.col("test_case").fill_null(False))


def _strata(session: ReviewSession) -> list[str]:
    """Each drawn call's stratum; sessions drawn before strata were stored group their calls by
    weight, which in a draw tells the strata apart unless two happen to share a weight."""
    stored = session.strata or (None,) * len(session.call_ids)
    return [s if s is not None else f"weight {w:g}" for s, w in zip(stored, session.weights, strict=True)]


def population_strata(calls: pl.DataFrame) -> list[stats.Stratum]:
    """The strata of a session's drawn calls (columns stratum, weight, passed): each stratum's
    population is its weight × calls drawn from it (the weight is population ÷ drawn), and its
    measurement the calls given a pass or fail so far."""
    grouped = calls.group_by("stratum").agg(
        size=pl.col("weight").first() * pl.len(),
        measured=pl.col("passed").is_not_null().sum(),
        yes=pl.col("passed").fill_null(False).sum(),
    )
    rows = grouped.sort("stratum").iter_rows(named=True)
    return [stats.Stratum(row["size"], row["measured"], row["yes"]) for row in rows]


def agreement_table(pairs: pl.DataFrame, calls: pl.DataFrame) -> pl.DataFrame:
    """Per label (pass / fail first): calls compared, agreed, human_yes and judge_yes, as counted
    in the sample; `sample_agreement` = agreed ÷ calls; `agreement` the population's, each stratum's
    share weighted by the calls it stands for (as `population_strata`, over the calls compared), with
    its 95% interval `agreement_low`–`agreement_high` (`stats.stratified_share`)."""
    sizes = calls.group_by("stratum").agg(size=pl.col("weight").first() * pl.len())
    per_stratum = (
        pairs.join(calls.select("call_id", "stratum"), on="call_id")
        .group_by("label", "stratum")
        .agg(
            measured=pl.len(),
            yes=(pl.col("human_yes") == pl.col("judge_yes")).sum(),
            human_yes=pl.col("human_yes").sum(),
            judge_yes=pl.col("judge_yes").sum(),
        )
        .join(sizes, on="stratum")
    )
    rows = []
    for (label,), group in per_stratum.sort("stratum").group_by("label", maintain_order=True):
        weighted = stats.stratified_share([stats.Stratum(r["size"], r["measured"], r["yes"])
                                           for r in group.iter_rows(named=True)])  # fmt: skip
        assert weighted is not None  # every row of the group has measured ≥ 1
        calls_compared, agreed = int(group["measured"].sum()), int(group["yes"].sum())
        rows.append({
            "label": label, "calls": calls_compared, "agreed": agreed,
            "agreement": weighted.estimate, "agreement_low": weighted.interval[0],
            "agreement_high": weighted.interval[1], "sample_agreement": agreed / calls_compared,
            "human_yes": int(group["human_yes"].sum()), "judge_yes": int(group["judge_yes"].sum()),
        })  # fmt: skip
    schema = {"label": pl.String, "calls": pl.Int64, "agreed": pl.Int64, "agreement": pl.Float64,
              "agreement_low": pl.Float64, "agreement_high": pl.Float64, "sample_agreement": pl.Float64,
              "human_yes": pl.Int64, "judge_yes": pl.Int64}  # fmt: skip
    table = pl.DataFrame(rows, schema=schema)
    return table.sort(pl.col("label") != review_metrics.PASS_FAIL, "label")


def _per_call(session: ReviewSession, verdicts: ibis.Table, judged: ibis.Table) -> ibis.Table:
    drawn = ibis.memtable(
        {
            "position": list(range(1, len(session.call_ids) + 1)),
            "call_id": list(session.call_ids),
            "weight": list(session.weights),
            "stratum": _strata(session),
        },
        schema={"position": "int64", "call_id": "string", "weight": "float64", "stratum": "string"},
    )
    v = verdicts.select("call_id", "reviewer", "score", "passed", "labels", "notes", "test_case", "created_at")
    j = judged.select("call_id", judge_score=judged.score, judge_passed=judged.passed, judge_labels=judged.labels)
    joined = drawn.left_join(v, "call_id").left_join(j, "call_id")
    return joined.select(
        "position", drawn.call_id, "weight", "stratum", "reviewer", "score", "passed", "labels", "notes", "test_case",
        "created_at", "judge_score", "judge_passed", "judge_labels",
    ).order_by("position")  # fmt: skip


SCORE_GAP = 2  # scores this far apart count as a disagreement even with the same verdict


def reviewer_agreement(current: pl.DataFrame, positions: dict[str, int]) -> ReviewerAgreement | None:
    """The two reviewers who scored the most calls, compared on the calls both gave a pass or fail
    (`current`: each reviewer's newest review per call); None when no call has two reviewers."""
    decided = current.filter(pl.col("passed").is_not_null())
    counts = decided.group_by("reviewer").len().sort(["len", "reviewer"], descending=[True, False])
    if counts.height < 2:
        return None
    first, second = counts["reviewer"][0], counts["reviewer"][1]
    columns = ["call_id", "score", "passed", "notes"]
    a = decided.filter(pl.col("reviewer") == first).select(columns)
    b = decided.filter(pl.col("reviewer") == second).select(columns)
    pairs = a.join(b, on="call_id", suffix="_2")
    if pairs.is_empty():
        return None
    fails_a, fails_b = ~pairs["passed"].to_numpy(), ~pairs["passed_2"].to_numpy()
    split = pairs.filter((pl.col("passed") != pl.col("passed_2"))
                         | ((pl.col("score") - pl.col("score_2")).abs() >= SCORE_GAP))
    disagreements = split.with_columns(
        position=pl.col("call_id").replace_strict(positions, return_dtype=pl.Int64)
    ).sort("position").select("position", "call_id", "score", "passed", "notes", "score_2", "passed_2", "notes_2")
    return ReviewerAgreement(
        first=first, second=second, calls=pairs.height, agreed=int((fails_a == fails_b).sum()),
        kappa=calibration_math.confusion(fails_a, fails_b).kappa, disagreements=disagreements,
    )


def session_summary(session_id: str, path: Path | None = None) -> SessionSummary | None:
    """The figures of one session, or None when there is no such session."""
    session = get_session(session_id, path)
    if session is None:
        return None
    with connect(path) as con:
        t = duckdb_tables(con)
        drawn = set(session.call_ids)
        reviews = t.reviews.filter(t.reviews.session_id == session_id, t.reviews.call_id.isin(drawn))
        verdicts = review_metrics.call_verdicts(reviews)
        counts = review_metrics.pass_counts(verdicts).to_polars().row(0, named=True)
        modes = review_metrics.label_counts(verdicts).to_polars()
        pairs = review_metrics.agreement_pairs(verdicts, t).to_polars()
        calls = _per_call(session, verdicts, metrics.latest_judgement_per_call(t)).to_polars()
        current = review_metrics.current_reviews(reviews).select("call_id", "reviewer", "score", "passed",
                                                                 "notes").to_polars()
    decided, passed = int(counts["decided"] or 0), int(counts["passed"] or 0)
    strata = population_strata(calls)
    population = stats.stratified_share(strata)
    return SessionSummary(
        session=session,
        scored=int(counts["scored"] or 0),
        decided=decided,
        passed=passed,
        pass_rate=population.estimate if population else None,
        pass_interval=population.interval if population else None,
        sample_pass_rate=passed / decided if decided else None,
        unrepresented_calls=round(sum(s.size for s in strata if s.measured == 0)) if population else 0,
        failure_modes=modes,
        agreement=agreement_table(pairs, calls),
        calls=calls,
        reviewers=reviewer_agreement(current, {call_id: n for n, call_id in enumerate(session.call_ids, start=1)}),
    )


_FILTER_LABELS = {"agents": "agents", "prompt_versions": "prompt versions", "models": "models", "outcomes": "outcomes"}


def describe_filters(session: ReviewSession) -> str:
    """The session's filters in words, for the summary and the page."""
    parts = []
    for key, label in _FILTER_LABELS.items():
        values = [OUTCOMES.get(v, v) if key == "outcomes" else v for v in session.filters.get(key) or []]
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "; ".join(parts) or "all calls"
