"""Charts on a page: drawn in the app's theme (ui/chart_theme.py) with a download of each as a
slide-ready image."""

from __future__ import annotations

import altair as alt
import streamlit as st

from export import charts as exported
from export.data import file_stem
from ui.chart_theme import AXIS_FORMATS, PALETTE, trend

__all__ = ["AXIS_FORMATS", "PALETTE", "show", "trend"]


def show(chart: alt.TopLevelMixin, *, title: str, caption: str, key: str) -> None:
    """Draw a chart with downloads of it as a slide-ready PNG (2x) and SVG, titled and captioned
    with the period and filters. The images are rendered only when a button is clicked."""
    st.altair_chart(chart, theme=None, width="stretch")
    slide = exported.for_slide(chart, title, caption)
    stem = file_stem(title)
    with st.popover("Download", icon=":material/download:"):
        st.download_button("PNG for slides", data=lambda: exported.png(slide), file_name=f"{stem}.png",
                           mime="image/png", key=f"{key}-png", on_click="ignore")
        st.download_button("SVG", data=lambda: exported.svg(slide), file_name=f"{stem}.svg",
                           mime="image/svg+xml", key=f"{key}-svg", on_click="ignore")
