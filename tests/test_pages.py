"""Every page in app_pages/ is registered in app.py's navigation and runs on the demo warehouse
without an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGE_FILES)
def test_the_page_is_in_the_navigation(page: str) -> None:
    assert f'"{page}"' in (ROOT / "app.py").read_text()


@pytest.mark.parametrize("page", PAGE_FILES)
def test_the_page_runs_on_the_demo_without_an_exception(page: str, demo_warehouse: Path) -> None:
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title, f"{page} shows no title"
