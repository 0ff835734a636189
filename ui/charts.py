"""Charts on a page: drawn in the app's theme (present/charts.py) with a download of each as a
slide-ready image."""

from __future__ import annotations

from typing import Any

import streamlit as st

from export import images
from export.table_files import file_stem
from present.charts import AnyChart, Figure, for_slide
from ui import projector


def show(chart: AnyChart, *, title: str, caption: str, key: str) -> None:
    """Draw a chart with downloads of it as a slide-ready PNG (2x) and SVG, titled and captioned
    with the period and filters. The slide's chart is built, and its image rendered, only when a
    button is clicked: building it (Altair copies the whole chart) took as long as building the
    chart itself, on every run of every page with charts."""
    st.vega_lite_chart(vega_lite(projector.chart(chart)), theme=None, width="stretch")
    stem = file_stem(title)
    with st.popover("Download", icon=":material/download:"):
        st.download_button("PNG for slides", data=lambda: images.png(for_slide(chart, title, caption)),
                           file_name=f"{stem}.png", mime="image/png", key=f"{key}-png", on_click="ignore")
        st.download_button("SVG", data=lambda: images.svg(for_slide(chart, title, caption)), file_name=f"{stem}.svg",
                           mime="image/svg+xml", key=f"{key}-svg", on_click="ignore")


def vega_lite(drawn: Figure) -> dict[str, Any]:
    """The figure's spec for `st.vega_lite_chart`, its frames as named datasets that Streamlit
    sends as Arrow (as `st.altair_chart` does). A filter change that keeps a chart's shape sends
    the same spec with new data, which the browser updates in place instead of drawing anew."""
    return {**drawn.spec, "datasets": {**drawn.spec.get("datasets", {}), **drawn.frames}}
