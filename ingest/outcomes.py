"""Load a CRM or survey export (CSV or Parquet) through its TOML mapping into `outcomes`.

The values are checked in polars before the warehouse is opened: a row whose value cannot be read
as ours (an unlisted word, NPS 11, a date that is not one) is quarantined with the reason, and the
others load. Columns the mapping does not name are kept in `outcomes.extra`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.mapping import Mapping, load_mapping, require_columns
from ingest.redact import redact_expression
from ingest.run_log import recorded_run
from ingest.summary import RunSummary
from ingest.tables import read_table
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.outcome_loading import load_outcomes

FIELDS = ("call_id", "trace_id", "booked", "deal_value_usd", "nps", "csat", "resolved", "escalated", "recorded_at")
JOIN_KEYS = ("call_id", "trace_id")
_BOOLEANS = ("booked", "resolved", "escalated")
_RANGES = {"nps": (0, 10), "csat": (1, 5)}


def ingest_outcomes(path: Path, mapping: Path, *, db_path: Path | None = None) -> RunSummary:
    """Load one export; re-importing it replaces its rows rather than adding them again."""
    spec = load_mapping(Path(mapping), FIELDS, JOIN_KEYS)
    frame = read_table(Path(path))
    require_columns(spec, frame.columns, Path(path))
    typed = _typed(frame, spec)
    good = typed.filter(pl.col("reason").is_null()).drop("reason", "record")
    bad = typed.filter(pl.col("reason").is_not_null()).select(
        pl.format("row {}", pl.col("row_number")).alias("location"), "reason", "record")
    source_file = str(Path(path).resolve())
    with recorded_run("outcomes", [path], db_path) as summary:
        with transaction(db_path) as con:
            load = load_outcomes(con, good.to_arrow(), source=spec.source, join_on=spec.join_on,
                                 source_file=source_file)
            refused = quarantine(con, summary.run_id, source_file, bad.to_arrow())
            add_counts(con, summary.run_id, read=typed.height, loaded=load.loaded, updated=load.updated,
                       quarantined=refused)
        summary.add(read=typed.height, loaded=load.loaded, updated=load.updated, quarantined=refused)
        summary.unmatched = len(load.unmatched_keys)
        summary.unmatched_keys = load.unmatched_keys
    return summary


def _typed(frame: pl.DataFrame, spec: Mapping) -> pl.DataFrame:
    """Our columns, typed, plus `reason` (NULL when the row is fine) and `record` (the row as read)."""
    text = frame.with_columns(pl.all().str.strip_chars())
    if spec.redact:
        text = text.with_columns(redact_expression(c) for c in text.columns
                                 if c != spec.columns[spec.join_on])
    theirs = spec.columns
    ours: list[pl.Expr] = [pl.col(theirs[spec.join_on]).alias("external_key")]
    problems: list[pl.Expr] = [
        pl.when(pl.col(theirs[spec.join_on]).fill_null("") == "")
        .then(pl.lit(f"no {spec.join_on} in column {theirs[spec.join_on]!r}"))]
    for name in FIELDS:
        if name in JOIN_KEYS:
            continue
        column = pl.col(theirs[name]) if name in theirs else pl.lit(None, pl.String)
        given = column.is_not_null() & (column != "")
        value = _convert(name, column, spec)
        ours.append(pl.when(given).then(value).alias(name))
        label = theirs.get(name, name)
        problems.append(pl.when(given & value.is_null()).then(
            pl.format(f"{name}: {{}} in column {label!r} cannot be read", column)))
        if name in _RANGES:
            low, high = _RANGES[name]
            problems.append(pl.when(given & value.is_not_null() & ~value.is_between(low, high)).then(
                pl.format(f"{name} {{}} is outside {low}–{high}", column)))
    unmapped = [c for c in text.columns if c not in set(theirs.values())]
    extra = pl.struct(unmapped).struct.json_encode() if unmapped else pl.lit(None, pl.String)
    return text.with_row_index("row_number", offset=1).select(
        "row_number", *ours, extra.alias("extra"), pl.coalesce(problems).alias("reason"),
        pl.struct(text.columns).struct.json_encode().alias("record"))


def _convert(name: str, column: pl.Expr, spec: Mapping) -> pl.Expr:
    if name in _BOOLEANS:
        words = spec.values.get(name)
        if words is None:
            lowered = column.str.to_lowercase()
            return pl.when(lowered.is_in(["true", "yes", "1", "y"])).then(True).when(
                lowered.is_in(["false", "no", "0", "n"])).then(False)
        return column.replace_strict(words, default=None, return_dtype=pl.Boolean)
    if name == "deal_value_usd":
        return column.str.replace_all(r"[$,]", "").cast(pl.Float64, strict=False)
    if name in _RANGES:
        return column.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
    return column.str.to_datetime(time_zone="UTC", strict=False).dt.replace_time_zone(None)
