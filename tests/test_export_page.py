"""The Export page through AppTest: building the deck shows progress and ends with a download
button whose file is the deck."""

from __future__ import annotations

import io
from pathlib import Path

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
