"""How fast is a weekly review in the meeting? Plays a whole review in Chromium, scored by keyboard.

    .venv/bin/python bench/review.py [--db var/callboard.duckdb] [--calls 50] [--root DIR]

Serves the app (`streamlit run`, as `make run` does; `--root` serves another checkout, e.g. one made
with `git archive main`, to compare) on a copy of the warehouse (so it keeps no bench reviews), opens
the Weekly review at 1280x720 (a meeting-room projector), draws a session of `--calls` calls and, for
each call, presses 1–5 (score) and P or F (verdict); on every fifth call it also tags a failure mode
(mouse), presses N, types a note and Esc, and on another fifth clicks Save before moving on; then S
(save and next). It prints the median per interaction:

- score / verdict / failure mode / notes (Esc) / save: from the key press (or the click) until the
  form's run has ended and its last message is on screen;
- notes focus: from N until the cursor is in the notes;
- save and next: from S until the next call's title and the first words of its transcript show;
- whole page (baseline, measured in the same run): after the review, ← back through the last ten
  calls, each a run of the whole page for a call already read (cached): what every click cost when
  each one reran the whole page. Ratios are interaction ÷ baseline.

A run is seen in the messages the app sends the browser (bench/app_runs.py), not in the page's
"running" flag: a form that reruns in a few milliseconds can finish before the browser ever draws
that flag. A key is lost when it sends the app nothing within 5 s; at the end every call's saved
review is checked against the keys pressed for it (a key acted on, then lost, shows there), and the
header's "N / M scored" is checked after every Save. Keys go a moment (PAUSE_MS) after the screen
settles, as a person's would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import Page  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from bench.app_runs import WATCH, wait_for_answer  # noqa: E402
from tests.served_app import chromium, served_app, settle, start_review  # noqa: E402
from warehouse.db import connect  # noqa: E402

WIDTH, HEIGHT = 1280, 720
PAUSE_MS = 700  # between one interaction's end and the next key
QUIET_MS = 250  # no message from the app for this long after a run ended: the interaction is over
SCORES = "34251"  # cycled through the calls: every score is used
REVIEWER = "Bench"
# Before S: look, frame by frame, for the next call's title and words from its transcript (in the
# page, or in the player's frame when the call has a recording), drawn by this run (not stale); the
# time of the first frame that has them, from the key.
EXPECT = """([title, words]) => {
  window.__shown = null;
  const players = () => Array.from(document.querySelectorAll('iframe[title*=call_player]'),
                                   (frame) => frame.contentDocument && frame.contentDocument.body);
  const texts = () => [document.querySelector('.st-key-transcript'), ...players()];
  const stale = '[data-stale="true"] h1, .st-key-transcript [data-stale="true"]';
  const there = () => {
    const h1 = document.querySelector('h1');
    if (!h1 || !h1.textContent.includes(title) || document.querySelector(stale)) return false;
    return !words || texts().some((el) => el && el.textContent.includes(words));
  };
  const look = () => {
    if (there()) window.__shown = performance.now() - window.__key;
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}"""
NOTES_FOCUSED = """() => {
  const el = document.activeElement;
  return el && el.matches('[class*="st-key-rv_notes_"] textarea') ? performance.now() - window.__key : null;
}"""


@dataclass
class Review:
    """What one played review measured and what it found wrong."""
    timings: dict[str, list[float]] = field(default_factory=lambda: {
        "score": [], "verdict": [], "failure mode": [], "notes focus": [], "notes (Esc)": [], "save": [],
        "save and next": [], "whole page (baseline)": []})
    lost: list[str] = field(default_factory=list)  # keys (or clicks) that sent the app nothing
    twice: list[str] = field(default_factory=list)  # presses that sent it more than one message
    stale_header: list[int] = field(default_factory=list)  # calls whose "N / M scored" missed a plain Save
    pressed: dict[int, tuple[int, bool]] = field(default_factory=dict)  # position: (score, passed) pressed


def drawn_calls(db: Path, session_id: str) -> list[tuple[str, str]]:
    """Each drawn call's id and words from its transcript (the first six of its longest turn: a call's
    first words are often the same greeting), in the session's order, to see it arrive. By the
    session's id: the demo's own sessions may bear the same name ("Week 47, 2026")."""
    with connect(db) as con:  # waits while the app holds the file
        rows = con.execute(
            """SELECT s.call_id, (SELECT t.text FROM turns t WHERE t.call_id = s.call_id
                                  ORDER BY length(t.text) DESC, t.turn_index LIMIT 1)
               FROM review_samples s WHERE s.session_id = ? ORDER BY s.position""", [session_id]).fetchall()
    return [(call_id, " ".join((text or "").split()[:6])) for call_id, text in rows]


def _answered(page: Page, what: str, review: Review, name: str | None) -> None:
    """Wait for the app's answer to the last press and keep its time under `name`; a press that sent
    nothing within 5 s is lost."""
    try:
        answer = wait_for_answer(page, QUIET_MS, 5_000)
    except PlaywrightTimeout:
        review.lost.append(what)
        settle(page)
        return
    if answer["sent"] > 1:
        review.twice.append(what)
    if name is not None:
        review.timings[name].append(answer["took"])
    settle(page)
    page.wait_for_timeout(PAUSE_MS)  # as a person would: the next key a moment after the screen settled


def _key(page: Page, key: str, name: str, review: Review) -> None:
    page.keyboard.press(key)
    _answered(page, key, review, name)


def _tag_a_mode(page: Page, review: Review) -> None:
    page.get_by_role("combobox", name="Failure modes").click()
    page.get_by_role("option").first.click()  # the press that counts
    _answered(page, "failure mode", review, "failure mode")
    page.keyboard.press("Escape")  # the list closes
    page.locator("h1").first.click()


def _notes(page: Page, at: int, review: Review) -> None:
    page.keyboard.press("n")
    try:
        review.timings["notes focus"].append(page.wait_for_function(NOTES_FOCUSED, timeout=5_000).json_value())
    except PlaywrightTimeout:
        review.lost.append("n")
        return
    page.keyboard.type(f"note on call {at}")
    _key(page, "Escape", "notes (Esc)", review)


def _save(page: Page, review: Review, at: int, total: int) -> None:
    page.locator(".st-key-rv_save button").click()
    _answered(page, "Save", review, "save")
    scored = len(review.pressed)
    if not page.locator(".st-key-review_nav").get_by_text(f"{scored} / {total} scored").is_visible():
        review.stale_header.append(at)


def _save_and_next(page: Page, at: int, total: int, words: str, review: Review) -> None:
    """S, timed in the page itself (not by this script's polling, which adds its own delay) to the
    first frame that shows call `at`'s title and its transcript."""
    page.evaluate(EXPECT, [f"Call {at} of {total}", words])
    page.keyboard.press("s")
    review.timings["save and next"].append(page.wait_for_function("() => window.__shown", timeout=60_000).json_value())
    settle(page)


def _previous(page: Page, at: int, total: int, review: Review) -> None:
    """Back to call `at` with ←: a run of the whole page, for a call already read (cached)."""
    page.locator("h1").first.click()
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"h1:has-text('Call {at} of {total}')", timeout=60_000)
    _answered(page, "ArrowLeft", review, "whole page (baseline)")


