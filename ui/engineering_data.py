"""Cached reads for the drift, prompt and A/B pages, kept for a minute like `ui.data`."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.data import TTL_S
from warehouse import ab, prompt_history
from warehouse.drift import queries as drift_queries
from warehouse.drift.detection import Thresholds
from warehouse.filters import Filters


@st.cache_data(ttl=TTL_S, show_spinner="Reading the trends…")
def drift_trends(filters: Filters, grain: str, group: str) -> drift_queries.DriftTrends:
    return drift_queries.drift_trends(filters, grain, group)


@st.cache_data(ttl=TTL_S, show_spinner="Testing every series for drift…")
def drift_flags(filters: Filters, group: str, thresholds: Thresholds) -> drift_queries.DriftFlags:
    return drift_queries.drift_flags(filters, group, thresholds)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def change_markers() -> pl.DataFrame:
    return drift_queries.change_markers()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def prompt_versions() -> pl.DataFrame:
    return prompt_history.prompt_versions()


@st.cache_data(ttl=TTL_S, show_spinner="Comparing…")
def compare(a: Filters, b: Filters) -> ab.ABResult:
    return ab.compare(a, b)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def comments(agent: str) -> pl.DataFrame:
    return prompt_history.comments(agent)


def add_comment(agent: str, version: str, author: str, body: str) -> None:
    """Save a comment and forget the cached ones, so it shows at once."""
    prompt_history.add_comment(agent, version, author, body)
    comments.clear()
