"""Every read the pages make, in one place, so every page reads through the same engine
(`CALLBOARD_ENGINE`; see warehouse/engines.py) and a newcomer finds each page's data in one file.

Most reads are cached for a minute, so a rerun (a click, a filter change back and forth) does not
reopen the warehouse, and new ingests show up soon after. The ingest log is cached for seconds, so
a running load shows its progress. Sessions, reviews and a call's review history are read fresh,
because a reviewer's save must show at once. The few writes here forget the cached reads they
change, so an edit shows at once on every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import polars as pl
import streamlit as st
from streamlit.runtime.caching.cache_utils import CachedFunc

from warehouse import (
    ab,
    calibration_queries,
    call_search,
    calls,
    explorer,
    ingest_runs,
    judgements,
    prices,
    prompt_history,
    queries,
    review_summary,
    reviews,
    span_detail,
    taxonomy,
)
from warehouse.drift import queries as drift

P = ParamSpec("P")
R = TypeVar("R")

TTL_S = 60  # a minute: fresh enough for a meeting, and a rerun never waits for the warehouse
INGEST_TTL_S = 5  # the ingest log: follows a running load
INGEST_RUNS_SHOWN = 50
QUARANTINE_ROWS_SHOWN = 500


def cached(read: Callable[P, R], spinner: str | bool = False, ttl: float = TTL_S) -> CachedFunc[P, R]:
    """`read` with its results kept for `ttl` seconds per distinct argument, showing `spinner`
    (a sentence, or nothing) while it runs."""
    return st.cache_data(ttl=ttl, show_spinner=spinner)(read)


# Metrics and filters (Overview, the sidebar)
filter_options = cached(queries.filter_options)
overview = cached(queries.overview, spinner="Computing the metrics…")

# Drift, prompts, A/B
drift_trends = cached(drift.drift_trends, spinner="Reading the trends…")
drift_history = cached(drift.drift_history, spinner="Testing every series for drift…")
wait_stages_by_week = cached(drift.wait_stages_by_week)
change_markers = cached(drift.change_markers)
prompt_versions = cached(prompt_history.prompt_versions)
prompt_comments = cached(prompt_history.comments)
compare = cached(ab.compare, spinner="Comparing…")

# Failure modes, calibration, taxonomy
exploration = cached(explorer.explore, spinner="Counting failure modes…")
versions_to_calibrate = cached(calibration_queries.versions_to_calibrate)
calibration_table = cached(calibration_queries.calibration_table, spinner="Measuring the judge…")
current_taxonomy = cached(taxonomy.load_taxonomy)

# Judges, calls
judge_runs_summary = cached(judgements.judge_runs_summary)
judge_run_history = cached(judgements.judge_run_history)
call_detail = cached(calls.call_detail)
step_detail = cached(span_detail.span_detail)
search_calls = cached(call_search.search_calls, spinner="Searching…")

# Read fresh: a save must show at once
list_sessions = reviews.list_sessions
get_session = reviews.get_session
current_reviews = reviews.current_reviews
call_history = reviews.call_history
session_summary = review_summary.session_summary


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def recent_ingest_runs() -> pl.DataFrame:
    """The newest ingest runs, newest first."""
    return ingest_runs.recent_runs(limit=INGEST_RUNS_SHOWN)


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def quarantined(run_id: str | None) -> pl.DataFrame:
    """Records refused by one run (or by any, for None), with their reasons."""
    return ingest_runs.quarantined(run_id, limit=QUARANTINE_ROWS_SHOWN)


@st.cache_data(ttl=INGEST_TTL_S, show_spinner=False)
def unpriced_models() -> pl.DataFrame:
    """Models whose spans found no list price, with how many calls they left without a cost."""
    return prices.unpriced_models()


def add_prompt_comment(agent: str, version: str, author: str, body: str) -> None:
    """Save a comment and forget the cached ones, so it shows at once."""
    prompt_history.add_comment(agent, version, author, body)
    prompt_comments.clear()


def forget_judgements() -> None:
    """After a judge run: every cached view that counts judgements, so the new ones show at once."""
    for read in (judge_runs_summary, judge_run_history, overview, exploration, calibration_table,
                 versions_to_calibrate, call_detail, search_calls):
        read.clear()


def forget_taxonomy() -> None:
    """After a taxonomy edit: every cached view that resolved labels with the old taxonomy."""
    for read in (current_taxonomy, exploration, calibration_table):
        read.clear()


def add_failure_mode(name: str, description: str, owner: str) -> str:
    """Add a mode during a review and forget the cached taxonomy, so every page offers it at once."""
    added = reviews.add_failure_mode(name, description, owner)
    forget_taxonomy()
    return added
