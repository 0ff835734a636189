"""The failure-mode explorer's figures: which modes the calls in scope show, what they cost in
conversions, how they move over time, and which calls have them.

The data is pulled once per view as an ibis expression over `Tables` (one row per call in scope,
with its outcome, its latest judgement's labels and its current human verdict's labels); the
figures are plain functions over that frame, so each has one definition the tests check against
plain Python. Labels are resolved through the taxonomy first (warehouse/taxonomy.py), so renamed
and merged modes count under their current names.

**Label source.** "judge": the latest successful judgement of the call (any judge), as the
overview's eval score uses. "human": the call's current verdict (the newest review save from any
reviewer, as the review summary uses), only when it was saved in a session drawn uniformly at
random: a session that oversampled judge-flagged calls (or stratified by agent) holds more of some
calls than the period does, and counting its calls once each inflated modes' shares 2–3.6×.
"both": only the modes both gave, on such calls; a call counts as looked at when it has both.

**Lost conversions** of a cause mode M: the bookings the calls with M (and a recorded outcome)
would have made at the conversion rate of *clean* calls (looked at, no cause mode) minus the
bookings they made: n_M × (rate_clean − rate_M). Modes that name the outcome itself
(`describes_outcome`, e.g. goal_not_met) are left out of "clean" and get no figure: every call
without a booking has them by definition. It is a comparison, not proof of cause: calls with one
mode often have others, and each mode is compared with clean calls on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ibis
import numpy as np
import polars as pl

from warehouse import engines, metrics, prepared, review_metrics, reviews
from warehouse.filters import Filters
from warehouse.tables import Tables
from warehouse.taxonomy import Taxonomy, read_taxonomy

SOURCES = {
    "judge": "Judge",
    "human": "People (reviews)",
    "both": "Both agree",
}
BOOTSTRAP_DRAWS = 1000
SEED = 7


def _call_rows(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """One row per call in the filters' (`f`) scope: its attributes, booked (null: no recorded
    outcome), its latest judgement and its current human verdict (null columns when there is none)."""
    calls = metrics.scoped_calls(t, prepared.filter_params(params, "f")).select(
        "call_id", "started_at", "day", "agent", "prompt_version", "model", "duration_ms", "cost_usd"
    )
    outcome = metrics.outcome_per_call(t, calls.select("call_id"))
    judged = metrics.latest_judgement_per_call(t, calls.select("call_id"))
    verdicts = review_metrics.call_verdicts(t.reviews)
    joined = (
        calls.left_join(outcome, calls.call_id == outcome.call_id)
        .left_join(judged, calls.call_id == judged.call_id)
        .left_join(verdicts, calls.call_id == verdicts.call_id)
    )
    return [joined.select(
        calls.call_id, calls.started_at, calls.day, calls.agent, calls.prompt_version, calls.model,
        calls.duration_ms, calls.cost_usd, outcome.booked,
        judged=judged.judge_name.notnull(), judge_name=judged.judge_name, judge_score=judged.score,
        judge_labels=judged.labels, reviewed=verdicts.review_id.notnull(), reviewer=verdicts.reviewer,
        human_score=verdicts.score, human_labels=verdicts.labels, notes=verdicts.notes,
        review_session=verdicts.session_id,
    )]  # fmt: skip


def call_frame(f: Filters) -> pl.DataFrame:
    """Every call in scope with what the judge and the people said about it (labels as saved)."""
    return _pull(f)[0]


def _pull(f: Filters) -> tuple[pl.DataFrame, Taxonomy]:
    """`call_frame` and the taxonomy, in one opening of the warehouse; the calls compiled once per
    shape (warehouse/prepared.py)."""
    with engines.source() as opened, engines.warehouse_file(opened) as file:
        (frame,) = prepared.frames(opened, _call_rows, (), prepared.filter_values(f, "f"))
        sessions, taxonomy = reviews.read_sessions(file), read_taxonomy(file)
    return mark_uniform_reviews(frame, sessions), taxonomy


def mark_uniform_reviews(frame: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """`uniform_review`: the call's verdict was saved in a session drawn uniformly at random, so it
    may stand for the period's calls in the people's counts (see the module's docstring)."""
    uniform = sessions.filter(pl.col("strategy") == "uniform")["session_id"].to_list()
    in_uniform = pl.col("review_session").is_in(uniform).fill_null(False)
    return frame.with_columns(uniform_review=pl.col("reviewed") & in_uniform)


def _resolved(taxonomy: Taxonomy, column: str, looked: str) -> pl.Expr:
    """A label column under current names; [] when looked at with no label, null when not."""
    return pl.when(pl.col(looked)).then(taxonomy.resolved(column).fill_null([])).otherwise(None)


def with_labels(frame: pl.DataFrame, taxonomy: Taxonomy, source: str) -> pl.DataFrame:
    """The frame with `judge_modes`, `human_modes` (resolved) and `modes` under the chosen source;
    `modes` is null for calls that source has not looked at."""
    if source not in SOURCES:
        raise ValueError(f"Unknown label source '{source}'; choose one of {', '.join(SOURCES)}.")
    out = frame.with_columns(
        judge_modes=_resolved(taxonomy, "judge_labels", "judged"),
        human_modes=_resolved(taxonomy, "human_labels", "reviewed"),
    )
    people = pl.when(pl.col("uniform_review")).then(pl.col("human_modes"))
    chosen = {
        "judge": pl.col("judge_modes"),
        "human": people,
        "both": pl.col("judge_modes").list.set_intersection(people),
    }[source]
    return out.with_columns(modes=chosen)


def _looked_at(labelled: pl.DataFrame) -> pl.DataFrame:
    return labelled.filter(pl.col("modes").is_not_null())


def _is_clean(outcome_modes: Iterable[str]) -> pl.Expr:
    return pl.col("modes").list.set_difference(pl.lit(sorted(outcome_modes), dtype=pl.List(pl.String))).list.len() == 0


def clean_conversion(labelled: pl.DataFrame, outcome_modes: Iterable[str]) -> float | None:
    """The conversion rate of looked-at calls with no cause mode (among those with an outcome)."""
    clean = _looked_at(labelled).filter(_is_clean(outcome_modes))["booked"].drop_nulls()
    return float(clean.cast(pl.Float64).to_numpy().mean()) if clean.len() else None


def mode_summary(labelled: pl.DataFrame, outcome_modes: Iterable[str], modes: Iterable[str] = ()) -> pl.DataFrame:
    """One row per mode (all seen, or those in `modes`): calls with it, their share of the calls
    looked at, calls with an outcome, conversion rate and lost conversions; most lost first."""
    outcome_modes = set(outcome_modes)
    looked = _looked_at(labelled)
    baseline = clean_conversion(labelled, outcome_modes)
    exploded = looked.select("call_id", "booked", "modes").explode("modes").rename({"modes": "mode"})
    exploded = exploded.filter(pl.col("mode").is_not_null())
    if modes := list(modes):
        exploded = exploded.filter(pl.col("mode").is_in(modes))
    summary = exploded.group_by("mode").agg(
        calls=pl.len(),
        calls_with_outcome=pl.col("booked").is_not_null().sum(),
        booked=pl.col("booked").cast(pl.Int64).sum(),
    )
    rate = pl.col("booked") / pl.col("calls_with_outcome")
    lost = pl.col("calls_with_outcome") * pl.lit(baseline, dtype=pl.Float64) - pl.col("booked")
    is_cause = ~pl.col("mode").is_in(sorted(outcome_modes))
    return summary.with_columns(
        share=pl.col("calls") / max(looked.height, 1),
        conversion_rate=pl.when(pl.col("calls_with_outcome") > 0).then(rate),
        lost_conversions=pl.when(is_cause & pl.lit(baseline is not None)).then(lost),
        describes_outcome=~is_cause,
    ).sort(["lost_conversions", "calls", "mode"], descending=[True, True, False], nulls_last=True)


def lost_conversion_intervals(
    labelled: pl.DataFrame, outcome_modes: Iterable[str], modes: list[str], level: float = 0.95,
    draws: int = BOOTSTRAP_DRAWS, seed: int = SEED,
) -> dict[str, tuple[float, float]]:
    """A seeded percentile bootstrap interval for each cause mode's lost conversions: the
    looked-at calls with an outcome are resampled as a whole, so the clean baseline and the
    mode's own rate move together as they would in another month like this one."""
    outcome_modes = set(outcome_modes)
    causes = [m for m in modes if m not in outcome_modes]
    calls = _looked_at(labelled).filter(pl.col("booked").is_not_null())
    n = calls.height
    if not causes or n == 0:
        return {}
    # Calls alike in booking, cleanness and modes are interchangeable, so resampling the n calls
    # is resampling their kinds with the kinds' shares: the same distribution, drawn over a few
    # dozen kinds instead of thousands of calls (a 90-day period's draws took seconds). The kinds
    # are counted by a hash grouping and put in lexicographic order (as np.unique(axis=0) gave
    # them, and the seeded draws depend on the order), which took a sixth of np.unique's time.
    traits = [pl.col("booked").cast(pl.Float64).alias("0"), _is_clean(outcome_modes).cast(pl.Float64).alias("1"),
              *[pl.col("modes").list.contains(m).cast(pl.Float64).alias(str(k)) for k, m in enumerate(causes, 2)]]
    grouped = calls.select(traits).group_by(pl.all()).len("alike")
    grouped = grouped.sort(grouped.columns[:-1])
    kinds, alike = grouped.drop("alike").to_numpy(), grouped["alike"].to_numpy()
    booked, clean, has = kinds[:, 0], kinds[:, 1], kinds[:, 2:]
    weights = np.random.default_rng(seed).multinomial(n, alike / n, size=draws).astype(float)  # draws × kinds
    with np.errstate(divide="ignore", invalid="ignore"):
        baseline = (weights @ (clean * booked)) / (weights @ clean)
    lost = (weights @ has) * baseline[:, None] - weights @ (has * booked[:, None])
    tail = (1 - level) / 2 * 100
    found = {}
    for k, mode in enumerate(causes):
        values = lost[:, k][np.isfinite(lost[:, k])]
        if values.size:
            low, high = np.percentile(values, [tail, 100 - tail])
            found[mode] = (float(low), float(high))
    return found


def trend_grain(f: Filters) -> str:
    """Days for a month or less, weeks beyond: a daily line over a quarter is mostly noise."""
    return "day" if f.days <= 31 else "week"


def mode_trend(labelled: pl.DataFrame, grain: str, modes: Iterable[str] = ()) -> pl.DataFrame:
    """Per day (or week, starting Monday) and mode: calls with the mode and their share of the
    calls looked at in that bucket."""
    bucket = pl.col("day") if grain == "day" else pl.col("day").dt.truncate("1w")
    looked = _looked_at(labelled).with_columns(bucket=bucket)
    totals = looked.group_by("bucket").agg(looked=pl.len())
    exploded = looked.select("bucket", "modes").explode("modes").rename({"modes": "mode"})
    exploded = exploded.filter(pl.col("mode").is_not_null())
    if modes := list(modes):
        exploded = exploded.filter(pl.col("mode").is_in(modes))
    counts = exploded.group_by("bucket", "mode").agg(calls=pl.len())
    return (
        counts.join(totals, on="bucket")
        .with_columns(share=pl.col("calls") / pl.col("looked"))
        .rename({"bucket": "period_start"})
        .sort("period_start", "mode")
    )


def matching_calls(labelled: pl.DataFrame, modes: Iterable[str] = ()) -> pl.DataFrame:
    """The calls with any of `modes` (any mode at all when none are chosen) under the chosen
    source, newest first, in the columns the table shows."""
    wanted = sorted(modes)
    looked = _looked_at(labelled)
    hit = pl.col("modes").list.len() > 0
    if wanted:
        hit = pl.col("modes").list.set_intersection(pl.lit(wanted, dtype=pl.List(pl.String))).list.len() > 0
    return (
        looked.filter(hit)
        .sort("started_at", descending=True)
        .select(
            "call_id", "started_at", "agent", "prompt_version", "model",
            failure_modes=pl.col("modes").list.join(", "),
            judge_modes=pl.col("judge_modes").list.join(", "),
            human_modes=pl.col("human_modes").list.join(", "),
            booked="booked", judge_score="judge_score", human_score="human_score",
            duration_s=pl.col("duration_ms") / 1000, cost_usd="cost_usd",
        )
    )  # fmt: skip


@dataclass(frozen=True)
class Exploration:
    """What the explorer page shows for one choice of filters, source and modes."""

    taxonomy: Taxonomy
    calls_in_scope: int
    looked_at: int  # calls the chosen source has labelled (judged, reviewed, or both)
    clean_conversion: float | None
    summary: pl.DataFrame  # mode_summary plus lost_low, lost_high
    trend: pl.DataFrame
    grain: str
    calls: pl.DataFrame

    @property
    def costliest(self) -> dict | None:
        """The cause mode that lost the most conversions, when any lost some."""
        rows = self.summary.filter(pl.col("lost_conversions") > 0)
        return rows.row(0, named=True) if rows.height else None


def explore(f: Filters, source: str, modes: tuple[str, ...] = ()) -> Exploration:
    """Everything the explorer page shows, from one pull: the taxonomy, the summary per mode (with
    lost-conversion intervals), the clean baseline, the trend and the matching calls."""
    frame, taxonomy = _pull(f)
    labelled = with_labels(frame, taxonomy, source)
    summary = mode_summary(labelled, taxonomy.outcome_modes, modes)
    intervals = lost_conversion_intervals(labelled, taxonomy.outcome_modes, summary["mode"].to_list())
    summary = summary.with_columns(
        lost_low=pl.col("mode").replace_strict({m: lo for m, (lo, _) in intervals.items()}, default=None,
                                               return_dtype=pl.Float64),
        lost_high=pl.col("mode").replace_strict({m: hi for m, (_, hi) in intervals.items()}, default=None,
                                                return_dtype=pl.Float64),
    )  # fmt: skip
    return Exploration(
        taxonomy=taxonomy,
        calls_in_scope=labelled.height,
        looked_at=_looked_at(labelled).height,
        clean_conversion=clean_conversion(labelled, taxonomy.outcome_modes),
        summary=summary,
        trend=mode_trend(labelled, trend_grain(f), modes),
        grain=trend_grain(f),
        calls=matching_calls(labelled, modes),
    )

