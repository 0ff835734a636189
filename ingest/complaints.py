"""Load customer-reported issues (a CSV, Parquet or JSONL export: call id, complaint text, reported
label) into `complaints`, where they become test cases for the judges.

The file's columns are `call_id`, `complaint` and `reported_label`, or whatever a mapping TOML
names (the outcomes mapping format, `[columns]` naming all three). A row is refused, with the
reason, when it has no call id, no complaint or a label that is not a failure mode; a call id the
warehouse does not know is kept and reported, since the call may be ingested later. Labels are
compared in lower case with spaces and hyphens read as underscores ("Wrong booking" is
wrong_booking); a renamed or merged mode's old name is accepted and resolved when the dataset is
exported.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.errors import IngestError
from ingest.mapping import Mapping, load_mapping, require_columns
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from ingest.tables import read_table
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.pii import redact_expression
from warehouse.taxonomy import load_taxonomy
from warehouse.test_cases import load_complaints

FIELDS = ("call_id", "complaint", "reported_label")
DEFAULT = Mapping(source="complaints", join_on="call_id", redact=False, columns={f: f for f in FIELDS})


def ingest_complaints(
    path: Path, mapping: Path | None = None, *, redact: bool = False, db_path: Path | None = None
) -> IngestSummary:
    """Load one file; importing it again adds nothing. `redact` (or `redact = true` in the
    mapping) masks phones, e-mails and card numbers in the complaint text before it is stored."""
    path = Path(path)
    spec = _mapping(Path(mapping)) if mapping is not None else DEFAULT
    frame = read_table(path, spec.file)
    if mapping is not None:
        require_columns(spec, frame.columns, path)
    elif missing := [c for c in FIELDS if c not in frame.columns]:
        raise IngestError(f"{path} has no column {missing[0]!r}; a complaints file has the columns "
                          f"{', '.join(FIELDS)} (or give --mapping).")
    labels = set(load_taxonomy(db_path).aliases)
    checked = _checked(frame, spec, labels, redact or spec.redact)
    good = checked.filter(pl.col("reason").is_null()).select(FIELDS)
    bad = checked.filter(pl.col("reason").is_not_null()).select(
        pl.format("row {}", pl.col("row_number")).alias("location"), "reason", "record")
    source_file = str(path.resolve())
    with recorded_run("complaints", [path], db_path, unit="rows") as summary:
        with transaction(db_path) as con:
            load = load_complaints(con, good.to_arrow(), source_file)
            refused = quarantine(con, summary.run_id, source_file, bad.to_arrow())
            unchanged = good.height - load.loaded  # already stored, or given twice in the file
            add_counts(con, summary.run_id, read=checked.height, loaded=load.loaded, updated=0, unchanged=unchanged,
                       quarantined=refused)
        summary.add(read=checked.height, loaded=load.loaded, unchanged=unchanged, quarantined=refused)
        summary.unmatched = len(load.unmatched_keys)
        summary.unmatched_keys = load.unmatched_keys
    return summary


def _mapping(path: Path) -> Mapping:
    spec = load_mapping(path, FIELDS, ("call_id",))
    if missing := [f for f in FIELDS if f not in spec.columns]:
        raise IngestError(f"The mapping {path}: [columns] must name the column of {missing[0]}.")
    return spec


def _checked(frame: pl.DataFrame, spec: Mapping, labels: set[str], redact: bool) -> pl.DataFrame:
    """Our three columns, plus `reason` (NULL when the row is fine), `record` (the row as read,
    redacted when asked) and `row_number`."""
    theirs = spec.columns
    text = frame.with_columns(pl.all().str.strip_chars())
    if redact:
        text = text.with_columns(redact_expression(c) for c in text.columns if c != theirs["call_id"])
    label = pl.col(theirs["reported_label"]).str.to_lowercase().str.replace_all(r"[\s-]+", "_")
    empty = {f: pl.col(theirs[f]).fill_null("") == "" for f in FIELDS}
    reason = pl.coalesce(
        pl.when(empty["call_id"]).then(pl.lit(f"no call id in column {theirs['call_id']!r}")),
        pl.when(empty["complaint"]).then(pl.lit(f"no complaint text in column {theirs['complaint']!r}")),
        pl.when(empty["reported_label"]).then(pl.lit(f"no reported label in column {theirs['reported_label']!r}")),
        pl.when(~label.is_in(sorted(labels))).then(
            pl.format("reported label {} is not in the failure-mode list", pl.col(theirs["reported_label"]))),
    )
    return text.with_row_index("row_number", offset=1).select(
        "row_number", pl.col(theirs["call_id"]).alias("call_id"), pl.col(theirs["complaint"]).alias("complaint"),
        label.alias("reported_label"), reason.alias("reason"),
        pl.struct(text.columns).struct.json_encode().alias("record"))
