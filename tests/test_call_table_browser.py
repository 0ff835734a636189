"""The Failure modes page's call table in Chromium: a clicked row opens its call, and after a filter
change the row picked before opens nothing (Streamlit keeps a table's selection, a row number,
when its rows change: it would name another call of the new list)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.served_app import served_app, settle, watched_page
from warehouse import explorer
from warehouse.filters import Filters

ROW_PX, HEADER_PX = 35, 35  # Streamlit's table: a row's and the header's height
ROW = 2  # the third row


@pytest.fixture(scope="module")
def warehouse(demo_build: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copyfile(demo_build[0], tmp_path_factory.mktemp("call-table") / "callboard.duckdb"))


def _listed(warehouse: Path, monkeypatch: pytest.MonkeyPatch, agents: tuple[str, ...] = ()) -> tuple[list, list]:
    """The calls the table lists for the page's default period (newest first) and their agents."""
    monkeypatch.setenv("CALLBOARD_DB", str(warehouse))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (last,) = con.execute("SELECT max(day) FROM calls").fetchone()
    calls = explorer.explore(Filters(last - timedelta(days=27), last, agents=agents), "judge").calls
    return calls["call_id"].to_list(), calls["agent"].to_list()


def _pick_agent(page: Page, agent: str) -> None:
    """Pick `agent` in the sidebar's list; a first press on a page just drawn can leave it closed."""
    for _ in range(3):
        page.locator(".st-key-f_agent button[aria-label='Open']").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=3_000)
            break
        except PlaywrightTimeout:
            continue
    page.get_by_role("option", name=agent, exact=True).click()


def _opened(page: Page) -> str | None:
    return page.evaluate("new URLSearchParams(location.search).get('call')")


def test_a_clicked_row_opens_its_call_and_a_filter_change_opens_none(
        browser: Browser, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids, agents = _listed(warehouse, monkeypatch)
    other = next(a for a in sorted(set(agents)) if a != agents[ROW])
    assert _listed(warehouse, monkeypatch, (other,))[0][ROW] != ids[ROW]  # the same row names another call there
    with served_app(warehouse) as url, watched_page(browser, width=1280, height=900) as page:
        page.goto(f"{url}/failure-modes?source=judge")
        settle(page)
        table = page.locator("[class*='st-key-fm_grid'] [data-testid='stDataFrameResizable']")
        table.scroll_into_view_if_needed()
        box = table.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 15, box["y"] + HEADER_PX + ROW_PX * ROW + ROW_PX / 2)  # the row's tick box
        settle(page)
        assert _opened(page) == ids[ROW]
        assert page.locator(".st-key-transcript").count() == 1  # its call view
        _pick_agent(page, other)
        settle(page)
        assert _opened(page) is None  # the old call is not in the new list, and no row of it was clicked
        assert page.locator(".st-key-transcript").count() == 0
