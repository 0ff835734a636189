"""Drift charts: one line per group over days or weeks, with a labelled rule wherever a prompt
version or a model went live, in the chart theme of `ui.charts`."""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from ui.charts import AXIS_FORMATS

MARKER_COLOUR = "#555555"
LABEL_ROWS = 3  # marker labels are staggered over this many rows so close ones do not overlap


def _markers(markers: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    """The markers in range, each with its label's row and whether the label sits left of its
    rule (in the right half of the chart, where a label to the right would be cut off)."""
    shown = markers.filter(pl.col("day").is_between(first, last)).sort("day")
    middle = first + (last - first) / 2
    return shown.with_columns(row=(pl.int_range(pl.len()) % LABEL_ROWS) * 15 + 6, left=pl.col("day") > middle)


def trend_by_group(frame: pl.DataFrame, value: str, unit: str, title: str, markers: pl.DataFrame,
                   legend: str, height: int = 220) -> alt.LayerChart:
    """`value` per `bucket`, one line per `group`, with the change markers that fall in range."""
    data = frame.select("bucket", "group", value).drop_nulls()
    number = AXIS_FORMATS.get(unit, ",.2f")
    x = alt.X("bucket:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=6))
    lines = alt.Chart(data, height=height, title=title).mark_line(point=alt.OverlayMarkDef(size=16)).encode(
        x=x,
        y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=number, tickCount=4),
                scale=alt.Scale(zero=unit in ("pct", "usd", "count"))),
        color=alt.Color("group:N", title=legend, legend=alt.Legend(orient="bottom", columns=3, labelLimit=260)),
        tooltip=[alt.Tooltip("bucket:T", title="From", format="%a %d %b %Y"), alt.Tooltip("group:N", title=legend),
                 alt.Tooltip(f"{value}:Q", title=title, format=number)],
    )
    if data.is_empty():
        return alt.layer(lines)
    shown = _markers(markers, data["bucket"].min(), data["bucket"].max())
    if shown.is_empty():
        return alt.layer(lines)
    base = alt.Chart(shown).encode(x=alt.X("day:T"))
    rules = base.mark_rule(color=MARKER_COLOUR, strokeDash=[4, 3]).encode(
        tooltip=[alt.Tooltip("day:T", title="Went live", format="%d %b %Y"), alt.Tooltip("label:N", title="Change")])
    labels = [
        base.transform_filter(alt.datum.left == left)
        .mark_text(align="right" if left else "left", dx=-4 if left else 4, fontSize=11, color=MARKER_COLOUR)
        .encode(y=alt.Y("row:Q", scale=None), text="label:N")
        for left in (False, True)
    ]
    return alt.layer(lines, rules, *labels)
