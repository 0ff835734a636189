"""Judge calibration: on calls both a person and a judge version labelled, how often the judge is
right per failure mode, and each mode's share of all calls once the judge's errors are taken out."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui import data, url_params
from ui.filters import require_filters
from ui.tables import show_table
from warehouse.calibration_math import MIN_LABELLED_CALLS, MIN_POSITIVES

st.title("Judge calibration")
st.caption(
    "How far to trust a judge: its labels are compared with people's on calls both labelled in weekly reviews. "
    "Each judge version is measured on its own. Each call counts by its sampling weight, so sessions that "
    "oversampled judge-flagged calls do not make the judge look better at finding modes than it is."
)
filters = require_filters()
versions = data.versions_to_calibrate()
if versions.is_empty():
    st.info("No judge has labelled calls yet. Run one, e.g. `python -m judges run --judge rules --start … --end …`.")
    st.stop()

names = {row["judge_version"]: f"{row['judge_name']} · {row['judge_version']} ({row['calls_reviewed']:,} reviewed "
         f"of {row['calls_judged']:,} judged)" for row in versions.iter_rows(named=True)}  # fmt: skip
wanted = url_params.one_of("judge", names, "judge version")
version = st.selectbox("Judge version", list(names), index=list(names).index(wanted) if wanted else 0,
                       format_func=names.__getitem__, key="cal_version")
st.query_params["judge"] = version
table = data.calibration_table(filters, version)
if table.is_empty():
    st.info("This judge version has not labelled any call with a failure mode yet.")
    st.stop()
labelled = int(table.select(pl.max("labelled_calls")).item())
if labelled < MIN_LABELLED_CALLS:
    st.warning(f"Only {labelled} calls have both a person's and this judge's labels. Below {MIN_LABELLED_CALLS} "
               "the figures below are too rough to act on: review more calls.")

caption = f"{names[version]} · {filters.describe()}"
show_table(
    table.select("label", "labelled_calls", "human_yes", "tpr", "tnr", "kappa", "observed_rate", "corrected_rate",
                 "corrected_low", "corrected_high", "warning"),
    "judge calibration", caption, hide_index=True, width="stretch", key="cal_table",
    column_config={
        "label": "Failure mode",
        "labelled_calls": st.column_config.NumberColumn("Calls compared", help="Calls a person and this judge "
                                                        "both labelled: the sample size."),
        "human_yes": st.column_config.NumberColumn("Tagged by people", format="%.1f", help="Calls weighted by "
                                                   "how likely their session was to draw them."),
        "tpr": st.column_config.NumberColumn("Found (TPR)", format="percent", help="Of the calls people tagged "
                                             "with the mode, the share the judge flagged too."),
        "tnr": st.column_config.NumberColumn("Left alone (TNR)", format="percent", help="Of the calls people did "
                                             "not tag, the share the judge did not flag either."),
        "kappa": st.column_config.NumberColumn("Kappa", format="%.2f", help="Agreement beyond chance: 0 is what "
                                               "guessing at these rates gives, 1 is perfect."),
        "observed_rate": st.column_config.NumberColumn("Judge flags", format="percent", help="Share of the calls "
                                                       "in the period the judge flagged."),
        "corrected_rate": st.column_config.NumberColumn("Corrected share", format="percent", help="The share of "
                                                        "calls that really have the mode, once the judge's misses "
                                                        "and false alarms are taken out (Rogan–Gladen)."),
        "corrected_low": st.column_config.NumberColumn("95% range from", format="percent"),
        "corrected_high": st.column_config.NumberColumn("to", format="percent"),
        "warning": st.column_config.TextColumn("Caution", help=f"Fewer than {MIN_LABELLED_CALLS} calls compared, "
                                               f"fewer than {MIN_POSITIVES} tagged by people, or a judge so near "
                                               "chance that its corrected share would be noise."),
    },
)  # fmt: skip

st.subheader("Where the judge and people disagree")
label = st.selectbox("Failure mode", table["label"].to_list(), key="cal_label")
row = table.filter(pl.col("label") == label).row(0, named=True)
show_table(pl.DataFrame({
    "": ["People: has it", "People: does not"],
    "Judge: has it": [round(row["tp"], 1), round(row["fp"], 1)],
    "Judge: does not": [round(row["fn"], 1), round(row["tn"], 1)],
}), f"{label} judge vs people", f"{label} · {caption}", hide_index=True)  # fmt: skip
st.caption(f"{row['tp']:.1f} found, {row['fn']:.1f} missed, {row['fp']:.1f} false alarms, {row['tn']:.1f} rightly "
           "left alone: calls counted by their sampling weight.")
if row["warning"]:
    st.warning(row["warning"])
