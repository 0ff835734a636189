"""The app's one chart theme and its plain chart builders, kept free of Streamlit so the deck
export (`python -m export`) draws the same charts as the pages: large type, a colour-blind-safe
palette (Okabe–Ito), no chart junk. A chart exported for a slide (`for_slide`) gets a title and a
caption (period and filters) and a 16:9-friendly size.

A chart is drawn as a `Figure`: its Vega-Lite spec with named data, and the frames those names
stand for. The charts a page redraws on every filter change (the Overview's trends, the Drift
page's) are built with Altair once per shape (`shaped`) and then only given new frames: Altair
took 8 ms to build and write out each of the Overview's 13 charts, two thirds of its rerun."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeAlias, cast

import altair as alt
import polars as pl

from present.formats import MS_PER_SECOND

# Every kind of chart Altair builds and Streamlit draws.
AltairChart: TypeAlias = (alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart | alt.ConcatChart
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


@dataclass(frozen=True)
class Figure:
    """A chart as the browser draws it: a Vega-Lite spec whose data are named (`{"name": "days"}`)
    and the frames those names stand for (Streamlit sends them as Arrow). A spec built by
    `shaped` is shared by every chart of its shape, so nothing changes one in place: `for_room`
    and `for_slide` make new ones."""

    spec: Mapping[str, Any]
    frames: Mapping[str, pl.DataFrame]

    def to_dict(self) -> dict[str, Any]:
        """The whole spec, its frames written out as rows as Altair writes a chart's data (for
        vl-convert, and for checking it)."""
        transform = alt.data_transformers.get()
        assert transform is not None, "Altair always has a data transformer enabled"
        rows = {name: transform(frame)["values"] for name, frame in self.frames.items()}
        return copy.deepcopy({**self.spec, "datasets": {**self.spec.get("datasets", {}), **rows}})


AnyChart: TypeAlias = AltairChart | Figure
Shape = ParamSpec("Shape")


def shaped(build: Callable[Shape, AltairChart]) -> Callable[Shape, Mapping[str, Any]]:
    """`build`'s chart as a spec, built once for each set of arguments (a shape: which columns,
    units, titles, sizes, layers) and kept. `build` names its data (`alt.NamedData`) rather than
    holding frames, so one spec serves whatever frames a filter change brings."""
    def spec(*shape: Shape.args, **named: Shape.kwargs) -> Mapping[str, Any]:
        with alt.theme.enable(THEME):
            return build(*shape, **named).to_dict(validate=False)

    return cast(Callable[Shape, Mapping[str, Any]], functools.cache(spec))


def figure(chart: AnyChart) -> Figure:
    """The chart as a `Figure`; an Altair chart's frames become named data, each frame once however
    many layers share it, named by their order (not their contents: a filter change that keeps
    the chart's shape gives the same spec with new frames, which the browser updates in place
    instead of drawing anew). Not checked against Vega-Lite's schema: checking took two thirds
    of a chart page's rerun, and the charts are built here (whose tests check their specs), not
    from input. Every field a chart encodes names its type ("calls:Q"): Altair cannot infer it
    from named data, and raises."""
    if isinstance(chart, Figure):
        return chart
    frames: dict[int, tuple[str, pl.DataFrame]] = {}
    with alt.theme.enable(THEME):
        spec = _named(chart, frames).to_dict(validate=False)
    return Figure(spec, dict(frames.values()))


def _named(part: Any, frames: dict[int, tuple[str, pl.DataFrame]]) -> Any:
    """A shallow copy of the chart (or layer, or concatenated part) whose frames are named data."""
    named = part.copy(deep=False)
    data = getattr(named, "data", alt.Undefined)
    if isinstance(data, pl.DataFrame):
        name, _ = frames.setdefault(id(data), (f"data-{len(frames)}", data))
        named.data = alt.NamedData(name=name)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        parts = getattr(named, key, alt.Undefined)
        if isinstance(parts, list):
            setattr(named, key, [_named(p, frames) for p in parts])
    if isinstance(getattr(named, "spec", alt.Undefined), alt.SchemaBase):  # a facet's or a repeat's chart
        named.spec = _named(named.spec, frames)
    return named


def _merged(base: Mapping[str, Any], more: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `more` laid over it, key by key at every depth (as Altair's `configure_*` lay
    a chart's settings over the theme's); neither is changed."""
    merged = dict(base)
    for key, value in more.items():
        below = merged.get(key)
        merged[key] = _merged(below, value) if isinstance(below, Mapping) and isinstance(value, Mapping) else value
    return merged


