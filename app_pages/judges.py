"""Judges: which judges exist, their versions, and what each version's runs judged and cost."""

from __future__ import annotations

import polars as pl
import streamlit as st

from judges.providers import LLM_EXTRA, llm_sdks_installed
from judges.spec import all_judges
from ui import data
from ui.filters import sidebar_filters
from ui.judge_run import show_period_run
from ui.tables import show_table

st.title("Judges")
st.caption(
    "A judge pre-scores calls before the weekly review, so the team starts from a suggestion and agrees "
    "or disagrees. Each judge is a file in `judges/`; any edit to it makes a new version, judged and "
    "measured separately. The rules judge works offline; the others call Anthropic or OpenAI."
)
if not llm_sdks_installed():
    st.info(f"The Anthropic and OpenAI judges need their SDKs, which `make run` leaves out: `{LLM_EXTRA}` "
            "installs them.")

st.subheader("Judges you can run")
show_table(
    pl.DataFrame([{"Judge": j.name, "Version": j.version, "Runs on": j.provider, "Model": j.model or "—",
                   "What it checks": j.description} for j in all_judges()]),
    "judges", "every judge in judges/", hide_index=True, width="stretch",
)
filters = sidebar_filters()
if filters is None:
    st.code("python -m judges run --judge rules --start FIRST-DAY --end LAST-DAY", language="bash")
else:
    show_period_run(filters)
    st.caption("The same from a terminal (add `--dry-run` to see what an LLM judge would cost first):")
    st.code(f"python -m judges run --judge rules --start {filters.start} --end {filters.end}", language="bash")

summary = data.judge_runs_summary()
st.subheader("Versions that have judged calls")
if summary.is_empty():
    st.info("No judge has run yet. Run one with the button or the command above.")
    st.stop()
show_table(
    summary, "judge versions", "every judge version that has judged calls",
    hide_index=True,
    width="stretch",
    column_config={
        "judge_name": "Judge", "judge_version": "Version", "provider": "Runs on", "model": "Model",
        "runs": "Runs", "calls_judged": st.column_config.NumberColumn("Calls judged", format="localized"),
        "failures": st.column_config.NumberColumn("Failed attempts", help="Replies that did not match the "
                                                  "schema, or provider errors after retries."),
        "hallucinations": "Hallucinations flagged",
        "input_tokens": st.column_config.NumberColumn("Input tokens", format="localized"),
        "output_tokens": st.column_config.NumberColumn("Output tokens", format="localized"),
        "cost_usd": st.column_config.NumberColumn("Cost", format="$%.2f"),
        "last_run": st.column_config.DatetimeColumn("Last run (UTC)", format="D MMM YYYY, HH:mm"),
    },
)

st.subheader("Run history")
show_table(
    data.judge_run_history(), "judge runs", "every judge run",
    hide_index=True,
    width="stretch",
    column_config={
        "run_id": "Run", "judge_name": "Judge", "judge_version": "Version", "provider": "Runs on",
        "model": "Model", "calls_judged": "Calls judged", "failures": "Failed attempts",
        "hallucinations": "Hallucinations flagged", "input_tokens": "Input tokens",
        "output_tokens": "Output tokens", "cost_usd": st.column_config.NumberColumn("Cost", format="$%.2f"),
        "first_run": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY, HH:mm"),
        "last_run": st.column_config.DatetimeColumn("Last write (UTC)", format="D MMM YYYY, HH:mm"),
    },
)
