"""Callboard: the frame around every page (navigation, shared filters), run by `make run`.

The one place the app handles errors a user can act on (warehouse/errors.py): every page's
`CallboardError` ends that page with its title in a red box; any other exception is a bug and
Streamlit shows its traceback."""

from __future__ import annotations

import streamlit as st

from present.markdown import escape_markdown
from ui import projector
from warehouse.errors import CallboardError

projector.set_up()  # the page's config, before anything is drawn

OVERVIEW = "app_pages/overview.py"
PAGES = {
    "Metrics": [  # served at the root; a default page's own url_path is not served, hence the hidden twin
        st.Page(OVERVIEW, title="Overview", icon=":material/dashboard:", default=True, url_path="home"),
        st.Page(OVERVIEW, title="Overview", icon=":material/dashboard:", url_path="overview", visibility="hidden"),
    ],
    "Weekly review": [
        st.Page("app_pages/review.py", title="Review calls", icon=":material/headphones:", url_path="review"),
        st.Page("app_pages/review_summary.py", title="Review summary", icon=":material/summarize:",
                url_path="review-summary"),
        st.Page("app_pages/calls.py", title="Calls", icon=":material/search:", url_path="calls"),
    ],
    "Quality": [
        st.Page("app_pages/failure_modes.py", title="Failure modes", icon=":material/troubleshoot:",
                url_path="failure-modes"),
        st.Page("app_pages/calibration.py", title="Judge calibration", icon=":material/rule:", url_path="calibration"),
        st.Page("app_pages/taxonomy.py", title="Failure-mode list", icon=":material/label:",
                url_path="failure-mode-list"),
        st.Page("app_pages/judges.py", title="Judges", icon=":material/gavel:", url_path="judges"),
    ],
    "Engineering": [
        st.Page("app_pages/drift.py", title="Cost & latency drift", icon=":material/monitoring:", url_path="drift"),
        st.Page("app_pages/prompts.py", title="Prompt versions", icon=":material/history_edu:", url_path="prompts"),
        st.Page("app_pages/ab.py", title="Compare versions", icon=":material/compare_arrows:", url_path="compare"),
    ],
    "Data": [
        st.Page("app_pages/ingest.py", title="Ingest", icon=":material/input:", url_path="ingest"),
        st.Page("app_pages/export.py", title="Export", icon=":material/slideshow:", url_path="export"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.caption("Callboard · weekly call review for voice-agent teams")
try:
    navigation.run()
except CallboardError as error:  # a busy or missing warehouse, a bad setting: what to do, not a traceback
    st.error(escape_markdown(error.title), icon=":material/error:")  # titles quote names and paths
