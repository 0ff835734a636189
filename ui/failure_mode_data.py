"""Cached reads for the failure-mode pages (a minute, like ui/data.py), and the taxonomy edits,
which forget the cached taxonomy so a rename shows at once on every page."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.data import TTL_S
from warehouse import explorer, judge_calibration, reviews, taxonomy
from warehouse.filters import Filters


@st.cache_data(ttl=TTL_S, show_spinner="Counting failure modes…")
def exploration(filters: Filters, source: str, modes: tuple[str, ...]) -> explorer.Exploration:
    return explorer.explore(filters, source, modes)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def judge_versions() -> pl.DataFrame:
    return judge_calibration.judge_versions()


@st.cache_data(ttl=TTL_S, show_spinner="Measuring the judge…")
def calibration(filters: Filters, judge_version: str) -> pl.DataFrame:
    return judge_calibration.calibration_table(filters, judge_version)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def current_taxonomy() -> taxonomy.Taxonomy:
    return taxonomy.load_taxonomy()


def forget_taxonomy() -> None:
    """After an edit: every cached view that resolved labels with the old taxonomy."""
    for cached in (current_taxonomy, exploration, calibration):
        cached.clear()


def add_failure_mode(name: str, description: str, owner: str) -> str:
    """Add a mode during a review and forget the cached taxonomy, so every page offers it at once."""
    added = reviews.add_failure_mode(name, description, owner)
    forget_taxonomy()
    return added
