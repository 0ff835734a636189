"""Charts as slide-ready images (PNG and SVG), rendered on the server with vl-convert (offline, no
browser), in the app's theme, so every image in a deck or downloaded from a page looks the same.
The chart is sized and captioned for a slide by `present.charts.for_slide` first."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc

from present.charts import THEME

PNG_SCALE = 2  # sharp on a projector


def _spec(chart: alt.TopLevelMixin) -> dict:
    with alt.theme.enable(THEME):
        return chart.to_dict()


def png(chart: alt.TopLevelMixin, scale: float = PNG_SCALE) -> bytes:
    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def svg(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(_spec(chart))
