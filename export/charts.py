"""Charts as slide-ready images, rendered on the server with vl-convert (offline, no browser).

A chart exported for a slide gets a title and a caption (period and filters), a 16:9-friendly size
and the app's theme, so every image in a deck looks the same."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc

from ui.chart_theme import THEME

SLIDE_WIDTH = 960  # px at 1x; about 10 inches of a 13.3-inch wide 16:9 slide
SLIDE_HEIGHT = 420
PNG_SCALE = 2  # sharp on a projector
TITLE_PX, CAPTION_PX, AXIS_PX = 22, 16, 16  # read from the back of a meeting room
CAPTION_COLOUR = "#555555"


def for_slide(chart: alt.TopLevelMixin, title: str, caption: str, width: int = SLIDE_WIDTH,
              height: int = SLIDE_HEIGHT) -> alt.TopLevelMixin:
    """The chart at slide size with a title and a caption under it. Single and layered charts are
    resized; concatenated ones keep the sizes of their parts."""
    sized = chart.properties(width=width, height=height) if isinstance(chart, alt.Chart | alt.LayerChart) else chart
    return sized.properties(
        title=alt.TitleParams(title, subtitle=caption, fontSize=TITLE_PX, subtitleFontSize=CAPTION_PX,
                              anchor="start", subtitleColor=CAPTION_COLOUR)
    ).configure_axis(labelFontSize=AXIS_PX, titleFontSize=AXIS_PX).configure_legend(
        labelFontSize=AXIS_PX, titleFontSize=AXIS_PX)


def _spec(chart: alt.TopLevelMixin) -> dict:
    with alt.theme.enable(THEME):
        return chart.to_dict()


def png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def svg(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(_spec(chart))
