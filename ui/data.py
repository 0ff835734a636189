"""Cached reads for the pages. Results are kept for a minute, so a rerun (a click, a filter
change back and forth) does not reopen the warehouse, and new ingests show up soon after."""

from __future__ import annotations

import polars as pl
import streamlit as st

from warehouse import ingest_runs as ingest_log
from warehouse import judgements, queries
from warehouse.filters import Filters

TTL_S = 60


@st.cache_data(ttl=TTL_S, show_spinner=False)
def filter_options() -> queries.FilterOptions:
    return queries.filter_options()


@st.cache_data(ttl=TTL_S, show_spinner="Computing the metrics…")
def overview(filters: Filters) -> queries.Overview:
    return queries.overview(filters)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def judge_versions() -> pl.DataFrame:
    return judgements.judge_runs_summary()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def judge_runs() -> pl.DataFrame:
    return judgements.judge_run_history()


@st.cache_data(ttl=5, show_spinner=False)
def ingest_runs() -> pl.DataFrame:
    return ingest_log.recent_runs(limit=50)


@st.cache_data(ttl=5, show_spinner=False)
def quarantined(run_id: str | None) -> pl.DataFrame:
    return ingest_log.quarantined(run_id, limit=500)