def _configured(chart: AnyChart, config: Mapping[str, Any], **top: Any) -> Figure:
    """The chart with `config` laid over its configuration and `top` set on the spec."""
    drawn = figure(chart)
    spec = {**drawn.spec, **top, "config": _merged(drawn.spec.get("config", {}), config)}
    return Figure(spec, drawn.frames)


DAYS = "days"  # a trend's frame, by name


def trend(frame: pl.DataFrame, key: str, unit: str, title: str, height: int = 140) -> Figure:
    """A metric's daily values as a line, with its points for hover. When the frame carries each
    day's `n` it is in the tooltip; when it carries a 95% interval (`low`, `high`) the interval is
    a shaded band behind the line, so a day on few calls looks as uncertain as it is."""
    columns = [c for c in ("day", key, "n", "low", "high") if c in frame.columns]
    data = frame.select(columns).drop_nulls(subset=["day", key])
    if unit == "ms":
        data = in_seconds(data, [key, "low", "high"])
    band = "low" in data.columns and not data["low"].is_null().all()
    return Figure(_trend(key, unit, title, height, "n" in data.columns, band), {DAYS: data})


@shaped
def _trend(key: str, unit: str, title: str, height: int, with_n: bool, band: bool) -> alt.Chart | alt.LayerChart:
    tip_format, tip_title = (".2f", f"{title}, s") if unit == "ms" else (AXIS_FORMATS.get(unit, ",.2f"), title)
    x = alt.X("day:T", title=None, axis=alt.Axis(format="%d %b", labelAngle=0, tickCount=5))
    y = alt.Y(f"{key}:Q", title=None, axis=value_axis(unit), scale=alt.Scale(zero=unit in ("pct", "usd", "count")))
    tooltip = [alt.Tooltip("day:T", title="Day", format="%a %d %b %Y"),
               alt.Tooltip(f"{key}:Q", title=tip_title, format=tip_format)]
    if with_n:
        tooltip.append(alt.Tooltip("n:Q", title="n", format=","))
    line = alt.Chart(height=height).mark_line(point=alt.OverlayMarkDef(size=18), color=PALETTE[0]).encode(
        x=x, y=y, tooltip=tooltip)
    if not band:
        return line.properties(data=alt.NamedData(DAYS))
    area = alt.Chart(height=height).mark_area(color=PALETTE[0], opacity=0.15).encode(
        x=x, y=alt.Y("low:Q", title=None), y2=alt.Y2("high:Q"), tooltip=tooltip)
    return alt.LayerChart(data=alt.NamedData(DAYS), layer=[area, line])


ROOM = {"axis": {"labelFontSize": ROOM_PX, "titleFontSize": ROOM_PX},
        "legend": {"labelFontSize": ROOM_PX, "titleFontSize": ROOM_PX},
        "title": {"fontSize": ROOM_PX + 4, "subtitleFontSize": ROOM_PX}, "text": {"fontSize": ROOM_PX}}
# At this size the default 5 px of padding cut chart text: half of a value axis's top label ("100%")
# lies above the chart, and Vega measures a label a few pixels narrower than the browser draws it.
ROOM_PADDING = {"top": ROOM_PX // 2 + 5, "left": ROOM_PX // 2 + 5, "right": 5, "bottom": 5}
SLIDE = {"axis": {"labelFontSize": AXIS_PX, "titleFontSize": AXIS_PX},
         "legend": {"labelFontSize": AXIS_PX, "titleFontSize": AXIS_PX}}


def for_room(chart: AnyChart) -> Figure:
    """The chart with every text at least `ROOM_PX` (axes, legends, titles, text marks that set no
    size of their own), for projector mode."""
    return _configured(chart, ROOM, padding=ROOM_PADDING)


def for_slide(chart: AnyChart, title: str, caption: str, width: int = SLIDE_WIDTH,
              height: int = SLIDE_HEIGHT) -> Figure:
    """The chart at slide size with a title and a caption under it. Single and layered charts are
    resized; concatenated ones keep the sizes of their parts."""
    spec = figure(chart).spec
    size = {"width": width, "height": height} if "mark" in spec or "layer" in spec else {}
    heading = {"text": title, "subtitle": caption, "fontSize": TITLE_PX, "subtitleFontSize": CAPTION_PX,
               "anchor": "start", "subtitleColor": CAPTION_COLOUR}
    return _configured(chart, SLIDE, **size, title=heading)
