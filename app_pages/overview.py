"""Overview: the owned metrics, grouped by who owns them, for the chosen period."""

from __future__ import annotations

import streamlit as st

from present.charts import trend
from present.formats import format_change, format_value
from ui import charts, data
from ui.filters import require_filters
from warehouse.metric_registry import GROUPS, Metric, shows_nothing_yet
from warehouse.queries import Overview

st.title("Overview")

filters = require_filters()

result: Overview = data.overview(filters)
previous = filters.previous()
st.caption(
    f"{filters.start:%d %b %Y} – {filters.end:%d %b %Y} ({filters.days} days), compared with "
    f"{previous.start:%d %b} – {previous.end:%d %b}. "
    f"{format_value(result.value('current', 'calls'), 'count')} calls."
)


def panel(p: Metric) -> None:
    current, before = result.value("current", p.key), result.value("previous", p.key)
    with st.container(border=True):
        st.metric(
            p.label,
            format_value(current, p.unit),
            delta=format_change(current, before, p.unit),
            delta_color="normal" if p.higher_is_better else "inverse",
            help=p.help,
        )
        if result.by_day[p.key].drop_nulls().drop_nans().len():
            charts.show(trend(result.by_day, p.key, p.unit, p.label), title=p.label,
                        caption=filters.describe(), key=f"overview-{p.key}")


for group, panels in GROUPS.items():
    st.subheader(group)
    if shows_nothing_yet(group, result.value("current", "judged_calls")):
        st.info("No judge has scored calls in this period yet, so there is no eval score or hallucination "
                "rate. Run a judge, e.g. `python -m judges run --judge rules --start "
                f"{filters.start} --end {filters.end}`.")
        continue
    for column, p in zip(st.columns(len(panels)), panels, strict=True):
        with column:
            panel(p)
