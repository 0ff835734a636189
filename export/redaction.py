"""PII redaction of everything that leaves Callboard as a file (table downloads, review summaries,
decks). Ingest already masks customer text on the way in; exports mask again because a warehouse
may have been loaded before redaction existed, or text typed into the app (review notes) may hold
a phone number. On by default; `CALLBOARD_REDACT=0` turns it off for a team that exports into a
system cleared for personal data."""

from __future__ import annotations

import os

import polars as pl

from warehouse.pii import redact_expression, redact_text

SETTING = "CALLBOARD_REDACT"


def enabled() -> bool:
    """Whether exports mask phone numbers, e-mail addresses and card numbers (anything but "0",
    "false", "no" or "off" keeps it on)."""
    return os.environ.get(SETTING, "1").strip().lower() not in ("0", "false", "no", "off")


def _masked(name: str, dtype: pl.DataType) -> pl.Expr | None:
    """The column masked, for text and lists of text (`pl.col("")` is the list element)."""
    if dtype == pl.String:
        return redact_expression(name)
    if dtype == pl.List(pl.String):
        return pl.col(name).list.eval(redact_expression(""))
    return None


def redact_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every text column masked when redaction is on. Every column, not a list of
    known ones: a column added to a table later is covered without anyone remembering to."""
    if not enabled():
        return frame
    masked = [_masked(name, dtype) for name, dtype in frame.schema.items()]
    return frame.with_columns(m for m in masked if m is not None)


def redact(text: str) -> str:
    """One text (a review summary, a quote) masked when redaction is on."""
    return redact_text(text) if enabled() and text else text
