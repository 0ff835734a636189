"""The table of matching calls: every one of them, in the columns the user picked, sortable in the
column headers and searchable from the table's toolbar; clicking a row picks that call.

Streamlit's own table rather than an AgGrid: it sends the rows as Arrow and draws only those in view
on a canvas, where the AgGrid built every row in the browser on each filter change (about 0.8 s of the
browser's main thread for 10,000 calls, 90 days of the demo, against 0.05 s). The rows go as an
Arrow table, which Streamlit sends as it is; a polars frame it converts through pandas first."""

from __future__ import annotations

import hashlib

import polars as pl
import streamlit as st

COLUMNS = {
    "call_id": "Call",
    "started_at": "Started (UTC)",
    "agent": "Agent",
    "prompt_version": "Prompt",
    "model": "Model",
    "failure_modes": "Failure modes",
    "judge_modes": "Judge's modes",
    "human_modes": "People's modes",
    "booked": "Booked",
    "judge_score": "Judge score",
    "human_score": "People's score",
    "duration_s": "Length (s)",
    "cost_usd": "Cost ($)",
}
DEFAULT_COLUMNS = ("call_id", "started_at", "agent", "prompt_version", "failure_modes", "booked", "judge_score")
_FORMATS = {
    "started_at": st.column_config.DatetimeColumn(COLUMNS["started_at"], format="YYYY-MM-DD HH:mm"),
    "duration_s": st.column_config.NumberColumn(COLUMNS["duration_s"], format="%.1f"),
    "cost_usd": st.column_config.NumberColumn(COLUMNS["cost_usd"], format="%.3f"),
}
HEIGHT = 420


def table_columns(columns: list[str]) -> list[str]:
    """The columns the table shows, in the order picked: the call id always first (a row names its
    call), unknown names left out."""
    return ["call_id", *[c for c in columns if c != "call_id" and c in COLUMNS]]


def _rows_key(key: str, calls: pl.DataFrame) -> str:
    """The table's key for this list of calls. Streamlit keeps a keyed table's selection (a row
    number) when its data changes, so after a filter change the row picked before would name
    another call, which would open as if clicked: a new list gets a new key, and no selection."""
    digest = hashlib.blake2b(calls["call_id"].str.join("\n").item().encode(), digest_size=8).hexdigest()
    return f"{key}-{digest}"


def call_grid(calls: pl.DataFrame, columns: list[str], key: str) -> str | None:
    """Draw the table of `calls` in `columns`; the call id of the row clicked, if any."""
    shown = table_columns(columns)
    table = st.dataframe(
        calls.select(shown).to_arrow(), key=_rows_key(key, calls), on_select="rerun", selection_mode="single-row",
        hide_index=True, width="stretch", height=HEIGHT,
        column_config={c: _FORMATS.get(c, COLUMNS[c]) for c in shown},
    )  # fmt: skip
    rows = table.selection.rows
    return str(calls["call_id"][rows[0]]) if rows else None
