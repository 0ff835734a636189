"""Failure modes: which modes the calls show, what they cost in conversions, how they move, and
the calls behind them, opened in the review's call view."""

from __future__ import annotations

import streamlit as st

from judges.dataset import dataset_jsonl
from present.failure_modes import LOST_CONVERSIONS, costliest_answer, judge_trust, mode_trend, pareto
from present.markdown import escape_markdown
from ui import charts, data, url_params
from ui.call_grid import COLUMNS, DEFAULT_COLUMNS, call_grid
from ui.call_opener import open_call
from ui.filters import require_filters
from ui.tables import downloads, show_table
from warehouse.explorer import SOURCES

st.title("Failure modes")
filters = require_filters()

taxonomy = data.current_taxonomy()
wanted = url_params.known(dict.fromkeys(taxonomy.resolve(m) for m in st.query_params.get_all("mode")),
                          taxonomy.names, "failure mode")
modes = tuple(st.sidebar.multiselect(
    "Failure modes", taxonomy.names, default=wanted,
    placeholder="All", key="fm_modes", help="Show only calls with any of these modes.",
))  # fmt: skip
source_param = url_params.one_of("source", SOURCES, "labels from") or "judge"
source = st.sidebar.radio(
    "Labels from", list(SOURCES), index=list(SOURCES).index(source_param),
    format_func=SOURCES.__getitem__, key="fm_source",
    help="Judge: every judged call. People: only calls reviewed in a weekly review drawn uniformly at random "
         "(oversampled or stratified reviews hold more of some calls than the period does, so they would inflate "
         "some modes). Both agree: modes the judge and such a person both gave.",
)  # fmt: skip
st.query_params["source"] = source
if modes:
    st.query_params["mode"] = list(modes)
elif "mode" in st.query_params:
    del st.query_params["mode"]

st.sidebar.download_button(
    "Test cases for judges (JSONL)", data=lambda: dataset_jsonl(filters.start, filters.end),
    file_name=f"test-cases-{filters.start}-to-{filters.end}.jsonl", mime="application/x-ndjson", key="fm_dataset",
    help="Calls in this period marked “make this a test case” in a review, and calls customers complained about: "
         "transcript, tool calls and expected labels, to score a judge with `python -m judges eval`. Phone "
         "numbers, e-mails and card numbers are masked.",
)  # fmt: skip

versions = data.versions_to_calibrate()
version = versions.row(0, named=True) if versions.height and source != "human" else None
if version is not None:  # how far the judge can be trusted, read while the explorer reads
    data.read_calibration_ahead(filters, version["judge_version"])
e = data.exploration(filters, source, modes)
st.caption(
    f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y}: {e.calls_in_scope:,} calls, {e.looked_at:,} of them "
    f"labelled by {SOURCES[source].lower()}."
    + (" People's labels count only from reviews drawn uniformly at random, so their shares stand for the period."
       if source != "judge" else "")
)
if e.looked_at == 0:
    st.info("No call in this period has labels from this source yet. Pick another source or period, or run a "
            "judge (`python -m judges run --judge rules --start … --end …`).")
    st.stop()

caption = f"{filters.describe()} · labels from {SOURCES[source].lower()}"
caption += f" · modes: {', '.join(modes)}" if modes else ""
# The tables are sent first, though drawn below the answer and charts: the browser draws them while the
# page waits for the judge's calibration and builds the charts.
answer, figures, summary, over_time, listed = st.container(border=True), *(st.container() for _ in range(4))
with listed:
    st.subheader(f"Calls with {'these modes' if modes else 'a failure mode'}")
    st.caption(f"{e.calls.height:,} calls, newest first. Sort in the column headers, search from the table's toolbar; "
               "click a row to open the call.")
    columns = st.multiselect("Columns", list(COLUMNS), default=list(DEFAULT_COLUMNS), format_func=COLUMNS.__getitem__,
                             key="fm_columns")
    clicked = call_grid(e.calls, columns, key="fm_grid") if e.calls.height else None
    if e.calls.height:
        downloads(e.calls, "calls with failure modes", caption, key="fm_calls")
with summary:
    show_table(
        e.summary.select("mode", "calls", "share", "conversion_rate", "lost_conversions", "lost_low", "lost_high"),
        "failure modes", caption, hide_index=True, width="stretch", key="fm_summary",
        column_config={
            "mode": "Failure mode", "calls": st.column_config.NumberColumn("Calls", format="localized"),
            "share": st.column_config.NumberColumn("Share of labelled calls", format="percent"),
            "conversion_rate": st.column_config.NumberColumn("Booked", format="percent",
                                                             help="Share of these calls that booked."),
            "lost_conversions": st.column_config.NumberColumn("Lost conversions", format="%.1f"),
            "lost_low": st.column_config.NumberColumn("95% range from", format="%.1f"),
            "lost_high": st.column_config.NumberColumn("to", format="%.1f"),
        },
    )  # fmt: skip
with answer:
    st.markdown(costliest_answer(e, filters, SOURCES[source]))
    top = e.costliest
    if top is not None and version is not None:
        calibration = data.calibration_table(filters, version["judge_version"])
        row = calibration.filter(calibration["label"] == top["mode"])
        text, warning = judge_trust(row.row(0, named=True) if row.height else None,
                                    escape_markdown(f"{version['judge_name']} {version['judge_version']}"))
        st.markdown(text)
        if warning:
            st.warning(warning)
    st.caption(LOST_CONVERSIONS)
with figures:
    left, right = st.columns(2)
    for column, value, title in ((left, "calls", "Calls with the mode"),
                                 (right, "lost_conversions", "Lost conversions (bookings)")):
        with column:
            charts.show(pareto(e.summary, value, title, "count"), title=title, caption=caption, key=f"fm-{value}")
with over_time:
    st.subheader("Over time")
    if e.trend.height:
        charts.show(mode_trend(e.trend, e.grain), title="Failure modes over time", caption=caption, key="fm-trend")
with listed:  # last: it ends the page when no call is open
    open_call(e.calls["call_id"].to_list(), clicked, key="fm_call")
