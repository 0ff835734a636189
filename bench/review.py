"""How fast is a weekly review in the meeting? Plays a whole review in Chromium, scored by keyboard.

    .venv/bin/python bench/review.py [--db var/callboard.duckdb] [--calls 50]

Serves the app (`streamlit run`, as `make run` does) on a copy of the demo warehouse (so the demo
keeps no bench reviews), opens the Weekly review at 1280x720 (a meeting-room projector), draws a
session of `--calls` calls and, for each call, presses 1–5 (score), P or F (verdict), on every
fifth call N, a note and Esc (notes), then S (save and next). It prints the median per interaction:

- score / verdict / notes: from the key press until the form has rerun (Streamlit idle again);
- save and next: from S until the next call's title and the first words of its transcript show;
- whole page (baseline, measured in the same run): after the review, ← back through the last ten
  calls, each a run of the whole page for a call already read (cached): what every click cost when
  each one reran the whole page. Ratios are interaction ÷ baseline.

Keys go a moment (PAUSE_MS) after the screen settles, as a person's would. A key that starts no run
within 5 s is counted and left out of the medians: now and then Streamlit's frontend shows a control's
change without sending it at once (it then travels with the next run), and the count says how often.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from tests.served_app import chromium, served_app, settle, start_review  # noqa: E402
from warehouse.db import connect  # noqa: E402

WIDTH, HEIGHT = 1280, 720
PAUSE_MS = 700  # between one interaction's end and the next key
SCORES = "34251"  # cycled through the calls: every score is used
# Marks the page's script runs: the time of every change of Streamlit's run state, and of the last key.
WATCH = """() => {
  window.__runs = []; window.__key = 0;
  document.addEventListener('keydown', () => { window.__key = performance.now(); }, true);
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver(() => window.__runs.push([performance.now(), app.getAttribute('data-test-script-state')]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
RAN_SINCE_KEY = """() => {
  const since = window.__runs.filter(([t]) => t >= window.__key);
  return since.some(([, s]) => s === 'running') && since.length && since[since.length - 1][1] === 'notRunning'
    ? since[since.length - 1][0] - window.__key : null;
}"""


def first_words(db: Path, session_name: str) -> list[str]:
    """The first words of each drawn call's first turn, in the session's order (to see it arrive)."""
    with connect(db) as con:  # waits while the app holds the file
        rows = con.execute(
            """SELECT (SELECT t.text FROM turns t WHERE t.call_id = s.call_id ORDER BY t.turn_index LIMIT 1)
               FROM review_samples s JOIN review_sessions r USING (session_id)
               WHERE r.name = ? ORDER BY s.position""", [session_name]).fetchall()
    return [" ".join((text or "").split()[:3]) for (text,) in rows]


def _form_rerun(page, press: str, missed: list[str]) -> float | None:
    """Press `press` and return the milliseconds until the script run it caused has finished; None
    (and `press` noted in `missed`) when it started no run within 5 s (its change then travels with
    the next key's run)."""
    page.keyboard.press(press)
    try:
        page.wait_for_function(RAN_SINCE_KEY, timeout=5_000)
    except PlaywrightTimeout:
        missed.append(press)
        return None
    took = page.evaluate(RAN_SINCE_KEY)
    settle(page)
    page.wait_for_timeout(PAUSE_MS)  # as a person would: the next key a moment after the screen settled
    return took


def _save_and_next(page, at: int, total: int, words: str) -> float:
    page.keyboard.press("s")
    page.wait_for_selector(f"h1:has-text('Call {at} of {total}')", timeout=60_000)
    page.locator(".st-key-transcript, iframe[title*=call_player]").first.wait_for(timeout=60_000)
    if words:
        page.get_by_text(words, exact=False).first.wait_for(timeout=60_000)
    took = page.evaluate("() => performance.now() - window.__key")
    settle(page)
    return took


def _previous(page, at: int, total: int) -> float:
    """Back to call `at` with ←: a run of the whole page, for a call already read (cached)."""
    page.locator("h1").first.click()
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector(f"h1:has-text('Call {at} of {total}')", timeout=60_000)
    page.wait_for_function(RAN_SINCE_KEY, timeout=60_000)
    took = page.evaluate(RAN_SINCE_KEY)
    settle(page)
    return took


def _keep(values: list[float], took: float | None) -> None:
    if took is not None:
        values.append(took)


def play(url: str, db: Path, calls: int) -> tuple[dict[str, list[float]], list[str]]:
    """One whole review, scored by keyboard: milliseconds per interaction, and the keys that had
    to be pressed again."""
    missed: list[str] = []
    timings: dict[str, list[float]] = {"score": [], "verdict": [], "notes": [], "save and next": [],
                                       "whole page (baseline)": []}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.goto(url)
        settle(page)
        start_review(page, url, calls)
        name = page.locator(".st-key-review_nav p").first.inner_text().split("·", 1)[1].strip()
        words = first_words(db, name)
        page.evaluate(WATCH)
        reviewer = page.get_by_role("textbox", name="Reviewer")
        reviewer.fill("Bench")
        reviewer.press("Enter")
        settle(page)
        for at in range(1, calls + 1):
            page.locator("h1").first.click()  # the focus on the page, not in a field
            _keep(timings["score"], _form_rerun(page, SCORES[at % len(SCORES)], missed))
            _keep(timings["verdict"], _form_rerun(page, "p" if at % 3 else "f", missed))
            if at % 5 == 0:
                page.keyboard.press("n")
                page.keyboard.type(f"note on call {at}")
                _keep(timings["notes"], _form_rerun(page, "Escape", missed))
            if at < calls:
                timings["save and next"].append(_save_and_next(page, at + 1, calls, words[at]))
            else:
                _form_rerun(page, "s", missed)
        for at in range(calls - 1, max(calls - 11, 0), -1):
            timings["whole page (baseline)"].append(_previous(page, at, calls))
    return timings, missed


def _copy(db: Path, folder: Path, name: str) -> Path:
    copy = folder / name / db.name
    copy.parent.mkdir()
    shutil.copy(db, copy)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "callboard.duckdb")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-review-") as scratch:
        db = _copy(args.db, Path(scratch), "after")
        load_before = os.getloadavg()[0]
        with served_app(db) as url:
            started = time.perf_counter()
            after, missed = play(url, db, args.calls)
            took = time.perf_counter() - started
    print(f"A review of {args.calls} calls scored by keyboard at {WIDTH}x{HEIGHT} ({took:.0f} s in all; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores), medians:")
    if missed:
        print(f"  keys that started no run within 5 s (left out): {len(missed)} ({' '.join(missed)})")
    baseline = statistics.median(after["whole page (baseline)"])
    for name, values in after.items():
        if not values:
            continue
        median = statistics.median(values)
        print(f"  {name:<22} {median:7,.0f} ms  (n={len(values)}, ratio to whole page {median / baseline:.2f})")


if __name__ == "__main__":
    main()
