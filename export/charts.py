"""Charts as slide-ready images, rendered on the server with vl-convert (offline, no browser).

A chart exported for a slide gets a title and a caption (period and filters), a 16:9-friendly size
and the app's theme, so every image in a deck looks the same."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc

SLIDE_WIDTH = 960
SLIDE_HEIGHT = 420
PNG_SCALE = 2  # sharp on a projector


def for_slide(chart: alt.TopLevelMixin, title: str, caption: str) -> alt.TopLevelMixin:
    """The chart at slide size with a title and a caption under it."""
    sized = chart.properties(width=SLIDE_WIDTH, height=SLIDE_HEIGHT) if isinstance(chart, alt.Chart) else chart
    return sized.properties(
        title=alt.TitleParams(title, subtitle=caption, fontSize=22, subtitleFontSize=14, anchor="start",
                              subtitleColor="#555555")
    ).configure_axis(labelFontSize=15, titleFontSize=15).configure_legend(labelFontSize=15, titleFontSize=15)


def _spec(chart: alt.TopLevelMixin) -> dict:
    with alt.theme.enable("callboard"):
        return chart.to_dict()


def png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def svg(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(_spec(chart))
