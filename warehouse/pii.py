"""Mask phone numbers, e-mail addresses and payment-card numbers in customer text before it is
written anywhere (warehouse rows and quarantined records alike), and again in what leaves the
warehouse (exports, eval datasets). Here, at the bottom layer, so ingest, judges and export all
use the one set of patterns without importing each other.

Applied to whole Arrow columns with polars' Rust regex engine, so redacting costs little even on
the fast span path. The patterns favour precision: a phone number needs a `+`, brackets or a
separator after its area code, so ids and token counts are left alone.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

# Order matters: card numbers first, as their digit groups would also read as a phone number.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[email]"),
    (r"\b(?:\d[ -]?){12,18}\d\b", "[card]"),
    (r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?|\b\d{2,5}[ .-])\d{3,4}[ .-]?\d{3,4}\b", "[phone]"),
    (r"\+\d{8,15}\b", "[phone]"),  # E.164 written whole, as voice platforms send it: +14155550123
)


def redact_expression(column: str) -> pl.Expr:
    expression = pl.col(column)
    for pattern, mask in PATTERNS:
        expression = expression.str.replace_all(pattern, mask)
    return expression


def redact_columns(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
    """`table` with PII masked in the text `columns` it has (others are left as they are)."""
    present = [c for c in columns if c in table.column_names]
    if not present or not table.num_rows:
        return table
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    redacted = frame.with_columns(redact_expression(c) for c in present).to_arrow()
    return redacted.cast(table.schema) if redacted.schema != table.schema else redacted


def redact_text(text: str) -> str:
    """One string, masked the same way (for the few values that are not in a table)."""
    return pl.DataFrame({"text": [text]}).select(redact_expression("text")).item()
