"""The weekly review in a real browser: Debian's Chromium, driven by Playwright, against the app
served by `streamlit run` on localhost."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests import review_fixture, synthetic
from tests.served_app import screenshot, scripts_ran, served_app, settle, start_review, watched_page
from warehouse import reviews

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "callboard.duckdb"
    synthetic.build(path, calls=200)
    review_fixture.enrich(path)  # no recordings: the transcript alone (the player: test_call_player_browser)
    review_fixture.make_hostile(path)
    return path


@pytest.fixture(scope="module")
def app_url(warehouse: Path) -> Iterator[str]:
    with served_app(warehouse) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as opened:
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
    assert scripts_ran(page) == []
    screenshot(page, "review-hostile-transcript")


# Every message the app sends the page, as text (protobuf keeps strings as UTF-8), to see what a run re-sent.
RECEIVED = """(() => {
  window.__received = [];
  const Native = window.WebSocket;
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener("message", (event) => {
      const data = event.data;
      if (data instanceof ArrayBuffer) window.__received.push(new TextDecoder().decode(data));
      else if (data instanceof Blob) data.text().then((text) => window.__received.push(text));
      else window.__received.push(String(data));
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})()"""


def name_reviewer(page: Page, name: str) -> None:
    reviewer = page.get_by_role("textbox", name="Reviewer")
    reviewer.fill(name)
    reviewer.press("Enter")
    settle(page)
    page.locator("h1").first.click()  # the focus back on the page


def received_during(page: Page, press: str) -> str:
    page.evaluate("window.__received = []")
    page.keyboard.press(press)
    page.wait_for_timeout(200)
    settle(page)
    return "\n".join(page.evaluate("window.__received"))


def checked(page: Page) -> list[str]:
    return page.locator(".st-key-scoring [role=radio][aria-checked=true]").all_inner_texts()


def test_a_score_key_reruns_the_form_and_not_the_call_beside_it(page: Page, app_url: str) -> None:
    page.add_init_script(RECEIVED)
    start_review(page, app_url, size=3)
    name_reviewer(page, "Priya")
    words = "[**Caller**]"  # in the Markdown of every caller's line the transcript sends
    assert page.locator(".st-key-scoring").get_by_text("Keys:").is_visible(), "the keys are shown on screen"

    sent = received_during(page, "4")
    assert checked(page) == ["4"]
    assert "Score (1 = bad, 5 = great)" in sent, "the form was re-sent"
    assert words not in sent, "a score reran the transcript"
    sent = received_during(page, "p")
    assert checked(page) == ["4", "Pass"] and words not in sent

    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    assert words in received_during(page, "ArrowLeft"), "moving between calls redraws the call (the check works)"


def test_the_arrows_move_between_calls_wherever_the_focus_is_but_in_a_text_field(page: Page, app_url: str) -> None:
    """After a click on a score or a verdict, → moved the focus to the next option and the call stayed;
    on the test-case checkbox the navigation's shortcuts ignored it. In the notes, ← → move the cursor."""
    start_review(page, app_url, size=3)
    scoring = page.locator(".st-key-scoring")
    scoring.get_by_role("radio", name="2", exact=True).click()
    settle(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    scoring.get_by_role("radio", name="Pass", exact=True).click()
    settle(page)
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("h1:has-text('Call 1 of 3')")
    settle(page)
    assert checked(page) == ["2"], "the arrow moved on without choosing another option"
    scoring.get_by_text("Make this a test case").click()
    settle(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    notes = page.get_by_role("textbox", name="Notes")
    notes.fill("ab")
    notes.press("ArrowLeft")
    notes.press("ArrowRight")
    page.wait_for_timeout(500)
    settle(page)
    assert "Call 2 of 3" in call_title(page) and notes.evaluate("el => el === document.activeElement")
    page.get_by_role("button", name="+ New failure mode").click()
    owners = page.get_by_role("radiogroup", name="Who owns it")
    owners.get_by_role("radio").first.focus()  # the first owner, chosen as the popover opens
    page.keyboard.press("ArrowRight")  # a plain radio button's arrows choose its next option
    settle(page)
    assert owners.get_by_role("radio").nth(1).is_checked() and "Call 2 of 3" in call_title(page)


def test_keys_do_nothing_while_typing_notes_then_score_and_save(page: Page, app_url: str, warehouse: Path) -> None:
    start_review(page, app_url, size=3)
    name_reviewer(page, "Tom")
    page.keyboard.press("n")
    notes = page.get_by_role("textbox", name="Notes")
    assert notes.evaluate("el => el === document.activeElement"), "N puts the cursor in the notes"
    page.keyboard.type("p5fs: quoted 45 minutes")
    assert notes.input_value() == "p5fs: quoted 45 minutes"
    page.keyboard.press("Escape")
    settle(page)
    assert checked(page) == [] and "Call 1 of 3" in call_title(page), "no key acted while typing"

    for key in ("5", "f"):
        page.keyboard.press(key)
        settle(page)
    page.keyboard.press("s")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    session_id = parse_qs(urlparse(page.url).query)["session"][0]
    saved = reviews.current_reviews(session_id, warehouse).row(0, named=True)
    assert (saved["reviewer"], saved["score"], saved["passed"], saved["notes"]) == (
        "Tom", 5, False, "p5fs: quoted 45 minutes")
    assert checked(page) == [], "the next call starts with an empty form"


def test_a_plain_save_reruns_the_form_and_the_headers_count_not_the_call(page: Page, app_url: str) -> None:
    page.add_init_script(RECEIVED)
    start_review(page, app_url, size=3)
    name_reviewer(page, "Lea")
    header = page.locator(".st-key-review_nav")
    assert header.get_by_text("0 / 3 scored").is_visible() and "✓" not in call_title(page)
    for key in ("3", "p"):
        page.keyboard.press(key)
        settle(page)
    page.evaluate("window.__received = []")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=Saved: 3 / 5, pass, by Lea")
    settle(page)
    assert header.get_by_text("1 / 3 scored").is_visible(), "the count follows a plain Save at once"
    assert call_title(page) == "Call 1 of 3 ✓"
    assert "[**Caller**]" not in "\n".join(page.evaluate("window.__received")), "Save reran the transcript"


def test_every_key_acts_once_even_when_pressed_without_waiting(page: Page, app_url: str, warehouse: Path) -> None:
    """Keys as fast as a keyboard sends them: a score and a verdict pressed while the form is still
    rerunning, and the next call's pressed while the page is still drawing it after S. A key that acts
    on the form being replaced, or on none, is lost: its call is then saved without it (or not at all)."""
    start_review(page, app_url, size=4)
    name_reviewer(page, "Kim")
    pressed = [(2, False), (5, True), (3, False), (4, True)]
    for score, passed in pressed:
        page.keyboard.press(str(score))
        page.keyboard.press("p" if passed else "f")
        page.keyboard.press("s")
    with contextlib.suppress(PlaywrightTimeout):  # keys lost: the comparison below says on which calls
        page.locator(".st-key-review_nav").get_by_text("4 / 4 scored").wait_for(timeout=20_000)
    settle(page)
    session_id = parse_qs(urlparse(page.url).query)["session"][0]
    order = reviews.get_session(session_id, warehouse).call_ids
    saved = {row["call_id"]: (row["score"], row["passed"])
             for row in reviews.current_reviews(session_id, warehouse).iter_rows(named=True)}
    assert [saved.get(call_id) for call_id in order] == pressed
