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
