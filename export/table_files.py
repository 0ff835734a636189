"""Tables as files: CSV for spreadsheets, Parquet for notebooks. Exactly the rows and columns the
page shows (its filters already applied), masked for PII when redaction is on, with the period
and filters written into the Parquet file's metadata.

`csv_bytes` is the one place Callboard writes CSV. Customer text in a cell that starts like a
formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'` (OWASP's rule against
CSV injection), so a spreadsheet shows it as text instead of running it."""

from __future__ import annotations

import io
import re

import polars as pl

from export.redaction import redact_frame

FILTERS_KEY = "callboard.filters"  # Parquet key-value metadata: the period and filters of the rows
LIST_SEPARATOR = "; "
FORMULA_START = r"^[=+\-@\t\r]"  # what a spreadsheet may read as the start of a formula


def file_stem(title: str) -> str:
    """A title as a file name: 'Cost per call' → 'cost-per-call'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "callboard"


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists as one text cell each: CSV has no lists."""
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(LIST_SEPARATOR) for c in lists)


def _inert(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that a spreadsheet would take for a formula, prefixed with `'`."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with a header row, lists joined, formulas made text."""
    return _inert(_flat(redact_frame(frame))).write_csv().encode()


def parquet_bytes(frame: pl.DataFrame, caption: str) -> bytes:
    """The frame as Parquet, types kept, with `caption` (period and filters) under FILTERS_KEY."""
    buffer = io.BytesIO()
    redact_frame(frame).write_parquet(buffer, metadata={FILTERS_KEY: caption})
    return buffer.getvalue()
