"""Charts of the failure-mode explorer: Pareto bars (largest first, with the running share of
the total as a line) and one trend line per mode. Same theme as ui/chart_theme.py."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.chart_theme import AXIS_FORMATS, PALETTE


def pareto(summary: pl.DataFrame, value: str, title: str, unit: str) -> alt.LayerChart:
    """Modes by `value`, largest first; the line is the share of the total covered so far, so
    "these two modes are 80% of it" reads off the chart."""
    data = summary.filter(pl.col(value).is_not_null() & (pl.col(value) > 0)).sort(value, descending=True)
    data = data.with_columns(cumulative=pl.col(value).cum_sum() / pl.col(value).sum()).select("mode", value,
                                                                                            "cumulative")
    x = alt.X("mode:N", sort=None, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160))
    base = alt.Chart(data, height=260, title=title)
    bars = base.mark_bar(color=PALETTE[0]).encode(
        x=x,
        y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=AXIS_FORMATS[unit], tickCount=4)),
        tooltip=[alt.Tooltip("mode:N", title="Failure mode"),
                 alt.Tooltip(f"{value}:Q", title=title, format=AXIS_FORMATS[unit]),
                 alt.Tooltip("cumulative:Q", title="Share of the total so far", format=".0%")],
    )
    line = base.mark_line(point=True, color=PALETTE[1]).encode(
        x=x, y=alt.Y("cumulative:Q", title=None, scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format=".0%", tickCount=3, orient="right")),
    )
    return alt.layer(bars, line).resolve_scale(y="independent")


def mode_trend(trend: pl.DataFrame, grain: str) -> alt.Chart:
    """Share of the calls looked at that had each mode, per day or week."""
    label = "Day" if grain == "day" else "Week of"
    return (
        alt.Chart(trend, height=260)
        .mark_line(point=alt.OverlayMarkDef(size=20))
        .encode(
            x=alt.X("period_start:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=6)),
            y=alt.Y("share:Q", title="Share of calls", axis=alt.Axis(format=".0%", tickCount=4)),
            color=alt.Color("mode:N", title="Failure mode"),
            tooltip=[alt.Tooltip("period_start:T", title=label, format="%a %d %b %Y"),
                     alt.Tooltip("mode:N", title="Failure mode"),
                     alt.Tooltip("calls:Q", title="Calls with it", format=",.0f"),
                     alt.Tooltip("share:Q", title="Share of calls", format=".1%")],
        )
    )
