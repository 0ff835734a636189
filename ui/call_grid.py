"""The table of matching calls: an AgGrid (sort and filter in every column header) over the
columns the user picked; clicking a row picks that call."""

from __future__ import annotations

import pandas as pd
import polars as pl
from st_aggrid import AgGrid, GridOptionsBuilder

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


def grid_frame(calls: pl.DataFrame, columns: list[str]) -> pd.DataFrame:
    """What the grid shows: the picked columns (the call id always first, so a row can be
    opened), times as text AgGrid sorts correctly, figures rounded for reading."""
    picked = ["call_id", *[c for c in columns if c != "call_id" and c in COLUMNS]]
    return calls.select(picked).with_columns(
        pl.col(c).dt.strftime("%Y-%m-%d %H:%M") for c in picked if calls.schema[c] == pl.Datetime
    ).with_columns(pl.col(c).round(3) for c in picked if calls.schema[c] == pl.Float64).to_pandas()


def call_grid(frame: pd.DataFrame, key: str) -> str | None:
    """Draw the grid; the call id of the row clicked, if any."""
    builder = GridOptionsBuilder.from_dataframe(frame, filter=True, sortable=True, resizable=True)
    for column, header in COLUMNS.items():
        if column in frame.columns:
            builder.configure_column(column, header_name=header)
    builder.configure_selection("single")
    builder.configure_pagination(paginationAutoPageSize=False, paginationPageSize=20)
    response = AgGrid(frame, gridOptions=builder.build(), height=420, update_on=["selectionChanged"], key=key)
    selected = response.selected_data
    if selected is None or len(selected) == 0:
        return None
    return str(selected.iloc[0]["call_id"])
