"""Tables on a page, each with a download of exactly its rows (the page's filters applied) as CSV
and Parquet. The files are built only when a button is clicked, and masked for PII when redaction
is on (export/redaction.py)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from export import table_files
from present.markdown import escape_markdown
from ui import projector


def downloads(frame: pl.DataFrame, name: str, caption: str, key: str | None = None) -> None:
    """A "Download" popover with the frame as CSV and as Parquet; `caption` (period and filters)
    is shown in it and written into the Parquet file."""
    stem, key = table_files.file_stem(name), key or table_files.file_stem(name)
    with st.popover("Download table", icon=":material/download:"):
        st.caption(f"{frame.height:,} rows · {escape_markdown(caption)}")  # it names agents, sessions, modes
        st.download_button("CSV (spreadsheets)", data=lambda: table_files.csv_bytes(frame), file_name=f"{stem}.csv",
                           mime="text/csv", key=f"{key}-csv", on_click="ignore")
        st.download_button("Parquet (notebooks)", data=lambda: table_files.parquet_bytes(frame, caption),
                           file_name=f"{stem}.parquet", mime="application/vnd.apache.parquet", key=f"{key}-parquet",
                           on_click="ignore")


def show_table(frame: pl.DataFrame, name: str, caption: str, wrap: bool = False, one_line: tuple[str, ...] = (),
               **dataframe_kwargs: Any) -> Any:
    """`st.dataframe(frame, **dataframe_kwargs)` with downloads of the frame under it; returns
    what st.dataframe returns (the selection, when the table is selectable). In projector mode (or
    always, with `wrap`: a short list the room reads whole, such as reviewers' notes) a table
    without selection whose columns are plain text and numbers is drawn as a static table instead,
    whose text wraps at the page's type size rather than scrolling sideways out of sight; except
    the `one_line` columns, such as call ids, which a break at their hyphen made two lines that no
    longer read as one id (the other columns wrap around them). Its counts (`format="localized"`)
    read as the interactive table writes them: "2,233", right-aligned. A static table also costs
    the browser far less to draw (Compare versions' interactive table took 184 ms after the app's
    run)."""
    config = dataframe_kwargs.get("column_config") or {}
    labels = _plain_labels(config)
    if (wrap or projector.active()) and "on_select" not in dataframe_kwargs and labels is not None:
        key = f"static-{dataframe_kwargs.get('key') or table_files.file_stem(name)}"
        position = {c: n for n, c in enumerate(_shown_columns(frame, labels), start=1)}
        counts = [c for c in _counts(config) if c in position]
        shown_frame = _as_shown(frame, labels, counts)
        st.html(_WRAPPED + _styled(key, [position[c] for c in one_line if c in position], ":is(td, th)",
                                   "white-space: nowrap")
                + _styled(key, [position[c] for c in counts], "td", "text-align: right !important"))  # over its own
        with st.container(key=key):
            shown = st.table(shown_frame)
        downloads(frame, name, caption, key=dataframe_kwargs.get("key"))
        return shown
    shown = st.dataframe(frame, **dataframe_kwargs)
    downloads(frame, name, caption, key=dataframe_kwargs.get("key"))
    return shown


_STATIC_TYPES = {"text", "number"}
_WRAPPED = """<style>
[data-testid="stTable"] td, [data-testid="stTable"] th { white-space: normal; overflow-wrap: anywhere; }
</style>"""  # with each table's own styles: one element, not one per style


def _styled(key: str, columns: list[int], cells: str, style: str) -> str:
    """The style that gives the static table's `columns` (1-based) `style`: their `cells` and what
    they hold (a cell's Markdown sets its own white-space and alignment); "" for no columns."""
    if not columns:
        return ""
    chosen = ", ".join(f".st-key-{key} [data-testid='stTable'] {cells}:nth-child({n}){inside}"
                       for n in columns for inside in ("", " *"))
    return f"<style>{chosen} {{ {style}; }}</style>"


def _plain_labels(column_config: dict[str, Any]) -> dict[str, str | None] | None:
    """Each configured column's label (None: hidden) when a static table can show them all; None
    when one needs the interactive table (a progress bar, a link, a date format)."""
    labels: dict[str, str | None] = {}
    for column, setting in column_config.items():
        if setting is None or isinstance(setting, str):
            labels[column] = setting
        elif isinstance(setting, dict) and setting.get("type_config", {}).get("type") in _STATIC_TYPES:
            number_format = setting["type_config"].get("format")
            if number_format not in (None, "localized"):
                return None
            labels[column] = setting.get("label") or column
        else:
            return None
    return labels


def _counts(column_config: dict[str, Any]) -> list[str]:
    """The columns configured as counts (`format="localized"`): whole numbers the interactive table
    writes with thousands separators."""
    return [column for column, setting in column_config.items()
            if isinstance(setting, dict) and setting.get("type_config", {}).get("format") == "localized"]


def _shown_columns(frame: pl.DataFrame, labels: dict[str, str | None]) -> list[str]:
    """The frame's columns the static table shows, in order (a None label hides one)."""
    return [c for c in frame.columns if labels.get(c, c) is not None]


def _as_shown(frame: pl.DataFrame, labels: dict[str, str | None], counts: list[str]) -> pl.DataFrame:
    """The frame with hidden columns left out and the others under their labels, text and labels
    escaped: a static table renders Markdown in its cells (a note's "[link](…)" became a link and
    "![…](…)" an image), and its cells hold customer text and reviewers' names. The `counts` are
    written with thousands separators ("2,233")."""
    kept = _shown_columns(frame, labels)
    escaped = frame.select(kept).with_columns(pl.col(pl.String).map_elements(escape_markdown, return_dtype=pl.String))
    escaped = escaped.with_columns(pl.col(c).map_elements("{:,}".format, return_dtype=pl.String) for c in counts)
    return escaped.rename({c: escape_markdown(str(labels.get(c, c))) for c in kept})
