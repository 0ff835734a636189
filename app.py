"""Callboard: the frame around every page (navigation, shared filters), run by `make run`."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Callboard", page_icon="📞", layout="wide")

PAGES = {
    "Metrics": [
        st.Page("pages/overview.py", title="Overview", icon="📊", default=True, url_path="overview"),
    ],
    "Quality": [
        st.Page("pages/judges.py", title="Judges", icon="⚖️", url_path="judges"),
        st.Page("pages/failure_modes.py", title="Failure modes", icon="🧭", url_path="failure-modes"),
        st.Page("pages/calibration.py", title="Judge calibration", icon="🎯", url_path="calibration"),
        st.Page("pages/taxonomy.py", title="Failure-mode list", icon="🏷️", url_path="failure-mode-list"),
    ],
    "Review": [
        st.Page("pages/review.py", title="Weekly review", icon="🎧", url_path="review"),
        st.Page("pages/review_summary.py", title="Review summary", icon="📝", url_path="review-summary"),
    ],
    "Engineering": [
        st.Page("pages/drift.py", title="Cost & latency drift", icon="📈", url_path="drift"),
        st.Page("pages/prompts.py", title="Prompt versions", icon="🗒️", url_path="prompts"),
        st.Page("pages/ab.py", title="Compare versions", icon="⚖️", url_path="compare"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.caption("Callboard · weekly call review for voice-agent teams")
navigation.run()
