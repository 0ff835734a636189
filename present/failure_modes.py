"""The failure-mode explorer's answer in words and charts, shared by the page and the deck: which
mode cost the most conversions and how sure we are (from the figures warehouse/explorer.py and
warehouse/calibration_math.py computed), Pareto bars (largest first, with the running share of the
total as a line) and one trend line per mode. The charts are built once per shape
(`present.charts.shaped`) and given each view's frames: building them with Altair on every
rerun was a tenth of the page's rerun."""

from __future__ import annotations

import altair as alt
import polars as pl

from present.charts import AXIS_FORMATS, PALETTE, Figure, shaped
from present.formats import percent
from present.markdown import code_span
from warehouse.explorer import Exploration
from warehouse.filters import Filters

LOST_CONVERSIONS = (
    "Lost conversions: the bookings the calls with a mode would have made at the conversion rate of calls "
    "with no failure mode, minus the bookings they made. A comparison, not proof of cause. "
    "The 95% range comes from resampling the calls. Modes that describe the outcome itself "
    "(e.g. goal not met) have no figure."
)


OWNER_NAMES = {"pm": "Product", "engineering": "Engineering"}


def costliest_answer(e: Exploration, f: Filters, source_label: str) -> str:
    """One paragraph: the mode that lost the most bookings, how many, and the sampling range."""
    top = e.costliest
    period = f"{f.start:%d %b} – {f.end:%d %b %Y}"
    if top is None:
        return f"No failure mode is linked to lost bookings in {period} (labels from: {source_label.lower()})."
    interval = ""
    if top["lost_low"] is not None:
        interval = f" (95% range {max(top['lost_low'], 0):,.0f}–{top['lost_high']:,.0f})"
    return (
        f"**{code_span(top['mode'])} cost the most conversions in {period}: about "
        f"{top['lost_conversions']:,.0f} bookings{interval}.** {top['calls']:,} calls had it and "
        f"{percent(top['conversion_rate'])} of them booked, against {percent(e.clean_conversion)} of calls with no "
        f"failure mode (labels from: {source_label.lower()})."
    )


def judge_trust(row: dict | None, judge: str) -> tuple[str, str | None]:
    """How far the judge's labels for this mode can be trusted, and a warning when the human
    sample is too thin; the text names the judge version it measured."""
    if row is None or row["labelled_calls"] == 0:
        return (f"No call with this mode has been reviewed by a person yet, so the judge ({judge}) is not "
                "measured on it: run a weekly review to find out."), None
    found = "—" if row["tpr"] is None else f"{row['tpr']:.0%}"
    false_alarms = "—" if row["tnr"] is None else f"{1 - row['tnr']:.0%}"
    kappa = "—" if row["kappa"] is None else f"{row['kappa']:.2f}"
    corrected = ""
    if row["corrected_rate"] is not None:
        rng = ""
        if row["corrected_low"] is not None:
            rng = f" (95% range {percent(row['corrected_low'])}–{percent(row['corrected_high'])})"
        corrected = (f" Corrected for its misses and false alarms, about {percent(row['corrected_rate'])} of calls "
                     f"have it{rng}; the judge flags {percent(row['observed_rate'])}.")
    text = (
        f"On {row['labelled_calls']} calls a person also labelled, the judge ({judge}) found {found} of the "
        f"{row['human_yes']:,.0f} they tagged and flagged {false_alarms} of the rest wrongly; agreement beyond chance "
        f"(kappa, 0 = chance, 1 = perfect) {kappa}.{corrected}"
    )
    return text, row["warning"]


MODES, PERIODS = "modes", "periods"  # the charts' frames, by name


def pareto(summary: pl.DataFrame, value: str, title: str, unit: str) -> Figure:
    """Modes by `value`, largest first; the line is the share of the total covered so far, so
    "these two modes are 80% of it" reads off the chart."""
    data = summary.filter(pl.col(value).is_not_null() & (pl.col(value) > 0)).sort(value, descending=True)
    data = data.with_columns(cumulative=pl.col(value).cum_sum() / pl.col(value).sum()).select("mode", value,
                                                                                            "cumulative")
    return Figure(_pareto(value, title, unit), {MODES: data})


@shaped
def _pareto(value: str, title: str, unit: str) -> alt.LayerChart:
    x = alt.X("mode:N", sort=None, title=None, axis=alt.Axis(labelAngle=-30, labelLimit=160))
    base = alt.Chart(title=title)
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
    return alt.LayerChart(data=alt.NamedData(MODES), layer=[bars, line], height=260).resolve_scale(y="independent")


def mode_trend(trend: pl.DataFrame, grain: str) -> Figure:
    """Share of the calls looked at that had each mode, per day or week."""
    return Figure(_mode_trend(grain), {PERIODS: trend})


@shaped
def _mode_trend(grain: str) -> alt.Chart:
    label = "Day" if grain == "day" else "Week of"
    return (
        alt.Chart(alt.NamedData(PERIODS), height=260)
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
