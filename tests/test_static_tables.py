"""A table drawn static (projector mode, or a short list the room reads whole) renders Markdown in
its cells, so its text and headers are escaped: customer text and reviewers' notes stay the text
they are, never a link or an image."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from present.markdown import escape_markdown

NOTE = "Said to visit [our site](http://example.com) ![x](http://example.com/a.png) **now**"


def _page() -> None:
    import polars as pl

    from ui.tables import show_table

    frame = pl.DataFrame({"notes": ["Said to visit [our site](http://example.com) ![x](http://example.com/a.png) "
                                    "**now**"], "score": [3]})
    show_table(frame, "notes", "caption", wrap=True, column_config={"notes": "*Priya*: notes", "score": None})


def test_a_static_tables_text_and_headers_are_escaped() -> None:
    at = AppTest.from_function(_page, default_timeout=30)
    at.run()
    assert not at.exception
    shown = at.table[0].value
    assert list(shown.columns) == [escape_markdown("*Priya*: notes")], "the hidden column is left out"
    assert shown.iloc[0, 0] == escape_markdown(NOTE) != NOTE


def _counts_page() -> None:
    import polars as pl
    import streamlit as st

    from ui.tables import show_table

    frame = pl.DataFrame({"metric": ["Conversion rate", "NPS"], "calls": [2233, 519], "n": [10029, None]})
    show_table(frame, "comparison", "caption", wrap=True,
               column_config={"calls": st.column_config.NumberColumn(format="localized"),
                              "n": st.column_config.NumberColumn("n", format="localized")})


def test_a_static_tables_counts_read_as_the_interactive_tables_do() -> None:
    """Counts configured `format="localized"` are written with thousands separators ("2,233", not
    the "2233" a static table writes) and right-aligned, as the interactive table shows them."""
    at = AppTest.from_function(_counts_page, default_timeout=30)
    at.run()
    assert not at.exception
    shown = at.table[0].value
    assert shown["calls"].tolist() == ["2,233", "519"]
    assert shown["n"].tolist()[0] == "10,029" and shown["n"].isna().tolist()[1]
    style = "".join(h.proto.body for h in at.get("html"))
    assert "[data-testid='stTable'] td:nth-child(2)" in style and "td:nth-child(3)" in style
    assert "text-align: right" in style
