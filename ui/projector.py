"""Projector mode: the whole app set for a meeting room's shared screen (a 1280×720 projector read
from the back of the room). The sidebar starts collapsed, type is larger, tables wrap instead of
scrolling sideways and every chart's text is at least `present.charts.ROOM_PX`.

It is a toggle in the sidebar and a URL parameter (`?projector=on`), so a link opens the room's view;
once on it stays on from page to page for this browser tab."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from present.charts import AnyChart, Figure, figure, for_room
from ui import url_params

PARAMETER, STATE = "projector", "projector_mode"
FAVICON = Path(__file__).parent / "assets" / "favicon.png"  # in the repo: a Material icon is fetched from Google
VALUES = ("on", "off")

# The presenter view (ui/presenter.py) has its own large type and tight spacing, so the page's base
# stays at 16 px there: the scoring form and Save fit beside the call at 720 px.
_STYLE = """<style>
html { font-size: 18px; }
html:has(.st-key-review_nav) { font-size: 16px; }
header[data-testid="stHeader"] { height: 2.6rem; min-height: 2.6rem; }
html [data-testid="stMainBlockContainer"] { padding: 2.8rem 1.5rem 2rem 1.5rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
[data-testid="stTable"] td, [data-testid="stTable"] th { white-space: normal; overflow-wrap: anywhere; }
button p { white-space: normal; }
html .st-key-review_nav h1 { font-size: 1.8rem; }
</style>"""


def is_on() -> bool:
    """Whether this tab is in projector mode: the URL says so (validated; an unknown value is said
    and left out), else the toggle's last state."""
    wanted = url_params.one_of(PARAMETER, VALUES, "projector mode")
    if wanted is not None:
        st.session_state[STATE] = wanted == "on"
    return bool(st.session_state.get(STATE, False))


def _keep_in_url() -> None:
    st.query_params[PARAMETER] = "on" if st.session_state[STATE] else "off"


def set_up() -> bool:
    """Read the mode, lay the page out for it (before anything is drawn) and put its toggle in the
    sidebar; returns whether it is on."""
    on = is_on()
    st.set_page_config(page_title="Callboard", page_icon=str(FAVICON), layout="wide",
                       initial_sidebar_state="collapsed" if on else "auto")
    if on:
        st.html(_STYLE)
        st.query_params[PARAMETER] = "on"  # the tab's address keeps the mode when it is shared
    st.sidebar.toggle("Projector mode", key=STATE, on_change=_keep_in_url,
                      help="For a shared screen: sidebar closed, larger type, charts readable from the back.")
    return on


def active() -> bool:
    """Whether this run is in projector mode (after `set_up`)."""
    return bool(st.session_state.get(STATE, False))


def chart(built: AnyChart) -> Figure:
    """The chart as the mode wants it: room-sized text in projector mode, as built otherwise."""
    return for_room(built) if active() else figure(built)
