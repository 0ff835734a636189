"""The call player in a real browser (Debian's Chromium via Playwright) on a small demo whose last
week's calls have real synthesized recordings: it plays, a click on a transcript line seeks there,
the highlighted line follows the audio, the keys work without taking ← / → from the review, call
text stays text, and a call without a playable recording shows its transcript alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Frame, Page

from data import audio
from tests import review_fixture
from tests.served_app import screenshot, scripts_ran, served_app, settle, start_review, watched_page

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(bool(audio.missing_tools()),
                                 reason="needs Debian's espeak-ng and ffmpeg (make installs them)")]
PLAYER = "ui.call_player.call_player"


@pytest.fixture(scope="module")
def warehouse(recorded_demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = shutil.copytree(recorded_demo_build, tmp_path_factory.mktemp("player") / "var") / "callboard.duckdb"
    hostile_text, _ = _call(path, "c.recording_url IS NOT NULL", rank=1)
    hostile_path, _ = _call(path, "c.recording_url IS NULL")
    with duckdb.connect(str(path)) as con:  # one call's words try to run a script, one's recording leaves the folder
        con.execute("UPDATE turns SET text = ? WHERE turn_index = 1 AND call_id = ?",
                    [review_fixture.HOSTILE, hostile_text])
        con.execute("UPDATE calls SET recording_url = '../callboard.duckdb' WHERE call_id = ?", [hostile_path])
    return path


@pytest.fixture(scope="module")
def app_url(warehouse: Path) -> Iterator[str]:
    with served_app(warehouse) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser, width=1280, height=720) as opened:
        yield opened


def _call(warehouse: Path, where: str, rank: int = 0) -> tuple[str, str]:
    """The newest call (or the `rank`-th newest) with a failure mode, six turns or more, and `where`:
    one the failure-mode explorer lists, so its call view opens from a URL."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        call_id, day = con.execute(f"""SELECT c.call_id, c.day FROM calls c JOIN judgements j USING (call_id)
                                       WHERE len(j.labels) > 0 AND c.turn_count >= 6 AND {where}
                                       ORDER BY c.call_id DESC LIMIT 1 OFFSET ?""", [rank]).fetchone()
    return call_id, day.isoformat()


def open_call(page: Page, app_url: str, call_id: str, day: str) -> None:
    """The failure-mode explorer's call view, opened on one call through its URL."""
    page.goto(f"{app_url}/failure-modes?start={day}&end={day}&source=judge&call={call_id}")
    settle(page)


def player(page: Page) -> Frame:
    page.wait_for_selector(f"iframe[title='{PLAYER}']", timeout=30_000)
    frame = next(f for f in page.frames if PLAYER in f.url)
    frame.wait_for_function("document.getElementById('audio').readyState >= 3", timeout=30_000)
    return frame


def playing(frame: Frame) -> dict:
    return frame.evaluate("""() => ({time: document.getElementById('audio').currentTime,
        paused: document.getElementById('audio').paused,
        now: [...document.querySelectorAll('.line')].findIndex(l => l.classList.contains('now'))})""")


