"""The Judges page's "judge this period" button and the progress of the run it starts.

The run is a process of its own (judges/background.py), so this page returns at once and every
other page keeps working; the progress is read from the run's status file once a second, by a
fragment that reruns alone, and only while a run is going."""

from __future__ import annotations

from datetime import date

import streamlit as st

from judges.background import BackgroundRun, latest_run, start_period_run
from present.markdown import escape_markdown
from ui import data
from warehouse.db import warehouse_path
from warehouse.errors import CallboardError
from warehouse.filters import Filters

JUDGE = "rules"  # the judge that needs no key and costs nothing
POLL_S = 1.0
_ERROR = "judge_run_error"
_SEEN_GOING = "judge_run_seen_going"  # the start time of a run this session saw going


def _period(start: date | str, end: date | str) -> str:
    first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    return f"{first:%d %b} – {last:%d %b %Y}"


def _start(filters: Filters) -> None:
    """The button's callback (it runs before the page, so it says its own errors)."""
    try:
        start_period_run(JUDGE, filters.start, filters.end, warehouse_path())
    except CallboardError as error:
        st.session_state[_ERROR] = error.title


def show_period_run(filters: Filters) -> None:
    """The button for the sidebar's period, and the latest run's progress or result."""
    run = latest_run(warehouse_path())
    going = run is not None and run.going
    st.button(f"Judge the calls of {_period(filters.start, filters.end)} with the {JUDGE} judge", type="primary",
              disabled=going, on_click=_start, args=(filters,), key="judge_period",
              help="Every call of the sidebar's period (all agents, prompts and models) that this judge version "
                   "has not judged yet. It runs on its own: you can leave this page and come back.")
    if error := st.session_state.pop(_ERROR, None):
        st.error(escape_markdown(error))
    st.fragment(run_every=POLL_S if going else None)(_show_progress)()


def _show_progress() -> None:
    run = latest_run(warehouse_path())
    if run is None:
        return
    if run.going:
        st.session_state[_SEEN_GOING] = run.started_at
        st.progress(run.share_done, text=_progress_words(run))
    elif st.session_state.get(_SEEN_GOING) == run.started_at:
        del st.session_state[_SEEN_GOING]  # it ended while shown: the tables above are out of date
        data.forget_judgements()
        st.rerun()
    elif run.state == "finished":
        st.success(f"The {run.judge} judge judged {run.judged:,} calls of {_period(run.start, run.end)} "
                   f"({run.failed:,} failed, {run.skipped:,} judged before) in {run.seconds or 0:.0f} s.")
    elif run.state == "failed":
        st.error(escape_markdown(f"The {run.judge} judge run of {_period(run.start, run.end)} stopped: {run.message}"))
    else:
        st.warning(f"The {run.judge} judge run of {_period(run.start, run.end)} stopped before it finished (its "
                   "process ended). Start it again: the calls it judged are kept and skipped.")


def _progress_words(run: BackgroundRun) -> str:
    if run.state == "starting":
        return f"Reading the calls of {_period(run.start, run.end)}…"
    return (f"Judging {run.to_judge:,} calls of {_period(run.start, run.end)}: {run.judged + run.failed:,} done"
            + (f", {run.failed:,} failed" if run.failed else "")
            + (f" ({run.skipped:,} judged before are skipped)" if run.skipped else ""))
