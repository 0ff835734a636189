"""Cached reads for the review pages. A call's detail and the taxonomy change rarely, so they are
kept for a minute (moving between calls during a meeting does not reopen the warehouse each
time); sessions and reviews are read fresh, because a save must show at once."""

from __future__ import annotations

import polars as pl
import streamlit as st

from warehouse import calls, reviews

TTL_S = 60


@st.cache_data(ttl=TTL_S, show_spinner=False)
def call_detail(call_id: str) -> calls.CallDetail | None:
    return calls.call_detail(call_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def failure_modes() -> pl.DataFrame:
    return reviews.failure_modes()


def add_failure_mode(name: str, description: str, owner: str) -> str:
    """Add a mode and forget the cached taxonomy, so the new tag is offered at once."""
    added = reviews.add_failure_mode(name, description, owner)
    failure_modes.clear()
    return added
