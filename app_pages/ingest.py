"""Ingest: what was loaded lately, and the records that were refused, with the reason."""

from __future__ import annotations

import streamlit as st

from present.markdown import code_span, escape_markdown
from ui import data
from ui.recording_progress import show_recording_progress
from ui.tables import show_table
from warehouse.prices import price_command

st.title("Ingest")
st.caption(
    "Traces, call logs, CRM and survey exports and prompt files come in through `python -m ingest`, or live "
    "from any OpenTelemetry SDK through `python -m ingest serve`. A record that cannot be read is kept here "
    "with the reason, and everything else still loads."
)
st.code(
    "python -m ingest traces exports/*.jsonl\n"
    "python -m ingest outcomes crm.csv --mapping crm.toml\n"
    "python -m ingest serve            # OTLP/HTTP on 127.0.0.1:4318",
    language="bash",
)
show_recording_progress()

runs = data.recent_ingest_runs()
st.subheader("Recent runs")
if runs.is_empty():
    st.info("Nothing has been loaded yet.")
    st.stop()
show_table(
    runs, "ingest runs", "the 50 most recent ingest runs",
    hide_index=True,
    width="stretch",
    column_config={
        "run_id": "Run", "kind": "What", "status": "Status",
        "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY, HH:mm:ss"),
        "finished_at": None,
        "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
        "sources": "Files", "unit": st.column_config.TextColumn("Unit", help="What the counts count."),
        "records_read": st.column_config.NumberColumn(
            "Read", help="Read = loaded + updated + unchanged + refused, all in the run's unit."),
        "records_loaded": st.column_config.NumberColumn("Loaded", help="New to the warehouse."),
        "records_updated": st.column_config.NumberColumn("Updated", help="Replaced something different."),
        "records_unchanged": st.column_config.NumberColumn("Unchanged", help="Already stored as they are."),
        "records_quarantined": st.column_config.NumberColumn("Refused", help="Kept in quarantine with the reason."),
        "message": "Note",
    },
)

unpriced = data.unpriced_models()
if not unpriced.is_empty():
    models = ", ".join(escape_markdown(f"{r['provider'] or '(no provider)'} {r['model'] or '(no model)'}")
                       + f" ({r['calls']:,} calls)" for r in unpriced.iter_rows(named=True))
    first = unpriced.row(0, named=True)
    st.warning(f"No list price for {models}: their spans' cost is unknown, so cost per call leaves those calls "
               f"out. Add a price with {code_span(price_command(first['provider'], first['model']))}.")

st.subheader("Refused records")
with_refusals = runs.filter(runs["records_quarantined"] > 0)["run_id"].to_list()
if not with_refusals:
    st.success("No record has been refused in these runs.")
    st.stop()
run = st.selectbox("Run", ["All runs", *with_refusals], help="Runs that refused at least one record.")
refused = data.quarantined(None if run == "All runs" else run)
picked = show_table(
    refused.select("source_file", "location", "reason", "record"), "refused records",
    f"refused records of {run.lower() if run == 'All runs' else 'run ' + run}",
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    column_config={"source_file": "File", "location": "Where", "reason": "Why it was refused",
                   "record": st.column_config.TextColumn("Record as read", width="large")},
)
rows = picked.selection.rows
if rows:
    chosen = refused.row(rows[0], named=True)
    st.markdown(f"**{escape_markdown(chosen['location'])}** of {code_span(chosen['source_file'])}")
    st.code(chosen["record"] or "", language=None, wrap_lines=True)
else:
    st.caption("Pick a row to see the whole record.")
