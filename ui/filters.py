"""The sidebar filters every page shares. They live in the URL (`st.query_params`), so a copied
link reproduces the view."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from ui import data
from warehouse.filters import Filters
from warehouse.queries import FilterOptions

DEFAULT_DAYS = 28
NO_CALLS = (
    "The warehouse has no calls yet. Load some with `python -m ingest traces PATH` or build the demo with `make run`."
)


def _day_param(name: str) -> date | None:
    try:
        return date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return None


def _pick(label: str, param: str, options: list[str], help: str) -> tuple[str, ...]:
    chosen = [value for value in st.query_params.get_all(param) if value in options]
    picked = st.sidebar.multiselect(label, options, default=chosen, placeholder="All", help=help, key=f"f_{param}")
    return tuple(picked)


def _remember(values: dict[str, str | tuple[str, ...]]) -> None:
    """Write the filters into the URL, leaving a page's own parameters alone."""
    for name, value in values.items():
        if value:
            st.query_params[name] = list(value) if isinstance(value, tuple) else value
        elif name in st.query_params:
            del st.query_params[name]


def sidebar_filters() -> Filters | None:
    """Draw the filters in the sidebar and return them; None when the warehouse has no calls."""
    options = data.filter_options()
    if options.last_day is None:
        return None
    last, first = options.last_day, options.first_day
    start = _day_param("start") or max(first, last - timedelta(days=DEFAULT_DAYS - 1))
    end = _day_param("end") or last
    st.sidebar.header("Filters")
    period = st.sidebar.date_input(
        "Period",
        value=(start, end),
        min_value=first - timedelta(days=366),
        max_value=last + timedelta(days=366),
        help="Days in UTC, both ends included. Changes are compared with the period of the same length just before.",
        key="f_period",
    )
    if isinstance(period, tuple) and len(period) == 2:
        start, end = period
    agents = _pick("Agent", "agent", options.agents, "Which voice agents to include.")
    prompts = _pick("Prompt version", "prompt", options.prompt_versions, "The agent's instructions, by version.")
    models = _pick("Model", "model", options.models, "The language model that answered the calls.")
    _remember({"start": start.isoformat(), "end": end.isoformat(), "agent": agents, "prompt": prompts, "model": models})
    return Filters(start, end, agents=agents, prompt_versions=prompts, models=models)


def require_calls() -> FilterOptions:
    """What the filters can offer; ends the page with a hint when the warehouse has no calls."""
    options = data.filter_options()
    if options.last_day is None:
        st.info(NO_CALLS)
        st.stop()
    return options


def require_filters() -> Filters:
    """The sidebar filters; ends the page with a hint when the warehouse has no calls."""
    require_calls()
    filters = sidebar_filters()
    assert filters is not None  # there are calls, so there is a period
    return filters
