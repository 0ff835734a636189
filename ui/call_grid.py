"""The table of matching calls: every one of them, in the columns the user picked, sortable in the
column headers and searchable from the table's toolbar; clicking a row picks that call.

Streamlit's own table rather than an AgGrid: it sends the rows as Arrow and draws only those in view
on a canvas, where the AgGrid built every row in the browser on each filter change (about 0.8 s of the
browser's main thread for 10,000 calls, 90 days of the demo, against 0.05 s). The rows go as an
Arrow table, which Streamlit sends as it is; a polars frame it converts through pandas first."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

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


def _listed(calls: pl.DataFrame) -> str:
    """The list of calls, in order, as a digest: a row number names the same call only within one list."""
    return hashlib.blake2b(calls["call_id"].str.join("\n").item().encode(), digest_size=8).hexdigest()


def _table_key(key: str, listed: str) -> str:
    """The table's key. Streamlit keeps a keyed table's selection (a row number) when its rows
    change, so after a filter change the row picked before would name another call, ticked and
    opened as if clicked: then the table takes a new key, without a selection. Only then: a table
    under a new key is drawn anew, which kept the browser busy ~0.2 s longer than new rows."""
    state = st.session_state
    generation = state.get(f"{key}_generation", 0)
    selection = state.get(f"{key}-{generation}") or {}
    if selection.get("selection", {}).get("rows") and state.get(f"{key}_picked_in") != listed:
        generation = state[f"{key}_generation"] = generation + 1
    return f"{key}-{generation}"


def picked_call(calls: pl.DataFrame, key: str, draw: Callable[[str, Callable[[], None]], Any]) -> str | None:
    """Draw a table of `calls` with `draw(table_key, on_select)` (an `st.dataframe` with single-row
    selection, under that key, calling that on a click); the call id of the row clicked in this
    list, if any: a row picked in another list (before a filter change) picks nothing."""
    listed, state = _listed(calls), st.session_state

    def picked() -> None:  # runs before the rerun a click starts, while `_shown` is the list clicked in
        state[f"{key}_picked_in"] = state.get(f"{key}_shown")

    table = draw(_table_key(key, listed), picked)
    state[f"{key}_shown"] = listed
    rows = table.selection.rows
    return str(calls["call_id"][rows[0]]) if rows and state.get(f"{key}_picked_in") == listed else None


def call_grid(calls: pl.DataFrame, columns: list[str], key: str) -> str | None:
    """Draw the table of `calls` in `columns`; the call id of the row clicked, if any."""
    shown = table_columns(columns)
    return picked_call(calls, key, lambda table_key, on_select: st.dataframe(
        calls.select(shown).to_arrow(), key=table_key, on_select=on_select, selection_mode="single-row",
        hide_index=True, width="stretch", height=HEIGHT,
        column_config={c: _FORMATS.get(c, COLUMNS[c]) for c in shown},
    ))  # fmt: skip
