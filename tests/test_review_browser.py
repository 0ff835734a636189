"""The weekly review in a real browser: Debian's Chromium, driven by Playwright, against the app
served by `streamlit run` on localhost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests import review_fixture, synthetic
from tests.served_app import screenshot, served_app, settle, start_review, watched_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("browser")
    warehouse = folder / "callboard.duckdb"
    synthetic.build(warehouse, calls=200)
    review_fixture.enrich(warehouse)  # no recordings: the transcript alone (the player: test_call_player_browser)
    review_fixture.make_hostile(warehouse)
    with served_app(warehouse) as url:
        yield url


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    with watched_page(browser, app_url) as opened:
        yield opened


def call_title(page: Page) -> str:
    return page.locator("h1").first.inner_text()


def test_review_with_the_keyboard_score_reload_and_find_the_score(page: Page, app_url: str) -> None:
    start_review(page, app_url, size=5)
    page.locator("h1").first.click()  # focus the page, not a field
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 5')")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 3 of 5')")
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("h1:has-text('Call 2 of 5')")
    settle(page)
    assert "call=2" in page.url

    reviewer = page.get_by_role("textbox", name="Reviewer")
    reviewer.fill("Ana")
    reviewer.press("Enter")
    settle(page)
    scoring = page.locator(".st-key-scoring")
    scoring.get_by_role("radio", name="4", exact=True).click()
    settle(page)
    scoring.get_by_role("radio", name="Fail", exact=True).click()
    settle(page)
    notes = page.get_by_role("textbox", name="Notes")
    notes.fill("Quoted the wrong price")
    notes.blur()
    settle(page)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved: 4 / 5, fail, by Ana")
    settle(page)

    page.reload()
    page.wait_for_selector("h1:has-text('Call 2 of 5')")
    settle(page)
    assert "✓" in call_title(page)
    assert page.get_by_text("1 / 5 scored").is_visible()
    assert page.locator(".st-key-scoring [role=radio][aria-checked=true]").all_inner_texts() == ["4", "Fail"]
    assert page.get_by_role("textbox", name="Notes").input_value() == "Quoted the wrong price"
    assert page.get_by_role("textbox", name="Reviewer").input_value() == "Ana"
    screenshot(page, "review-call-after-reload")


def test_a_hostile_transcript_renders_as_text_and_runs_nothing(page: Page, app_url: str) -> None:
    start_review(page, app_url, size=3)
    transcript = page.locator(".st-key-transcript")
    assert transcript.get_by_text(review_fixture.HOSTILE, exact=False).count() >= 1
    assert page.locator("img[src='x']").count() == 0
    assert transcript.locator("script").count() == 0
    assert transcript.locator("strong:has-text('bold')").count() == 0, "Markdown in customer text is not applied"
    assert page.evaluate("window.__pwned") is None
    assert page.scripts_ran == []  # type: ignore[attr-defined]
    screenshot(page, "review-hostile-transcript")
