"""Charts as slide-ready images (PNG and SVG), rendered on the server with vl-convert (offline, no
browser), in the app's theme, so every image in a deck or downloaded from a page looks the same.
The chart is sized and captioned for a slide by `present.charts.for_slide` first.

Every text in the chart (its data, so agent, model and failure-mode names, and its titles) goes
through `present.markdown.plain_text` first: vl-convert aborts the whole process on a control
character in a label (an escape sequence in a failure-mode name took the app down with the
download), and a bidi override would reverse the chart's other words."""

from __future__ import annotations

from typing import Any

import vl_convert as vlc

from present.charts import AnyChart, figure
from present.markdown import plain_text

PNG_SCALE = 2  # sharp on a projector


def _plain(value: Any) -> Any:
    """`value` (a spec or a part of it) with `plain_text` on every string in it."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _spec(chart: AnyChart) -> dict:
    return _plain(figure(chart).to_dict())


def png(chart: AnyChart, scale: float = PNG_SCALE) -> bytes:
    return vlc.vegalite_to_png(_spec(chart), scale=scale)


def svg(chart: AnyChart) -> str:
    return vlc.vegalite_to_svg(_spec(chart))
