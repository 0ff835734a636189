"""Cached reads for the review pages. A call's detail changes rarely, so it is kept for a minute
(moving between calls during a meeting does not reopen the warehouse each time); sessions and
reviews are read fresh, because a save must show at once."""

from __future__ import annotations

import streamlit as st

from ui.data import TTL_S
from warehouse import calls


@st.cache_data(ttl=TTL_S, show_spinner=False)
def call_detail(call_id: str) -> calls.CallDetail | None:
    return calls.call_detail(call_id)

