"""The data behind judge calibration: per judge version, the calls a person and that version both
labelled (for its error rates) and the calls it judged in scope (for the rate it observes). The
math is in warehouse/calibration_math.py.

A call's human labels are its current verdict (the newest review save from any reviewer); its
judge labels are that version's newest successful judgement. Both are resolved through the
taxonomy, so a renamed mode is calibrated under its current name. Error rates use every labelled
call the version judged, whatever the period: they describe the judge, and a month rarely has
enough reviews on its own. The observed rate uses the calls in the chosen scope.

Each labelled call counts by the sampling weight of the session its verdict was saved in
(review_samples.weight), so sessions that oversampled judge-flagged calls do not tilt the judge's
error rates; a verdict saved outside a session counts with weight 1.
"""

from __future__ import annotations

import duckdb
import ibis
import polars as pl

from warehouse import calibration_math, metrics, prepared, review_metrics, reviews
from warehouse.engines import Source, source, warehouse_file
from warehouse.filters import Filters
from warehouse.tables import Tables
from warehouse.taxonomy import Taxonomy, read_taxonomy


def _latest_by_version(t: Tables, judge_version: ibis.StringValue) -> ibis.Table:
    """Each call's newest successful judgement by one judge version."""
    j = t.judgements.filter(t.judgements.status == "ok", t.judgements.judge_version == judge_version)
    newest_first = ibis.row_number().over(group_by=j.call_id, order_by=ibis.desc(j.created_at))
    j = j.mutate(_rank=newest_first)
    return j.filter(j._rank == 0).select("call_id", judge_labels=j.labels)


def _versions_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """`versions_to_calibrate` as the engine computes it."""
    j = t.judgements.filter(t.judgements.status == "ok")
    reviewed = review_metrics.call_verdicts(t.reviews).select("call_id", reviewed=ibis.literal(True))
    per_call = j.left_join(reviewed, j.call_id == reviewed.call_id).select(
        j.judge_name, j.judge_version, j.call_id, j.created_at, reviewed.reviewed
    )
    return [
        per_call.group_by("judge_name", "judge_version")
        .aggregate(
            calls_judged=per_call.call_id.nunique(),
            calls_reviewed=per_call.call_id.nunique(where=per_call.reviewed.notnull()),
            last_judged=per_call.created_at.max(),
        )
        .order_by(ibis.desc("last_judged"))
    ]


def versions_to_calibrate() -> pl.DataFrame:
    """Judge versions that have judged calls, newest first: calls judged and how many of those a
    person has labelled too (the calibration's sample)."""
    with source() as opened:
        (frame,) = prepared.frames(opened, _versions_expressions, (), {})
    return frame


def _pairs_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """The version's (`version`) judgements a person labelled too, with both labels."""
    verdicts = review_metrics.call_verdicts(t.reviews)
    verdicts = verdicts.select("call_id", "session_id", human_labels=verdicts.labels)
    return [_latest_by_version(t, params["version"]).inner_join(verdicts, "call_id")]


def _in_scope_expressions(t: Tables, params: prepared.Params) -> list[ibis.Table]:
    """The version's (`version`) judgements of the calls in the filters' (`f`) scope."""
    scoped = metrics.scoped_calls(t, prepared.filter_params(params, "f"))
    return [_latest_by_version(t, params["version"]).semi_join(scoped, "call_id")]


def _read_pairs(opened: Source, file: duckdb.DuckDBPyConnection, judge_version: str) -> pl.DataFrame:
    (pairs,) = prepared.frames(opened, _pairs_expressions, (), {"version": judge_version})
    weights = reviews.read_sample_weights(file)
    return pairs.join(weights, on=["session_id", "call_id"], how="left").with_columns(pl.col("weight").fill_null(1.0))


