"""The Export page through AppTest: building the deck shows progress and ends with a download
button whose file is the deck."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import streamlit as st
from pptx import Presentation
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


def test_building_the_deck_offers_it_for_download(demo_warehouse: Path) -> None:
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    at.switch_page("app_pages/export.py").run()
    assert not at.exception
    assert not at.get("download_button"), "nothing to download before the deck is built"
    at.button(key="deck_build").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.get("status"), "no progress shown while building"
    name, pptx = at.session_state["deck"]
    assert name == f"callboard-{at.selectbox(key='deck_quarter').value}.pptx"
    assert [b.proto.label for b in at.get("download_button")] == [f"Download {name}"]
    assert Presentation(io.BytesIO(pptx)).slides[0].shapes.title.text.startswith("Voice agents")


def test_a_quote_is_picked_from_the_lines_as_the_transcript_shows_them(demo_warehouse: Path) -> None:
    """No turn number to guess: the call's lines are listed with their time and speaker, as in the
    call view, and the one picked is previewed and goes into the deck."""
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        call_id, text = con.execute("SELECT call_id, text FROM turns WHERE turn_index = 1 AND speaker = 'customer' "
                                    "ORDER BY call_id LIMIT 1").fetchall()[0]
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    at.switch_page("app_pages/export.py").run()
    at.text_input(key="deck_quote_call").input(call_id).run()
    line = at.selectbox(key="deck_quote_turn")
    assert all(":" in option.split(" ")[0] for option in line.options)  # "0:07 Caller: …", the view's clock
    assert line.options[1].split(" ", 1)[1] == f"Caller: {text}"
    line.select_index(1).run()
    assert f"Caller: “{text}”" in [m.value for m in at.markdown]
