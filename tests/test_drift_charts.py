"""The Drift page's charts read from the back of a room: drawn for projector mode (`for_room`), every
text in them (week labels, change-marker labels, axes, legends, titles) is at least 16 px, and every
latency axis reads in seconds, like the cards and the other charts, with labels that tell its ticks
apart. Checked on the SVG vl-convert draws from the very spec the page hands to the browser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from itertools import pairwise

import polars as pl
import pytest

from export import images
from present import drift
from present.charts import AnyChart, for_room
from warehouse.drift.queries import DriftFlags

MIN_ROOM_PX = 16
DAYS = [date(2026, 10, 1) + timedelta(days=n) for n in range(28)]
MARKERS = pl.DataFrame({
    "day": [date(2026, 10, 5), date(2026, 10, 9), date(2026, 10, 20)],
    "agent": ["salon-booker", "clinic-scheduler", "estate-qualifier"],
    "kind": ["model", "prompt", "end_of_turn"],
    "what": ["gpt-4.1-mini", "v2", "quick"],
    "label": ["salon-booker → gpt-4.1-mini", "clinic-scheduler prompt v2", "estate-qualifier end of turn: quick"],
})  # fmt: skip


def _speech_to_text() -> pl.DataFrame:
    """p95 speech-to-text latency, ms: about 0.21–0.33 s, the narrow range whose axis said
    "0.3 s" three times."""
    return pl.DataFrame({"bucket": DAYS * 2, "group": ["salon-booker"] * 28 + ["estate-qualifier"] * 28,
                         "p95": [210 + 4.0 * n for n in range(28)] + [220 + 2.0 * n for n in range(28)]})


def _stages() -> pl.DataFrame:
    weeks = [date(2026, 10, 5) + timedelta(weeks=n) for n in range(4)]
    return pl.DataFrame({"bucket": weeks, "end_of_turn": [80.0, 85, 90, 82], "speech_to_text": [120.0, 118, 300, 121],
                         "model": [850.0, 900, 1260, 880], "speech_synthesis": [180.0, 175, 190, 185]})


def _history() -> list[DriftFlags]:
    no_changes = MARKERS.clear()
    ends = [date(2026, 11, 22) - timedelta(weeks=n) for n in range(8)]
    return [DriftFlags(end, end - timedelta(days=6), end - timedelta(days=34), [], no_changes) for end in ends]


CHARTS = {
    "latency trend with its change markers named": lambda: drift.trend_by_group(
        _speech_to_text(), "p95", "ms", "p95 speech-to-text latency", MARKERS, "Agent"),
    "weeks with drift": lambda: drift.history_chart(_history(), 0),
    "the wait's stages": lambda: drift.stage_chart(_stages()),
}  # fmt: skip


def _texts(chart: AnyChart) -> list[tuple[str, float]]:
    """Every text vl-convert draws for the chart, with its size in px."""
    root = ET.fromstring(images.svg(chart))
    found = []
    for element in root.iter():
        if element.tag.endswith("text") and (element.text or "").strip():
            found.append((element.text.strip(), float(element.attrib["font-size"].removesuffix("px"))))
    return found


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_text_of_a_drift_chart_is_room_sized_in_projector_mode(name: str) -> None:
    texts = _texts(for_room(CHARTS[name]()))
    assert len(texts) >= 8, texts
    small = [(text, px) for text, px in texts if px < MIN_ROOM_PX]
    assert small == [], f"{name}: text under {MIN_ROOM_PX} px"


def test_the_week_and_marker_labels_are_drawn_and_room_sized() -> None:
    """The labels the page had at 11 and 12 px are there, at room size."""
    week = drift.week_label(_history()[0])
    weeks = dict(_texts(for_room(CHARTS["weeks with drift"]())))
    markers = dict(_texts(for_room(CHARTS["latency trend with its change markers named"]())))
    assert weeks[week] >= MIN_ROOM_PX
    assert markers["salon-booker → gpt-4.1-mini"] >= MIN_ROOM_PX


def test_marker_labels_in_different_rows_do_not_overlap_at_room_size() -> None:
    """Close markers' labels are staggered over rows at least one room-sized line apart."""
    spec = for_room(CHARTS["latency trend with its change markers named"]()).to_dict()
    rows = sorted({row["row"] for dataset in spec["datasets"].values() for row in dataset if "row" in row})
    assert len(rows) == drift.LABEL_ROWS
    assert min(b - a for a, b in pairwise(rows)) >= MIN_ROOM_PX + 2


@pytest.mark.parametrize("name", ["latency trend with its change markers named", "the wait's stages"])
def test_a_latency_axis_reads_in_seconds_with_one_label_per_tick(name: str) -> None:
    """Seconds with the unit on every label, like the cards ("0.25 s"), never ms, and no two ticks
    written the same (a narrow range written to one decimal read "0.3 s" three times)."""
    texts = [text for text, _ in _texts(CHARTS[name]())]
    seconds = [text for text in texts if re.fullmatch(r"\d+(\.\d+)? s", text)]
    assert len(seconds) >= 3, texts
    assert len(seconds) == len(set(seconds)), seconds
    assert not [text for text in texts if re.search(r"\d ?ms\b|\d,\d{3}", text)]
    values = sorted(float(text.removesuffix(" s")) for text in seconds)
    assert values[-1] < 5, "the axis is in seconds, not ms"


@pytest.mark.parametrize("name", list(CHARTS))
def test_a_drift_chart_is_valid_vega_lite(name: str) -> None:
    """The page hands these specs to the browser unchecked (present/charts.py::shaped builds each
    shape once, without Altair's check, for speed): they are checked here."""
    import jsonschema
    from altair.vegalite.v6.schema import core

    jsonschema.validate(CHARTS[name]().to_dict(), core.load_schema())
