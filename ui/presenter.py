"""The presenter view's look and its call-to-call navigation, for a review on a shared screen:
large type, high contrast, nothing that does not help the room decide.

Next and previous are buttons with keyboard shortcuts (→ and ←, Streamlit's own `shortcut`), so
the presenter can walk through the calls without the mouse; the position is in the URL."""

from __future__ import annotations

import streamlit as st

from present.markdown import escape_markdown
from ui import data, url_params
from warehouse.reviews import ReviewSession

_STYLE = """<style>
.st-key-presenter [data-testid="stMarkdownContainer"] p { font-size: 1.3rem; line-height: 1.45; color: #111; }
.st-key-transcript [data-testid="stMarkdownContainer"] p { font-size: 1.55rem; line-height: 1.5; }
.st-key-transcript code, .st-key-presenter code { font-size: 1.1rem; }
.st-key-presenter [data-testid="stMetricValue"] p { font-size: 2.2rem; font-weight: 600; color: #111; }
.st-key-presenter input, .st-key-presenter textarea { font-size: 1.15rem; }
header[data-testid="stHeader"] { height: 2.4rem; min-height: 2.4rem; }
[data-testid="stMainBlockContainer"] { padding: 2.5rem 1.5rem 2rem 1.5rem; max-width: 100%; }
.st-key-presenter [data-testid="stVerticalBlock"] { gap: 0.5rem; }
.st-key-scoring textarea { height: 4rem !important; min-height: 4rem !important; }
.st-key-presenter button [data-testid="stMarkdownContainer"], .st-key-presenter button p { white-space: normal; }
.st-key-presenter [data-testid="stMetricLabel"] p { font-size: 1.05rem; color: #333; }
.st-key-presenter label p, .st-key-presenter button p { font-size: 1.2rem; }
.st-key-review_nav h1 { font-size: 2.4rem; padding: 0; }
</style>"""
PROGRESS = "review_progress"  # the header's progress, a fragment a Save reruns by name


def presenter_style() -> None:
    """Large type for the review's own elements only; other pages keep the normal size. The page
    also takes the whole width, its header shrinks below the title and its spacing tightens, so at
    1280×720, projector mode or not, sidebar open or not, nothing is cut ("Save and n…", a title
    under the header) and the form down to Save is on screen; a label wraps rather than be cut."""
    st.html(_STYLE)


def position(session: ReviewSession) -> int:
    """The call shown, 1-based, from the URL; an out-of-range or garbled value lands on a real
    call, is said once and corrected in the URL."""
    text, total = st.query_params.get("call", "1"), len(session.call_ids)
    try:
        wanted = int(text)
    except ValueError:
        wanted = 1
    at = min(max(wanted, 1), total)
    if text != str(at):
        url_params.say(f"The link asks for call {url_params.quoted(text)} of this session, which has calls 1 to "
                       f"{total}: showing call {at}.")
        _go(at)
    return at


def _go(to: int) -> None:
    st.query_params["call"] = str(to)


def _jump(total: int) -> None:
    _go(min(max(int(st.session_state["rv_jump"]), 1), total))


@st.fragment(key=PROGRESS)
def _progress(session: ReviewSession, at: int) -> None:
    """"Call 17 of 50 ✓ · 12 / 50 scored": a fragment, so that a Save reruns it with the form
    (ui/review_form.py) and the count is never behind what was saved."""
    total, scored = len(session.call_ids), data.scored_calls(session.session_id)
    mark = " ✓" if session.call_ids[at - 1] in scored else ""
    st.title(f"Call {at} of {total}{mark}")
    st.markdown(f"**{len(scored)} / {total} scored** · {escape_markdown(session.name)}")


def navigation_bar(session: ReviewSession, at: int) -> None:
    """"Call 17 of 50 · 12 / 50 scored", previous / next (← →) and jump to N."""
    total = len(session.call_ids)
    with st.container(key="review_nav"):
        title, back, ahead, jump = st.columns([4, 1.6, 1.6, 1.2], vertical_alignment="bottom")
        with title:
            _progress(session, at)
        back.button("← Previous", key="rv_prev", shortcut="Left", disabled=at <= 1, on_click=_go, args=(at - 1,),
                    width="stretch")
        ahead.button("Next →", key="rv_next", shortcut="Right", disabled=at >= total, on_click=_go, args=(at + 1,),
                     width="stretch")
        st.session_state["rv_jump"] = at
        jump.number_input("Jump to", 1, total, key="rv_jump", on_change=_jump, args=(total,))


def advance(session: ReviewSession) -> None:
    """Move to the next call (after "Save and next"), staying on the last one at the end."""
    _go(min(position(session) + 1, len(session.call_ids)))
