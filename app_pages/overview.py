"""Overview: the owned metrics, grouped by who owns them, for the chosen period."""

from __future__ import annotations

import streamlit as st

from present.charts import trend
from present.formats import card_note, delta_colour, format_change, format_value, noise_help
from ui import charts, data
from ui.filters import require_filters
from warehouse.metric_registry import GROUPS, Metric, shows_nothing_yet
from warehouse.queries import Overview

st.title("Overview")

filters = require_filters()

result: Overview = data.overview(filters)
now, before = result.row("current"), result.row("previous")
previous = filters.previous()
st.caption(
    f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days} days), compared with "
    f"{previous.start:%d %b} – {previous.end:%d %b}. "
    f"{format_value(now.get('calls'), 'count')} calls. A change is coloured only when it is "
    "unlikely to be noise; shading is a day's 95% range, and each day's n is in its tooltip."
)


def panel(p: Metric) -> None:
    current, previous_value = now.get(p.key), before.get(p.key)
    change = p.change_test(now, before)
    with st.container(border=True):
        st.metric(
            p.label,
            format_value(current, p.unit),
            delta=format_change(current, previous_value, p.unit),
            delta_color=delta_colour(p, change),
            help=noise_help(p),
        )
        st.caption(card_note(p, now, before, change))
        days = result.trend(p)
        if days.height:
            charts.show(trend(days, p.key, p.unit, p.label), title=p.label,
                        caption=filters.describe(), key=f"overview-{p.key}")


for group, panels in GROUPS.items():
    st.subheader(group)
    if shows_nothing_yet(group, now.get("judged_calls")):
        st.info("No judge has scored calls in this period yet, so there is no eval score or hallucination "
                "rate. Run a judge, e.g. `python -m judges run --judge rules --start "
                f"{filters.start} --end {filters.end}`.")
        continue
    for column, p in zip(st.columns(len(panels)), panels, strict=True):
        with column:
            panel(p)
