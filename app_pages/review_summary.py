"""Review summary: a session's figures, failure modes, judge agreement, follow-ups and decisions,
with Markdown and CSV exports."""

from __future__ import annotations

import streamlit as st

from ui import data, url_params
from ui.presenter import presenter_style
from ui.summary_view import show_summary

sessions = data.list_sessions()
if sessions.is_empty():
    st.title("Review summary")
    st.info("No review session yet. Start one on the Weekly review page.")
    st.stop()

ids = sessions["session_id"].to_list()
names = dict(zip(ids, sessions["name"].to_list(), strict=True))
wanted = url_params.one_of("session", ids, "review session")
chosen = st.selectbox("Session", ids, index=ids.index(wanted) if wanted else 0, format_func=names.__getitem__)
st.query_params["session"] = chosen
summary = data.session_summary(chosen)
if summary is None:
    st.error("That session is gone.")
    st.stop()
presenter_style()
with st.container(key="presenter"):
    show_summary(summary)
