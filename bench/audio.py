"""How fast are the demo's recordings made, and how fast does a call open and play in the presenter view?

    .venv/bin/python bench/audio.py [--calls 400] [--days 7] [--review 12] [--baseline-root DIR]

1. Synthesis: builds a small demo whose last `--days` days' calls name recordings, then makes them
   with 1 and with 2 worker processes (data/audio.py) and prints calls per second and seconds of
   call audio per second. Baseline, measured in the same run: espeak-ng alone speaking the same
   utterances once, one process (the floor: no fitting, mixing or encoding).
2. The call view in Chromium: serves the app on that demo, draws a weekly review of `--review`
   calls from the recorded days and walks through them with → in the presenter view, timing for
   each call (a) opening it (from the key press until the call's title shows and Streamlit is idle)
   and (b) its first playable audio (until the page's audio element can play). With
   `--baseline-root` (a checkout of main from before the player, e.g. made with `git archive`), the
   same walk runs on that checkout's app too, on the same warehouse, the two walks taking turns
   call by call, and the ratios after/before are printed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data import audio, demo  # noqa: E402
from tests.served_app import chromium, served_app, settle, start_review  # noqa: E402

PLAYER_FRAME = "call_player"
READY = "el => el.readyState >= 3"


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:,.0f} ms"


def espeak_only(calls: list[audio.CallAudio]) -> float:
    """Seconds for espeak-ng to speak every utterance once at its default rate, one process."""
    started = time.perf_counter()
    for call in calls:
        for utterance in call.utterances:
            voice = audio.AGENT_VOICE if utterance.speaker == "agent" else audio.caller_voice(call.call_id)
            subprocess.run([audio.ESPEAK, "-v", voice, "--stdout", utterance.text], capture_output=True, check=True)
    return time.perf_counter() - started


def synthesis(db: Path, days: int) -> None:
    calls = audio.calls_to_record(db, days)
    seconds_of_audio = sum(call.duration_ms for call in calls) / 1000
    floor = espeak_only(calls)
    print(f"Synthesis of {len(calls)} calls ({seconds_of_audio / 60:.1f} min of call audio):")
    print(f"  baseline, espeak-ng alone (1 process): {floor:.1f} s, {len(calls) / floor:.2f} calls/s")
    folder = db.parent / "recordings"
    for workers in (1, 2):
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        progress = audio.synthesize(db, days, workers)
        took = time.perf_counter() - started
        print(f"  data/audio.py, {workers} worker(s): {took:.1f} s, {progress.done / took:.2f} calls/s, "
              f"{seconds_of_audio / took:.0f}x real time, ratio to baseline {took / floor:.2f}"
              + (f", {progress.failed} failed" if progress.failed else ""))
    size = sum(p.stat().st_size for p in folder.glob("*.ogg"))
    print(f"  on disk: {size / 1e6:.1f} MB, {size * 8 / seconds_of_audio / 1000:.1f} kbit/s, "
          f"{size / len(calls) / 1e3:.0f} kB per call")


def _audio_frames(page) -> list:
    return [f for f in page.frames if f == page.main_frame or PLAYER_FRAME in f.url]


def _sources(page) -> set[str]:
    """The sources of the audio elements that can play now (the call on screen)."""
    found: set[str] = set()
    for frame in _audio_frames(page):
        try:
            found |= set(frame.evaluate(f"[...document.querySelectorAll('audio')].filter({READY})"
                                        ".map(el => el.currentSrc)"))
        except Exception:  # a frame replaced while we looked
            continue
    return found


def _first_playable(page, started: float, before: set[str], timeout_s: float = 30) -> float | None:
    """Seconds from `started` until an audio element with a source other than `before` can play."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _sources(page) - before:
            return time.perf_counter() - started
        time.sleep(0.01)
    return None


def _next_call(page, at: int, review: int) -> tuple[float, float | None]:
    """Press → and time the call's first playable audio and its opening (its title shown and
    Streamlit idle, which includes settle's 300 ms pause, the same for every app)."""
    page.locator("h1").first.click()
    before = _sources(page)
    started = time.perf_counter()
    page.keyboard.press("ArrowRight")
    heard = _first_playable(page, started, before)
    page.wait_for_selector(f"h1:has-text('Call {at} of {review}')")
    settle(page)
    return time.perf_counter() - started, heard


def presenter_walks(urls: dict[str, str], review: int) -> dict[str, tuple[list[float], list[float]]]:
    """The same review walk on each app, call by call in turn (so a busy machine slows all alike):
    per app, seconds to open each call and to its first playable audio."""
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in urls}
    with chromium() as browser:
        pages = {name: browser.new_page(viewport={"width": 1920, "height": 1080}) for name in urls}
        for name, url in urls.items():
            pages[name].goto(url)
            settle(pages[name])
            start_review(pages[name], url, review)
        for at in range(2, review + 1):
            for name, page in pages.items():
                opened, heard = _next_call(page, at, review)
                results[name][0].append(opened)
                if heard is not None:
                    results[name][1].append(heard)
    return results


def call_view(db: Path, review: int, baseline_root: Path | None) -> None:
    """Time the presenter view on this checkout and, when given, on the baseline checkout."""
    folder = db.parent / "recordings"
    with duckdb.connect(str(db)) as con:  # absolute paths, which the old call view also plays
        con.execute("UPDATE calls SET recording_url = ? || '/' || recording_url "
                    "WHERE recording_url IS NOT NULL AND NOT starts_with(recording_url, '/')", [str(folder)])
    roots = {"before (baseline checkout)": baseline_root} if baseline_root else {}
    roots["after (this checkout)"] = ROOT
    with ExitStack() as stack:
        urls = {name: stack.enter_context(served_app(db, root=root)) for name, root in roots.items()}
        results = presenter_walks(urls, review)
    print(f"Presenter view, {review - 1} calls opened with → at 1920x1080 (medians):")
    for name, (opened, playable) in results.items():
        audio_note = f"{_median_ms(playable)} to first playable audio" if playable else "no audio became playable"
        print(f"  {name}: {_median_ms(opened)} to open a call, {audio_note} ({len(playable)}/{len(opened)} calls)")
    if baseline_root:
        (before_open, before_audio), (after_open, after_audio) = results.values()
        paired = statistics.median(a / b for a, b in zip(after_open, before_open, strict=True))
        print(f"  ratio after/before: opening {statistics.median(after_open) / statistics.median(before_open):.2f}"
              f" (median of the per-call ratios {paired:.2f})"
              + (f", first playable audio {statistics.median(after_audio) / statistics.median(before_audio):.2f}"
                 if before_audio and after_audio else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="demo calls over 90 days (default 400)")
    parser.add_argument("--days", type=int, default=7, help="recorded days at the end (default 7)")
    parser.add_argument("--review", type=int, default=12, help="calls in the review walk (default 12)")
    parser.add_argument("--baseline-root", type=Path, help="a checkout of main from before the player")
    parser.add_argument("--skip-synthesis", action="store_true", help="make the recordings once, time only the view")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-audio-") as scratch:
        db = Path(scratch) / "callboard.duckdb"
        demo.build(db, calls=args.calls, recorded_days=args.days)
        if args.skip_synthesis:
            audio.synthesize(db, args.days)
        else:
            synthesis(db, args.days)
        call_view(db, args.review, args.baseline_root)


if __name__ == "__main__":
    main()
