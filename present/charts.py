"""The app's one chart theme and its plain chart builders, kept free of Streamlit so the deck
export (`python -m export`) draws the same charts as the pages: large type, a colour-blind-safe
palette (Okabe–Ito), no chart junk. A chart exported for a slide (`for_slide`) gets a title and a
caption (period and filters) and a 16:9-friendly size."""

from __future__ import annotations

from typing import TypeAlias

import altair as alt
import polars as pl

from present.formats import MS_PER_SECOND

# Every kind of chart Altair builds and Streamlit draws.
AnyChart: TypeAlias = (alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart | alt.ConcatChart
                       | alt.FacetChart | alt.RepeatChart)
THEME = "callboard"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

SLIDE_WIDTH = 960  # px at 1x; about 10 inches of a 13.3-inch wide 16:9 slide
SLIDE_HEIGHT = 420
TITLE_PX, CAPTION_PX, AXIS_PX = 22, 16, 16  # read from the back of a meeting room
ROOM_PX = 18  # projector mode: no chart text smaller than this on a 1280×720 projector
CAPTION_COLOUR = "#555555"


AXIS_FORMATS = {"pct": ".0%", "ms": ",.0f", "usd": "$.3f", "score": ".1f", "nps": "+.0f", "count": ",.0f"}


def in_seconds(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Times stored in ms, as seconds: a chart beside a card reading "1.31 s" reads in seconds too."""
    return frame.with_columns(pl.col(c) / MS_PER_SECOND for c in columns if c in frame.columns)


def value_axis(unit: str) -> alt.Axis:
    """The value axis of a chart of `unit`, its numbers written as the cards write them (times in
    seconds, with the unit on every label, since the charts have no axis title). Seconds keep the
    precision Vega picks for the tick step (`datum.label`): a fixed one decimal wrote the ticks of
    a narrow range (0.22–0.32 s) as "0.2 s" and "0.3 s" over and over."""
    if unit == "ms":
        return alt.Axis(labelExpr="datum.label + ' s'", tickCount=4)
    return alt.Axis(format=AXIS_FORMATS.get(unit, ",.2f"), tickCount=4)


@alt.theme.register(THEME, enable=True)
def callboard_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": "Inter, Helvetica, Arial, sans-serif",
            "range": {"category": PALETTE},
            "axis": {"labelFontSize": 13, "titleFontSize": 13, "gridColor": "#e6e6e6", "domain": False},
            "legend": {"labelFontSize": 13, "titleFontSize": 13},
            "text": {"fontSize": 13},  # text marks that set no size (for_room raises it to ROOM_PX)
            "title": {"fontSize": 16, "anchor": "start"},
            "view": {"stroke": None},
        }
    }


def trend(frame: pl.DataFrame, key: str, unit: str, title: str, height: int = 140) -> alt.Chart | alt.LayerChart:
    """A metric's daily values as a line, with its points for hover. When the frame carries each
    day's `n` it is in the tooltip; when it carries a 95% interval (`low`, `high`) the interval is
    a shaded band behind the line, so a day on few calls looks as uncertain as it is."""
    columns = [c for c in ("day", key, "n", "low", "high") if c in frame.columns]
    data = frame.select(columns).drop_nulls(subset=["day", key])
    tip_format, tip_title = AXIS_FORMATS.get(unit, ",.2f"), title
    if unit == "ms":
        data, tip_format, tip_title = in_seconds(data, [key, "low", "high"]), ".2f", f"{title}, s"
    x = alt.X("day:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=5))
    y = alt.Y(f"{key}:Q", title=None, axis=value_axis(unit), scale=alt.Scale(zero=unit in ("pct", "usd", "count")))
    tooltip = [alt.Tooltip("day:T", title="Day", format="%a %d %b %Y"),
               alt.Tooltip(f"{key}:Q", title=tip_title, format=tip_format)]
    if "n" in data.columns:
        tooltip.append(alt.Tooltip("n:Q", title="n", format=","))
    line = alt.Chart(data, height=height).mark_line(point=alt.OverlayMarkDef(size=18), color=PALETTE[0]).encode(
        x=x, y=y, tooltip=tooltip)
    if "low" not in data.columns or data["low"].is_null().all():
        return line
    band = alt.Chart(data, height=height).mark_area(color=PALETTE[0], opacity=0.15).encode(
        x=x, y=alt.Y("low:Q", title=None), y2=alt.Y2("high:Q"), tooltip=tooltip)
    return alt.LayerChart(layer=[band, line])


def for_room(chart: AnyChart) -> AnyChart:
    """The chart with every text at least `ROOM_PX` (axes, legends, titles, text marks that set no
    size of their own), for projector mode."""
    return (chart.configure_axis(labelFontSize=ROOM_PX, titleFontSize=ROOM_PX)
            .configure_legend(labelFontSize=ROOM_PX, titleFontSize=ROOM_PX)
            .configure_title(fontSize=ROOM_PX + 4, subtitleFontSize=ROOM_PX)
            .configure_text(fontSize=ROOM_PX))


def for_slide(chart: AnyChart, title: str, caption: str, width: int = SLIDE_WIDTH,
              height: int = SLIDE_HEIGHT) -> AnyChart:
    """The chart at slide size with a title and a caption under it. Single and layered charts are
    resized; concatenated ones keep the sizes of their parts."""
    sized = chart.properties(width=width, height=height) if isinstance(chart, alt.Chart | alt.LayerChart) else chart
    return sized.properties(
        title=alt.TitleParams(title, subtitle=caption, fontSize=TITLE_PX, subtitleFontSize=CAPTION_PX,
                              anchor="start", subtitleColor=CAPTION_COLOUR)
    ).configure_axis(labelFontSize=AXIS_PX, titleFontSize=AXIS_PX).configure_legend(
        labelFontSize=AXIS_PX, titleFontSize=AXIS_PX)
