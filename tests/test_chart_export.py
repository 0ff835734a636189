"""Charts exported for slides: PNG at twice the size, valid SVG, titled and captioned."""

from __future__ import annotations

import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import polars as pl

from export import images
from present.charts import SLIDE_WIDTH, for_slide, trend
from present.formats import format_value
from warehouse.filters import Filters

FRAME = pl.DataFrame({"day": [date(2026, 10, d) for d in range(1, 29)], "rate": [0.4 + d / 100 for d in range(28)]})
ROOT = Path(__file__).resolve().parent.parent
CAPTION = Filters(date(2026, 10, 1), date(2026, 10, 28), agents=("salon-booker",)).describe()


def slide() -> object:
    return for_slide(trend(FRAME, "rate", "pct", "Conversion rate"), "Conversion rate", CAPTION)


def test_png_is_twice_the_slide_size_and_landscape() -> None:
    png = images.png(slide())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 2 * SLIDE_WIDTH
    assert 1.6 <= width / height <= 2.6


def test_svg_is_valid_and_carries_the_title_and_caption() -> None:
    root = ET.fromstring(images.svg(slide()))
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert "Conversion rate" in texts and CAPTION in texts


def test_the_caption_names_the_period_and_the_filters() -> None:
    assert CAPTION == "01 Oct 2026 – 28 Oct 2026 · agent: salon-booker"
    assert Filters(date(2026, 10, 1), date(2026, 10, 28)).describe().endswith("· all calls")


def test_a_reply_time_chart_reads_in_seconds_like_its_card() -> None:
    """The overview's card says "1.31 s": its chart (and the chart's PNG/SVG) labels its axis in
    seconds, with the unit, around that value, not "1,200–1,800" with no unit."""
    latency = pl.DataFrame({"day": [date(2026, 10, d) for d in range(1, 29)],
                            "latency_p50_ms": [1200.0 + 20 * d for d in range(28)]})
    card = format_value(float(latency["latency_p50_ms"].median()), "ms")
    root = ET.fromstring(images.svg(for_slide(trend(latency, "latency_p50_ms", "ms", "Reply time"), "Reply time",
                                              CAPTION)))
    labels = [t.text for t in root.iter() if t.tag.endswith("text") and t.text and t.text.endswith(" s")]
    seconds = sorted(float(label.removesuffix(" s")) for label in labels)
    assert card == "1.47 s" and len(seconds) >= 3
    assert seconds[0] <= 1.47 <= seconds[-1] < 10


def test_a_label_with_control_characters_renders_without_taking_the_process_down() -> None:
    """vl-convert aborts its process on a control character in a text (a failure-mode name with a
    terminal escape sequence, downloaded as PNG, took the whole app down): images are drawn from
    plain text. Run in a child process, so a regression fails this test rather than the test run."""
    script = (
        "import altair as alt, polars as pl\n"
        "from export import images\n"
        "frame = pl.DataFrame({'mode': ['mode\\u202e \\x1b[31mred\\x1b]0;title\\x07 \\x00end', 'b'], 'n': [3, 1]})\n"
        "chart = alt.Chart(frame).mark_bar().encode(x='mode:N', y='n:Q')\n"
        "svg, png = images.svg(chart), images.png(chart)\n"
        "assert png.startswith(b'\\x89PNG') and '>mode red end<' in svg, svg\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]


def test_a_page_builds_no_slide_until_a_download_is_clicked(monkeypatch) -> None:
    """Drawing a chart leaves its slide (a copy of the whole chart, titled) to the download buttons:
    built on every run, it cost as much as the chart itself."""
    from streamlit.testing.v1 import AppTest

    import ui.charts

    built = []
    monkeypatch.setattr(ui.charts, "for_slide", lambda *args: built.append(args) or for_slide(*args))

    def page() -> None:
        from datetime import date

        import polars as pl

        from present.charts import trend
        from ui import charts

        frame = pl.DataFrame({"day": [date(2026, 10, 1), date(2026, 10, 2)], "rate": [0.4, 0.5]})
        charts.show(trend(frame, "rate", "pct", "Conversion rate"), title="Conversion rate", caption="Oct",
                    key="rate")

    at = AppTest.from_function(page, default_timeout=60).run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1 and len(at.get("download_button")) == 2
    assert built == []


def test_a_pages_chart_spec_is_valid_vega_lite_with_its_frames_as_named_datasets() -> None:
    """ui/charts.py draws a chart from its spec unchecked (checking cost two thirds of a rerun):
    here it is checked, with the frames that Streamlit sends as Arrow written out as rows. A chart
    of the same shape with new data is the same spec, built once (`present.charts.shaped`): the
    browser updates it in place, and the page's rerun does not pay Altair to build it again."""
    import jsonschema
    from altair.vegalite.v6.schema import core

    from present.charts import DAYS
    from ui.charts import vega_lite

    with_band = FRAME.with_columns(low=pl.col("rate") - 0.05, high=pl.col("rate") + 0.05)
    built = trend(with_band, "rate", "pct", "Conversion rate")  # a band and a line: two layers, one frame
    spec = vega_lite(built)
    assert list(spec["datasets"]) == [DAYS] and spec["datasets"][DAYS].equals(with_band)
    as_rows = {**spec, "datasets": {name: frame.with_columns(pl.col("day").cast(pl.String)).to_dicts()
                                    for name, frame in spec["datasets"].items()}}
    jsonschema.validate(as_rows, core.load_schema())
    again = trend(with_band.with_columns(pl.col("rate") * 2), "rate", "pct", "Conversion rate")
    doubled = vega_lite(again)
    assert doubled.pop("datasets")[DAYS]["rate"].to_list() == (with_band["rate"] * 2).to_list()
    assert doubled == {k: v for k, v in spec.items() if k != "datasets"}  # new data, same spec: updated in place
    assert again.spec is built.spec
