"""The sidebar filters every page shares. They live in the URL (`st.query_params`), so a copied
link reproduces the view."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from ui import data, url_params
from warehouse.filters import Filters
from warehouse.queries import FilterOptions

DEFAULT_DAYS = 28
PICKABLE = timedelta(days=366)  # the date picker reaches this far beyond the first and last call
NO_CALLS = (
    "The warehouse has no calls yet. Load some with `python -m ingest traces PATH` or build the demo with `make run`."
)


def _day_param(name: str) -> date | None:
    text = st.query_params.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        url_params.say(f"The link's {name} day {url_params.quoted(text)} is not a date like 2026-10-31: "
                       "the default is shown.")
        return None


def _day(day: date) -> str:
    return f"{day:%d %b %Y}"


def _period_from_url(first: date, last: date) -> tuple[date, date]:
    """The period the URL asks for, made one the date picker can show (it would raise otherwise):
    reversed ends are swapped, ends beyond the picker's reach are brought to its edge, a period
    wholly outside it falls back to the default; each change is said."""
    default = (max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last)
    start, end = _day_param("start") or default[0], _day_param("end") or default[1]
    if end < start:
        start, end = end, start
        url_params.say(f"The link's period ends before it starts: showing {_day(start)} to {_day(end)}.")
    lowest, highest = first - PICKABLE, last + PICKABLE
    if end < lowest or start > highest:
        url_params.say(f"The link's period ({_day(start)} to {_day(end)}) is far from any call (they run from "
                       f"{_day(first)} to {_day(last)}): showing the last {DEFAULT_DAYS} days instead.")
        return default
    if start < lowest or end > highest:
        start, end = max(start, lowest), min(end, highest)
        url_params.say(f"The link's period reaches more than a year beyond the calls: showing {_day(start)} to "
                       f"{_day(end)}.")
    return start, end


def _pick(label: str, param: str, options: list[str], help: str) -> tuple[str, ...]:
    chosen = url_params.known(st.query_params.get_all(param), options, label.lower())
    picked = st.sidebar.multiselect(label, options, default=chosen, placeholder="All", help=help, key=f"f_{param}")
    return tuple(picked)


def sidebar_filters() -> Filters | None:
    """Draw the filters in the sidebar and return them; None when the warehouse has no calls."""
    options = data.filter_options()
    last, first = options.last_day, options.first_day
    if last is None or first is None:
        return None
    start, end = _period_from_url(first, last)
    st.sidebar.header("Filters")
    period = st.sidebar.date_input(
        "Period",
        value=(start, end),
        min_value=first - PICKABLE,
        max_value=last + PICKABLE,
        help="Days in UTC, both ends included. Changes are compared with the period of the same length just before.",
        key="f_period",
    )
    if isinstance(period, tuple) and len(period) == 2:
        start, end = period
    agents = _pick("Agent", "agent", options.agents, "Which voice agents to include.")
    prompts = _pick("Prompt version", "prompt", options.prompt_versions, "The agent's instructions, by version.")
    models = _pick("Model", "model", options.models, "The language model that answered the calls.")
    url_params.remember({"start": start.isoformat(), "end": end.isoformat(), "agent": agents, "prompt": prompts,
                         "model": models})
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
