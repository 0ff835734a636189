"""The call tables of the Failure modes and Calls pages in Chromium: a clicked row opens its call, and
after a filter change the row picked before opens nothing (Streamlit keeps a table's selection, a row number,
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


def _click_row(page: Page, key: str) -> None:
    """Tick row `ROW` of the table keyed `key` (its key grows a suffix: ui/call_grid.py::_table_key)."""
    table = page.locator(f"[class*='st-key-{key}'] [data-testid='stDataFrameResizable']")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 15, box["y"] + HEADER_PX + ROW_PX * ROW + ROW_PX / 2)  # the row's tick box
    settle(page)


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
        _click_row(page, "fm_grid")
        assert _opened(page) == ids[ROW]
        assert page.locator(".st-key-transcript").count() == 1  # its call view
        _pick_agent(page, other)
        settle(page)
        assert _opened(page) is None  # the old call is not in the new list, and no row of it was clicked
        assert page.locator(".st-key-transcript").count() == 0


def test_on_the_calls_page_a_row_picked_before_a_filter_change_opens_nothing(
        browser: Browser, warehouse: Path) -> None:
    """The Calls page's table, the same way: its row picked, then another agent's calls listed,
    where that row names a call of that agent (opened as if clicked, before the fix)."""
    with served_app(warehouse) as url, watched_page(browser, width=1280, height=900) as page:
        page.goto(f"{url}/calls")
        settle(page)
        _click_row(page, "calls_table")
        opened = _opened(page)
        assert opened is not None and page.locator(".st-key-transcript").count() == 1
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (agent,) = con.execute("SELECT agent FROM calls WHERE call_id = ?", [opened]).fetchone()
            agents = [a for (a,) in con.execute("SELECT DISTINCT agent FROM calls ORDER BY agent").fetchall()]
        _pick_agent(page, next(a for a in agents if a != agent))
        settle(page)
        assert page.locator("[class*='st-key-calls_table']").count() == 1  # the other agent's calls are listed
        assert _opened(page) is None
        assert page.locator(".st-key-transcript").count() == 0
