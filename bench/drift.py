"""How fast is the drift page at scale, and how much memory does it take? Times what the Cost & latency
drift page reads when a filter changes (nothing cached), on bench/overview.py's warehouse of N calls
(default 20,000 and 1,000,000; built once and kept, `bench.overview.built`), for this tree and for a
baseline commit, each in its own process, in the same run.

    .venv/bin/python bench/drift.py [--calls 20000,1000000] [--repeat 5] [--db PATH] [--baseline-ref REF]
                                    [--app-memory]

This tree: the flags of 8 weeks with the summaries of the period (`drift_history`, the change
markers read once, as the app caches them), the trends made from them (`trends_from`; with
`failure_trends` before the failures came from the summaries too), and the wait's stages. The
baseline (default: 4440711, main before the trends moved onto the flags' summaries and the
talking-over share onto the calls' stored conversation columns) reads what its page read:
`drift_history`, `drift_trends` and `wait_stages_by_week`, or for a tree older than the flags'
history (f090d3f) `drift_flags` and `drift_trends`. Each process reports its median and its peak
memory; the ratio is baseline / this tree. With --db, benches that warehouse (say the 20k demo)
instead. With --app-memory, serves this tree's app on the last warehouse benched, opens every page
in headless Chromium (the drift page last) and reports the app's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from overview import DAYS, LAST_DAY, app_peak_memory_mib, built

from warehouse.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "4440711"  # main before the trends came from the flags' summaries (issue 17)

# Run in a child process with the code to bench first on sys.path: times the page's reads for a
# filter change (nothing cached but the change markers, which the app reads once), prints the
# median and the process's peak memory as JSON.
CHILD = """
import json, resource, statistics, sys, time
from datetime import date, timedelta
from warehouse.drift import queries
from warehouse.drift.detection import load_thresholds
from warehouse.filters import Filters

repeat, last, days = int(sys.argv[1]), date.fromisoformat(sys.argv[2]), int(sys.argv[3])
thresholds = load_thresholds()
filters = Filters(last - timedelta(days=days - 1), last)
markers = queries.change_markers()  # read once per session, not per filter change

def reads():
    if hasattr(queries, "trends_from"):
        scope = queries.history_filters(filters, thresholds)
        history = queries.drift_history(scope, "agent", thresholds, markers=markers)
        if hasattr(queries, "failure_trends"):
            queries.trends_from(history.summaries, queries.failure_trends(filters, "week"), "week", filters.start)
        else:
            queries.trends_from(history.summaries, "week", filters.start)
    elif hasattr(queries, "drift_history"):
        queries.drift_history(filters, "agent", thresholds)
        queries.drift_trends(filters, "week", "agent")
    else:
        queries.drift_flags(filters, "agent", thresholds)
        queries.drift_trends(filters, "week", "agent")
    if hasattr(queries, "wait_stages_by_week"):
        queries.wait_stages_by_week(filters)

reads()  # warm the OS page cache and DuckDB's metadata once
times = []
for _ in range(repeat):
    started = time.perf_counter()
    reads()
    times.append(time.perf_counter() - started)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"median": statistics.median(times), "peak_mib": peak}))
"""


def child(code: Path, db: Path, repeat: int) -> dict:
    """The page's reads timed in a fresh process that imports the code in `code`."""
    env = {**os.environ, "CALLBOARD_DB": str(db), "PYTHONPATH": str(code)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(repeat), LAST_DAY.isoformat(), str(DAYS)], env=env,
                          cwd=code, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the reads of {code} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(db: Path, baseline: Path, ref: str, repeat: int, label: str) -> None:
    now, then = child(ROOT, db, repeat), child(baseline, db, repeat)
    print(f"{label}: drift page's reads for a filter change, median of {repeat}: "
          f"this tree {now['median']:.3f} s, {ref} {then['median']:.3f} s; "
          f"ratio {ref} / this tree {then['median'] / now['median']:.2f}x")
    print(f"{label}: peak memory of the reading process: this tree {now['peak_mib']:.0f} MiB, "
          f"{ref} {then['peak_mib']:.0f} MiB")


PAGES = ("review", "review-summary", "calls", "failure-modes", "calibration", "failure-mode-list", "judges", "prompts",
         "compare", "ingest", "export", "drift")  # after the overview


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="20000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="bench this warehouse instead of building one")
    parser.add_argument("--baseline-ref", default=BASELINE)
    parser.add_argument("--app-memory", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline_ref],
                       check=True, capture_output=True)
        try:
            warehouses = [(args.db.resolve(), args.db.name)] if args.db else [
                (built(calls), f"{calls:,} calls") for calls in (int(n) for n in args.calls.split(","))]
            for db, label in warehouses:
                compare(db, baseline, args.baseline_ref, args.repeat, label)
            if args.app_memory:
                db, label = warehouses[-1]
                peak = app_peak_memory_mib(db, Filters(LAST_DAY - timedelta(days=DAYS - 1), LAST_DAY), PAGES)
                print(f"app peak memory, every page visited ({label}): {peak:.0f} MiB")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], check=True)


if __name__ == "__main__":
    main()