def turn_starts(warehouse: Path, call_id: str) -> list[float]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""SELECT (epoch_ms(t.started_at) - epoch_ms(c.started_at)) / 1000 FROM turns t
                              JOIN calls c USING (call_id) WHERE call_id = ? ORDER BY turn_index""", [call_id])
        return [r[0] for r in rows.fetchall()]


def test_play_seek_by_a_line_and_the_highlight_follows(page: Page, app_url: str, warehouse: Path) -> None:
    call_id, day = _call(warehouse, "c.recording_url IS NOT NULL")
    open_call(page, app_url, call_id, day)
    frame = player(page)
    starts = turn_starts(warehouse, call_id)
    assert frame.locator(".line").count() == len(starts)
    frame.wait_for_function(f"""document.querySelector('#waveform > div').shadowRoot
                                .querySelectorAll("[part~='region']").length > {len(starts)}""")  # turns + waits
    frame.get_by_role("button", name="Play").click()
    frame.wait_for_function("document.getElementById('audio').currentTime > 0.5")
    assert not playing(frame)["paused"]

    frame.locator(".line").nth(3).click()
    heard = playing(frame)
    assert abs(heard["time"] - starts[3]) < 0.5 and heard["now"] == 3
    frame.wait_for_function("document.querySelectorAll('.line')[4].classList.contains('now')",
                            timeout=int((starts[4] - starts[3]) * 1000) + 5_000)
    after = playing(frame)
    assert after["time"] >= starts[4] - 0.1 and frame.locator(".line.now").count() == 1
    screenshot(page, "call-player-failure-modes-1280")


def test_keys_play_and_skip_turns_and_leave_the_arrows_to_the_review(page: Page, app_url: str,
                                                                     warehouse: Path) -> None:
    start_review(page, app_url, size=3)
    frame = player(page)
    assert "Space play / pause · J next turn · K previous turn" in frame.locator("#keys").inner_text()
    page.locator("h1").first.click()  # the focus is on the page, outside the player
    page.keyboard.press("Space")
    frame.wait_for_function("!document.getElementById('audio').paused")
    page.keyboard.press("Space")
    frame.wait_for_function("document.getElementById('audio').paused")
    page.keyboard.press("j")
    first = playing(frame)["now"]
    page.keyboard.press("j")
    assert playing(frame)["now"] == first + 1
    page.keyboard.press("k")
    assert playing(frame)["now"] == first >= 0
    frame.locator(".line").nth(0).click()  # the focus is now inside the player's frame
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    assert player(page).locator(".line").count() > 0
    player(page).locator(".line").nth(0).click()
    for key in ("3", "f"):  # the scoring keys reach the form around the player too
        page.keyboard.press(key)
        settle(page)
    assert page.locator(".st-key-scoring [role=radio][aria-checked=true]").all_inner_texts() == ["3", "Fail"]
    screenshot(page, "call-player-presenter-1280")


def test_the_arrows_move_between_calls_after_a_scoring_key_pressed_in_the_player(page: Page, app_url: str) -> None:
    """A scoring key pressed while the player (a line, the waveform) had the focus left → and ← dead:
    the page's shortcuts saw that key go down and never come up, so they took → for a chord."""
    start_review(page, app_url, size=3)
    player(page).locator(".line").nth(0).click()
    page.keyboard.press("3")
    settle(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("h1:has-text('Call 2 of 3')")
    settle(page)
    player(page).locator("#waveform").click()
    for key in ("5", "p", "ArrowLeft"):
        page.keyboard.press(key)
        settle(page)
    page.wait_for_selector("h1:has-text('Call 1 of 3')")
    settle(page)
    assert page.locator(".st-key-scoring [role=radio][aria-checked=true]").all_inner_texts() == ["3"], \
        "call 1 keeps its draft, and the keys pressed on call 2 stayed there"


def test_call_text_in_the_player_stays_text(page: Page, app_url: str, warehouse: Path) -> None:
    call_id, day = _call(warehouse, "c.recording_url IS NOT NULL", rank=1)
    open_call(page, app_url, call_id, day)
    frame = player(page)
    assert frame.locator(".line").nth(1).locator(".text").inner_text() == review_fixture.HOSTILE
    assert frame.locator("img").count() == 0 and frame.locator("#transcript script").count() == 0
    assert frame.evaluate("window.__pwned") is None and page.evaluate("window.__pwned") is None
    assert scripts_ran(page) == []


@pytest.mark.parametrize(("where", "caption"), [
    ("c.recording_url IS NULL", None),
    ("c.recording_url = '../callboard.duckdb'", "The recording lies outside the recordings folder"),
])
def test_a_call_without_a_playable_recording_shows_its_transcript_alone(
        where: str, caption: str | None, page: Page, app_url: str, warehouse: Path) -> None:
    call_id, day = _call(warehouse, where)
    open_call(page, app_url, call_id, day)
    assert page.locator(".st-key-transcript").get_by_text("Agent", exact=True).count() >= 3
    assert page.locator(f"iframe[title='{PLAYER}']").count() == 0
    if caption:
        assert page.get_by_text(caption).is_visible()