def _score(page: Page, at: int, total: int, words: list[str], review: Review) -> None:
    """Call `at`: score, verdict, on some calls a mode, a note and a plain Save; then save and next."""
    page.locator("h1").first.click()  # the focus on the page, not in a field
    score, passed = int(SCORES[at % len(SCORES)]), at % 3 != 0
    review.pressed[at] = (score, passed)
    _key(page, str(score), "score", review)
    _key(page, "p" if passed else "f", "verdict", review)
    if at % 5 == 0:
        _tag_a_mode(page, review)
        _notes(page, at, review)
    if at % 5 == 2:
        _save(page, review, at, total)
    if at < total:
        _save_and_next(page, at + 1, total, words[at], review)
    else:
        page.keyboard.press("s")  # the last call: saved, and the page stays on it
        _answered(page, "s", review, None)


def play(url: str, db: Path, calls: int) -> tuple[Review, list[tuple[str, str]]]:
    """One whole review, scored by keyboard; what it measured, and the session's calls."""
    review = Review()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.add_init_script(WATCH)
        page.goto(url)
        settle(page)
        start_review(page, url, calls)
        session_id = parse_qs(urlparse(page.url).query)["session"][0]
        drawn = drawn_calls(db, session_id)
        reviewer = page.get_by_role("textbox", name="Reviewer")
        reviewer.fill(REVIEWER)
        reviewer.press("Enter")
        settle(page)
        for at in range(1, calls + 1):
            _score(page, at, calls, [words for _, words in drawn], review)
        for at in range(calls - 1, max(calls - 11, 0), -1):
            _previous(page, at, calls, review)
    return review, [(session_id, call_id) for call_id, _ in drawn]


def wrong_saves(db: Path, review: Review, drawn: list[tuple[str, str]]) -> list[int]:
    """The calls whose saved score or verdict is not what was pressed for them (or that were not saved)."""
    with connect(db) as con:
        rows = con.execute(
            """SELECT call_id, score, passed FROM reviews WHERE session_id = ? AND reviewer = ?
               QUALIFY row_number() OVER (PARTITION BY call_id ORDER BY created_at DESC) = 1""",
            [drawn[0][0], REVIEWER]).fetchall()
    saved = {call_id: (score, passed) for call_id, score, passed in rows}
    return [at for at, pressed in review.pressed.items() if saved.get(drawn[at - 1][1]) != pressed]


def _copy(db: Path, folder: Path) -> Path:
    copy = folder / db.name
    shutil.copy(db, copy)
    return copy


def report(review: Review, wrong: list[int], calls: int, took: float, load: tuple[float, float]) -> None:
    presses = sum(len(values) for values in review.timings.values()) + len(review.lost)
    print(f"A review of {calls} calls scored by keyboard at {WIDTH}x{HEIGHT} ({took:.0f} s in all; load average "
          f"{load[0]:.1f} before, {load[1]:.1f} after, on {os.cpu_count()} cores), medians:")
    baseline = statistics.median(review.timings["whole page (baseline)"])
    for name, values in review.timings.items():
        if values:
            median = statistics.median(values)
            print(f"  {name:<22} {median:7,.0f} ms  (n={len(values)}, ratio to whole page {median / baseline:.2f})")
    lost = f" ({' '.join(review.lost)})" if review.lost else ""
    print(f"  lost keys: {len(review.lost)} of {presses} presses{lost}; sent twice: {len(review.twice)}; "
          f"calls saved other than pressed: {len(wrong)}"
          f"{' ' + str(wrong) if wrong else ''}; header behind a Save: {len(review.stale_header)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "callboard.duckdb")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-review-") as scratch:
        db = _copy(args.db, Path(scratch))
        load_before = os.getloadavg()[0]
        with served_app(db, root=args.root.resolve()) as url:
            started = time.perf_counter()
            review, drawn = play(url, db, args.calls)
            took = time.perf_counter() - started
        report(review, wrong_saves(db, review, drawn), args.calls, took, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