def _read_in_scope(opened: Source, f: Filters, judge_version: str) -> pl.DataFrame:
    values = prepared.filter_values(f, "f") | {"version": judge_version}
    (in_scope,) = prepared.frames(opened, _in_scope_expressions, (), values)
    return in_scope


def labelled_pairs(judge_version: str) -> pl.DataFrame:
    """The calls a person and the judge version both labelled, with both labels and the sampling
    weight of the session the verdict was saved in: the judge's error rates, whatever the period
    (so the app reads them once, not on every filter change)."""
    with source() as opened, warehouse_file(opened) as file:
        return _read_pairs(opened, file, judge_version)


def judged_in_scope(f: Filters, judge_version: str) -> pl.DataFrame:
    """The judge version's labels of the calls in the filters' scope: the rate it observes."""
    with source() as opened:
        return _read_in_scope(opened, f, judge_version)


def calibration_rows(pairs: pl.DataFrame, in_scope: pl.DataFrame, taxonomy: Taxonomy) -> pl.DataFrame:
    """One row per label either rater used: the confusion counts (weighted by `pairs.weight` when
    given), TPR, TNR, kappa, the observed and corrected rates with the corrected rate's interval,
    and a caution when the sample is thin or the judge near chance (then no corrected rate)."""
    pairs = pairs.with_columns(
        human=taxonomy.resolved("human_labels").fill_null([]), judge=taxonomy.resolved("judge_labels").fill_null([])
    )
    in_scope = in_scope.with_columns(judge=taxonomy.resolved("judge_labels").fill_null([]))
    labels = sorted(
        set(pairs["human"].explode().drop_nulls()) | set(pairs["judge"].explode().drop_nulls())
        | set(in_scope["judge"].explode().drop_nulls())
    )
    weights = pairs["weight"] if "weight" in pairs.columns else None
    rows = []
    for label in labels:
        c = calibration_math.confusion(pairs["human"].list.contains(label), pairs["judge"].list.contains(label),
                                       weights)  # fmt: skip
        judged, flagged = in_scope.height, int(in_scope["judge"].list.contains(label).sum())
        observed = flagged / judged if judged else None
        trusted = observed is not None and not calibration_math.near_chance(c)
        interval = calibration_math.corrected_rate_interval(c, judged, flagged) if trusted else None
        corrected = calibration_math.rogan_gladen(observed, c.tpr, c.tnr) if trusted and observed is not None else None
        rows.append({
            "label": label, "labelled_calls": pairs.height, "human_yes": c.positives, "tp": c.tp, "fn": c.fn,
            "fp": c.fp, "tn": c.tn, "tpr": c.tpr, "tnr": c.tnr, "kappa": c.kappa, "judged_calls": judged,
            "flagged": flagged,
            "observed_rate": observed, "corrected_rate": corrected,
            "corrected_low": interval[0] if interval else None, "corrected_high": interval[1] if interval else None,
            "warning": calibration_math.caution(c),
        })  # fmt: skip
    schema = {
        "label": pl.String, "labelled_calls": pl.Int64, "human_yes": pl.Float64, "tp": pl.Float64,
        "fn": pl.Float64, "fp": pl.Float64, "tn": pl.Float64, "tpr": pl.Float64, "tnr": pl.Float64,
        "kappa": pl.Float64,
        "judged_calls": pl.Int64, "flagged": pl.Int64, "observed_rate": pl.Float64, "corrected_rate": pl.Float64,
        "corrected_low": pl.Float64, "corrected_high": pl.Float64, "warning": pl.String,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def calibration_table(f: Filters, judge_version: str) -> pl.DataFrame:
    """Calibration of one judge version, per label, with rates observed on the calls in scope, in
    one opening of the warehouse."""
    with source() as opened, warehouse_file(opened) as file:
        pairs, taxonomy = _read_pairs(opened, file, judge_version), read_taxonomy(file)
        in_scope = _read_in_scope(opened, f, judge_version)
    return calibration_rows(pairs, in_scope, taxonomy)
