"""Starting a review session and picking up an earlier one. The chosen session and call position
live in the URL (`?session=…&call=…`), so a reload or a shared link lands on the same call."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from present.markdown import escape_markdown
from ui import data
from warehouse import reviews, sampling
from warehouse.errors import CallboardError

SHOWN_SESSIONS = 20
MAX_SEED = 999_999_999


def open_session(session_id: str, position: int = 1) -> None:
    st.query_params["session"] = session_id
    st.query_params["call"] = str(position)


def _create(created_by: str | None) -> None:
    s = st.session_state
    period = s["ns_period"]
    start, end = period if isinstance(period, tuple) and len(period) == 2 else (period[0], period[0])
    try:
        spec = reviews.SessionSpec(
            name=s["ns_name"], start=start, end=end, seed=int(s["ns_seed"]), sample_size=int(s["ns_size"]),
            strategy=s["ns_strategy"], agents=tuple(s["ns_agents"]), prompt_versions=tuple(s["ns_prompts"]),
            models=tuple(s["ns_models"]), outcomes=tuple(s["ns_outcomes"]), created_by=created_by,
        )  # fmt: skip
        open_session(reviews.create_session(spec))
    except CallboardError as refused:  # a refused spec, or a busy warehouse: said beside the form
        s["ns_error"] = refused.title


def new_session_form(created_by: str | None) -> None:
    """The form that draws a new sample. The seed is pre-filled with a fresh one and can be typed
    over to redraw an earlier week's sample exactly."""
    options = data.filter_options()
    if options.first_day is None or options.last_day is None:
        st.info("The warehouse has no calls yet, so there is nothing to review.")
        return
    first, last = options.first_day, options.last_day
    st.session_state.setdefault("ns_seed", reviews.new_seed())
    with st.form("new_session"):
        st.subheader("Start a review")
        name, period = st.columns([1, 1])
        name.text_input("Name", value=f"Week {last.isocalendar().week}, {last.year}", key="ns_name")
        period.date_input("Calls from", value=(max(first, last - timedelta(days=6)), last),
                          min_value=first, max_value=last, key="ns_period", help="UTC days, both included.")
        size, seed, strategy = st.columns([1, 1, 2])
        size.number_input("Calls to review", 1, reviews.MAX_SAMPLE_SIZE, reviews.DEFAULT_SAMPLE_SIZE, key="ns_size")
        seed.number_input("Seed", 0, MAX_SEED, key="ns_seed",
                          help="The same seed and filters always draw the same calls.")
        strategy.radio("How to draw", list(sampling.STRATEGIES), format_func=sampling.STRATEGIES.__getitem__,
                       key="ns_strategy", help="Oversampling shows more calls the judge flagged; each call's weight "
                       "is recorded so the pass rate can still be re-weighted to all calls.")  # fmt: skip
        agents, prompts, models, outcomes = st.columns(4)
        agents.multiselect("Agent", options.agents, key="ns_agents", placeholder="All")
        prompts.multiselect("Prompt version", options.prompt_versions, key="ns_prompts", placeholder="All")
        models.multiselect("Model", options.models, key="ns_models", placeholder="All")
        outcomes.multiselect("Outcome", list(reviews.OUTCOMES), format_func=reviews.OUTCOMES.__getitem__,
                             key="ns_outcomes", placeholder="Any")
        st.form_submit_button("Draw the calls", type="primary", on_click=_create, args=(created_by,))
    if error := st.session_state.pop("ns_error", None):
        st.error(escape_markdown(error))


def session_list() -> None:
    """Earlier sessions, newest first, each with a button to open it."""
    sessions = data.list_sessions()
    if sessions.is_empty():
        return
    st.subheader("Earlier sessions")
    for row in sessions.head(SHOWN_SESSIONS).iter_rows(named=True):
        name, period, progress, action = st.columns([3, 3, 2, 1], vertical_alignment="center")
        closed = " · closed" if row["status"] != "open" else ""
        how = f"{sampling.STRATEGIES[row['strategy']]}, seed {row['seed']}"
        name.markdown(f"**{escape_markdown(row['name'])}**{closed}  \n{how}")
        period.markdown(f"{_day(row['period_start'])} – {_day(row['period_end'])}")
        progress.markdown(f"{row['scored']} / {row['sample_size']} scored")
        action.button("Open", key=f"open_{row['session_id']}", on_click=open_session, args=(row["session_id"],))


def _day(day: date) -> str:
    return f"{day:%d %b %Y}"
