"""Charts on a page: drawn in the app's theme (present/charts.py) with a download of each as a
slide-ready image."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from export import images
from export.table_files import file_stem
from present.charts import AnyChart, for_slide
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


def vega_lite(chart: AnyChart) -> dict[str, Any]:
    """The chart's Vega-Lite spec for a page, its frames as named datasets that Streamlit sends as
    Arrow (as `st.altair_chart` does), not checked against Vega-Lite's schema: checking took two
    thirds of a chart page's rerun once its reads were cached (the Overview's 13 charts), and the
    charts are built by present/ (whose tests check their specs), not from input. The names are
    the datasets' order, not their contents, so a filter change that keeps a chart's shape sends
    the same spec with new data, which the browser updates in place instead of drawing anew.
    Every field a chart encodes names its type ("calls:Q"): Altair cannot infer it from a named
    dataset, and raises."""
    frames: dict[int, tuple[str, pl.DataFrame]] = {}
    spec = _named(chart, frames).to_dict(validate=False)
    spec["datasets"] = {**spec.get("datasets", {}), **dict(frames.values())}
    return spec


def _named(part: Any, frames: dict[int, tuple[str, pl.DataFrame]]) -> Any:
    """A shallow copy of the chart (or layer, or concatenated part) whose frames are named data,
    each frame once however many layers share it."""
    copy = part.copy(deep=False)
    data = getattr(copy, "data", alt.Undefined)
    if isinstance(data, pl.DataFrame):
        name, _ = frames.setdefault(id(data), (f"data-{len(frames)}", data))
        copy.data = alt.NamedData(name=name)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        parts = getattr(copy, key, alt.Undefined)
        if isinstance(parts, list):
            setattr(copy, key, [_named(p, frames) for p in parts])
    if isinstance(getattr(copy, "spec", alt.Undefined), alt.SchemaBase):  # a facet's or a repeat's chart
        copy.spec = _named(copy.spec, frames)
    return copy
