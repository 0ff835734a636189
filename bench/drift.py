"""How fast is the drift page at scale, and how much memory does it take? Builds bench/overview.py's
warehouse of N calls (default 20,000 and 1,000,000) and times what the Cost & latency drift page
reads when a filter changes, now and before the flags were pushed into the engine.

    .venv/bin/python bench/drift.py [--calls 20000,1000000] [--repeat 5] [--db PATH] [--app-memory]

Now: `drift_history` (8 weeks of flags from per-day and per-week summaries the engine computes),
`drift_trends` and `wait_stages_by_week`. Before (the baseline, measured in the same run): the
same reads of commit f090d3f, the last before the flags moved into the engine, checked out in a
temporary `git worktree` and run in a child process: `drift_flags` (one week, every reply, step
and call pulled into polars and split by group and week in Python) and `drift_trends`. Each side
runs in its own process, which also reports its peak memory. Prints medians and the ratio.
With --db, benches that warehouse (say the 20k demo) instead of building one. With --app-memory,
serves the app on the last warehouse built, opens every page in headless Chromium (the drift page
last) and reports the app's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from overview import DAYS, LAST_DAY, app_peak_memory_mib, build

from warehouse.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "f090d3f50c91b4101e830c5458bb4ae996ffaae7"

# Run in a child process with the code to bench first on sys.path: times the page's reads for a
# filter change (nothing cached), prints the times and the process's peak memory as JSON.
CHILD = """
import json, resource, statistics, sys, time
from datetime import date, timedelta
from warehouse.drift import queries
from warehouse.drift.detection import load_thresholds
from warehouse.filters import Filters

repeat, last, days, now = int(sys.argv[1]), date.fromisoformat(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "now"
thresholds = load_thresholds()
filters = Filters(last - timedelta(days=days - 1), last)

def reads():
    if now:
        queries.drift_history(filters, "agent", thresholds)
        queries.wait_stages_by_week(filters)
    else:
        queries.drift_flags(filters, "agent", thresholds)
    queries.drift_trends(filters, "week", "agent")

queries.change_markers()  # read once per session, not per filter change
reads()  # warm the OS page cache and DuckDB's metadata once
times = []
for _ in range(repeat):
    started = time.perf_counter()
    reads()
    times.append(time.perf_counter() - started)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"median": statistics.median(times), "peak_mib": peak}))
"""


def child(code: Path, db: Path, repeat: int, now: bool) -> dict:
    """The page's reads timed in a fresh process that imports the code in `code`."""
    env = {**os.environ, "CALLBOARD_DB": str(db), "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(repeat), LAST_DAY.isoformat(), str(DAYS),
                           "now" if now else "before"], env=env, cwd=code, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the {'current' if now else 'baseline'} reads failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(db: Path, before: Path, repeat: int, label: str) -> None:
    now, then = child(ROOT, db, repeat, now=True), child(before, db, repeat, now=False)
    print(f"{label}: drift page's reads for a filter change, median of {repeat}: "
          f"now {now['median']:.3f} s (8 weeks of flags), before {then['median']:.3f} s (1 week); "
          f"ratio before / now {then['median'] / now['median']:.2f}x")
    print(f"{label}: peak memory of the reading process: now {now['peak_mib']:.0f} MiB, "
          f"before {then['peak_mib']:.0f} MiB")


PAGES = ("review", "review-summary", "calls", "failure-modes", "calibration", "failure-mode-list", "judges", "prompts",
         "compare", "ingest", "export", "drift")  # after the overview


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="20000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="bench this warehouse instead of building one")
    parser.add_argument("--app-memory", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        before = Path(folder) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE], check=True,
                       capture_output=True)
        try:
            if args.db:
                compare(args.db.resolve(), before, args.repeat, args.db.name)
                return
            for calls in (int(n) for n in args.calls.split(",")):
                db = Path(folder) / f"bench-{calls}.duckdb"
                started = time.perf_counter()
                build(db, calls)
                print(f"built {calls:,} calls in {time.perf_counter() - started:.1f} s")
                compare(db, before, args.repeat, f"{calls:,} calls")
            if args.app_memory:
                peak = app_peak_memory_mib(db, Filters(LAST_DAY - timedelta(days=DAYS - 1), LAST_DAY), PAGES)
                print(f"app peak memory, every page visited ({calls:,} calls): {peak:.0f} MiB")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], check=True)


if __name__ == "__main__":
    main()
