"""Load a CRM or survey export (CSV, Parquet, JSON) through its TOML mapping into `outcomes`.
docs/outcomes.md is the format.

The values are checked in polars before the warehouse is opened, chunk by chunk, and staged on
disk in pieces by record (ingest/pieces.py), so memory stays bounded whatever the export's size:
a row whose value cannot be read as ours (a word the mapping does not list, NPS 11, a date that
is not one) is quarantined with the reason, and the others load. Rows for one record (the
export's own id, else the call) are combined by the rule in docs/outcomes.md, wherever in the
file they are. Columns the mapping does not name are kept in `outcomes.extra`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from ingest import dates, numbers
from ingest.formats import Survey, surveyed
from ingest.mapping import DEFAULT_BOOLEANS, Mapping, load_mapping
from ingest.pieces import piece_count, stage, staged
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from ingest.tables import OpenedTable, opened_table
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.outcome_loading import load_outcomes, unmatched_keys
from warehouse.pii import redact_expression

FIELDS = ("record_id", "call_id", "trace_id", "booked", "stage", "deal_value_usd", "nps", "csat", "resolved",
          "escalated", "recorded_at")
JOIN_KEYS = ("call_id", "trace_id")
_BOOLEANS = ("booked", "resolved", "escalated")
_NUMBERS = ("deal_value_usd", "nps", "csat")
_RANGES = {"nps": (0, 10), "csat": (1, 5)}
_DATES = ("recorded_at",)


def ingest_outcomes(path: Path, mapping: Path, *, db_path: Path | None = None) -> IngestSummary:
    """Load one export; re-importing it changes nothing, and a changed record replaces its row.
    Each piece is merged in a transaction of its own (with its counts, so the run's balance at
    any moment), keeping the warehouse free for others between pieces; a run stopped half-way
    is completed by running the file again."""
    path = Path(path)
    spec = load_mapping(Path(mapping), FIELDS, JOIN_KEYS, _DATES)
    with opened_table(path, spec.file) as table, tempfile.TemporaryDirectory(prefix="callboard-") as scratch:
        survey = _survey(table, spec, path)
        folder = Path(scratch)
        _stage(table, spec, survey, folder)
        source_file = str(path.resolve())
        with recorded_run("outcomes", [path], db_path, unit="rows") as summary:
            for number, rows in enumerate(staged(folder)):
                with transaction(db_path) as con:
                    load = load_outcomes(con, rows, source=spec.source, join_on=spec.join_on, source_file=source_file,
                                         unmatched=folder / f"unmatched-{number:05d}.parquet")
                    add_counts(con, summary.run_id, read=load.read, loaded=load.loaded, updated=load.updated,
                               unchanged=load.unchanged, quarantined=0)
                summary.add(read=load.read, loaded=load.loaded, updated=load.updated, unchanged=load.unchanged)
            for rejects in sorted(folder.glob("refused-*.parquet")):
                with transaction(db_path) as con:
                    refused = quarantine(con, summary.run_id, source_file, pl.read_parquet(rejects).to_arrow())
                    add_counts(con, summary.run_id, read=refused, loaded=0, updated=0, quarantined=refused)
                summary.add(read=refused, quarantined=refused)
            summary.unmatched, summary.unmatched_keys = unmatched_keys(sorted(folder.glob("unmatched-*.parquet")))
    return summary


def _survey(table: OpenedTable, spec: Mapping, path: Path) -> Survey:
    """The file's size and columns, and day-first dates and decimal marks for the columns whose
    mapping does not say."""
    theirs = spec.columns
    return surveyed(
        table, path, spec, {n: theirs[n] for n in _DATES if n in theirs and n not in spec.dates},
        {n: theirs[n] for n in _NUMBERS if n in theirs and spec.decimal is None})


def _stage(table: OpenedTable, spec: Mapping, survey: Survey, scratch: Path) -> None:
    """Type the file chunk by chunk: good rows go to pieces by record (so a record's rows meet
    again however far apart the file has them), refused rows to `refused-N.parquet` with their
    reasons."""
    pieces, read = piece_count(survey.frame_bytes), 0
    for number, chunk in enumerate(table.chunks(survey.columns)):
        typed = _typed(chunk.lazy(), spec, survey.formats, first_row=read + 1).collect()
        read += chunk.height
        refused = typed.filter(pl.col("reason").is_not_null())
        if not refused.is_empty():
            refused.select(pl.format("row {}", "row_number").alias("location"), "reason", "record").write_parquet(
                scratch / f"refused-{number:06d}.parquet")
        stage(typed.filter(pl.col("reason").is_null()).drop("reason", "record"), "record_key", pieces, scratch,
              number)


def _typed(frame: pl.LazyFrame, spec: Mapping, formats: dict[str, object], first_row: int) -> pl.LazyFrame:
    """Our columns, typed, plus `row_number` (counted from `first_row`), `record_key` (what rows
    combine by), `reason` (NULL when the row is fine) and `record` (the row as read, for refused
    rows only)."""
    text = frame.with_columns(pl.all().str.strip_chars())
    theirs = spec.columns
    if spec.redact:  # free text the mapping does not type: notes, names, addresses
        text = text.with_columns(redact_expression(c) for c in text.collect_schema().names()
                                 if c not in set(theirs.values()))
    key = pl.col(theirs[spec.join_on])
    ours: list[pl.Expr] = [key.alias("external_key")]
    problems: list[pl.Expr] = [_missing(spec, spec.join_on)]
    if "record_id" in theirs:
        problems.append(_missing(spec, "record_id"))
    typed_fields = [n for n in FIELDS if n not in JOIN_KEYS]
    values = {n: _value(n, _theirs(spec, n), spec, formats) for n in typed_fields}
    for name in typed_fields:  # problems read the typed value once computed, not a copy of its expression
        column = _theirs(spec, name)
        given = column.is_not_null() & (column != "")
        value = pl.col(f"value:{name}")
        ours.append(pl.when(given).then(value.cast(pl.Int64, strict=False) if name in _RANGES else value).alias(name))
        problems.append(pl.when(given).then(_problem(name, column, pl.col(f"value:{name}"), spec)))
    record_key = pl.col(theirs["record_id"]) if "record_id" in theirs else key
    columns = text.collect_schema().names()
    unmapped = [c for c in columns if c not in set(theirs.values())]
    extra = pl.struct(unmapped).struct.json_encode() if unmapped else pl.lit(None, pl.String)
    return text.with_row_index("row_number", offset=first_row).with_columns(
        value.alias(f"value:{name}") for name, value in values.items()).with_columns(
        reason=pl.coalesce(problems)).select(
        "row_number", record_key.alias("record_key"), *ours, extra.alias("extra"), "reason",
        pl.when(pl.col("reason").is_not_null()).then(pl.struct(columns).struct.json_encode()).alias("record"))


def _missing(spec: Mapping, name: str) -> pl.Expr:
    column = pl.col(spec.columns[name])
    return pl.when(column.fill_null("") == "").then(pl.lit(f"no {name} in column {spec.columns[name]!r}"))


def _theirs(spec: Mapping, name: str) -> pl.Expr:
    return pl.col(spec.columns[name]) if name in spec.columns else pl.lit(None, pl.String)


def _value(name: str, column: pl.Expr, spec: Mapping, formats: dict[str, object]) -> pl.Expr:
    """Our typed value of their column (NULL where it cannot be read)."""
    if name in _BOOLEANS:
        return column.str.to_lowercase().replace_strict(_words(spec, name), default=None, return_dtype=pl.Boolean)
    if name in _NUMBERS:
        return numbers.number(column, spec.decimal or str(formats.get(name, ".")))
    if name in _DATES:
        return dates.timestamp(column, spec.dates.get(name, dates.DateRule()), bool(formats.get(name, False)))
    return column  # record_id, stage: text as written


def _problem(name: str, column: pl.Expr, value: pl.Expr, spec: Mapping) -> pl.Expr:
    """Why a given value cannot be read (NULL when it can)."""
    label = spec.columns.get(name, name)
    if name in _BOOLEANS:
        return pl.when(~column.str.to_lowercase().is_in(list(_words(spec, name)))).then(pl.format(
            f"{name}: {{}} in column {label!r} is none of {spec.accepted_words(name)}", column))
    if name in _NUMBERS:
        not_a_number = pl.when(value.is_null()).then(
            pl.format(f"{name}: {{}} in column {label!r} is not a number", column))
        if name not in _RANGES:
            return not_a_number
        low, high = _RANGES[name]
        return not_a_number.when(value != value.round()).then(
            pl.format(f"{name} {{}} in column {label!r} is not a whole number", column)).when(
            ~value.is_between(low, high)).then(pl.format(f"{name} {{}} is outside {low}–{high}", column))
    if name in _DATES:
        return pl.when(value.is_null()).then(
            pl.format(f"{name}: {{}} in column {label!r} is not a date{_format_hint(spec, name)}", column)).when(
            dates.implausible(value)).then(
            pl.format(f"{name}: {{}} in column {label!r} is not between 2000 and 2100", column))
    return pl.lit(None, pl.String)


def _words(spec: Mapping, name: str) -> dict[str, bool | None]:
    """The field's words, lowercased, as true, false or None (pending)."""
    return {w.lower(): v for w, v in spec.values.get(name, DEFAULT_BOOLEANS).items()}


def _format_hint(spec: Mapping, name: str) -> str:
    rule = spec.dates.get(name)
    return f" in the format {rule.format}" if rule is not None and rule.format else ""
