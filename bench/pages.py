"""What a filter change costs on each page, at 20k and at 1M calls, against a baseline commit measured
in the same run. Builds each warehouse with bench/overview.py's `build` (once: kept in
/work/bench-cache/, see `bench.overview.built`), then times the reads a
page makes when a sidebar filter changes (its cached reads miss: new filters, new key):

    .venv/bin/python bench/pages.py [--calls 20000 1000000] [--repeat 3] [--baseline-ref REF] [--app-memory]

For each page, the median over `repeat` passes through four filter changes (28 days; one agent; one
model; 90 days), for this tree and for `--baseline-ref` (default main) checked out in a temporary
`git worktree`; each tree runs in its own process on the same warehouse file, and the ratio is this
tree's median over the baseline's. Pages whose reads do not depend on the sidebar (Review calls,
Review summary, Judges, Failure-mode list, Prompt versions, Ingest, Export) are not listed; Drift
is bench/drift's. With --app-memory, it serves this tree's app on the last warehouse built, opens
every page in headless Chromium (bench/overview.py's `app_peak_memory_mib`) and prints the server's
peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("Overview", "Compare versions", "Failure modes", "Judge calibration", "Calls")


def _reads(page: str) -> Callable | None:
    """The reads `page` makes for one set of filters, from whichever tree is first on sys.path;
    None when that tree has no such page."""
    from warehouse import ab, calibration_queries, explorer, queries

    def compare(f) -> None:
        ab.compare(replace(f, models=("gpt-4.1",)), replace(f, models=("gpt-4.1-mini",)))

    def failure_modes(f) -> None:
        explorer.explore(f, "judge")
        calibration(f)

    def calibration(f) -> None:
        versions = calibration_queries.versions_to_calibrate()
        calibration_queries.calibration_table(f, versions["judge_version"][0])

    def calls(f) -> None:
        call_search.search_calls(f, call_search.CallSearch())

    try:
        from warehouse import call_search
    except ImportError:
        call_search = None
    reads = {"Overview": queries.overview, "Compare versions": compare, "Failure modes": failure_modes,
             "Judge calibration": calibration, "Calls": calls if call_search else None}  # fmt: skip
    return reads[page]


def time_reads(repeat: int) -> dict[str, float | None]:
    """Each page's median seconds per filter change, in this process (CALLBOARD_DB set)."""
    from bench.overview import DAYS, LAST_DAY
    from warehouse.filters import Filters

    recent = Filters(LAST_DAY - timedelta(days=27), LAST_DAY)
    changes = [recent, replace(recent, agents=("clinic-scheduler",)), replace(recent, models=("gpt-4.1",)),
               Filters(LAST_DAY - timedelta(days=DAYS - 1), LAST_DAY)]  # fmt: skip
    medians: dict[str, float | None] = {}
    for page in PAGES:
        read = _reads(page)
        if read is None:
            medians[page] = None
            continue
        read(changes[-1])  # warm the OS page cache and DuckDB's metadata once
        times = []
        for _ in range(repeat):
            for f in changes:
                started = time.perf_counter()
                read(f)
                times.append(time.perf_counter() - started)
        medians[page] = statistics.median(times)
    return medians


def _run_in(tree: Path, warehouse: Path, repeat: int) -> dict[str, float | None]:
    """time_reads in a process of its own whose `warehouse` package is `tree`'s."""
    code = (f"import sys, json; sys.path[:0] = [{str(tree)!r}, {str(ROOT)!r}]; import warehouse; "
            f"from bench.pages import time_reads; print(json.dumps(time_reads({repeat})))")  # fmt: skip
    env = {**os.environ, "CALLBOARD_DB": str(warehouse), "PYTHONPATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print(calls: int, now: dict, before: dict, ref: str) -> None:
    print(f"\n{calls:,} calls: median seconds per filter change (this tree | {ref} | ratio)")
    for page in PAGES:
        if now[page] is None:
            continue
        then = before.get(page)
        ratio = f"{now[page] / then:.2f}x" if then else "—"
        print(f"  {page:<18} {now[page]:7.3f} | {then if then is None else round(then, 3)!s:>7} | {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[20_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-ref", default="main")
    parser.add_argument("--app-memory", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.drift import PAGES as EVERY_PAGE
    from bench.overview import LAST_DAY, app_peak_memory_mib, built
    from warehouse.filters import Filters

    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline_ref], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        try:
            for calls in args.calls:
                started = time.perf_counter()
                warehouse = built(calls)
                print(f"{calls:,} calls ready in {time.perf_counter() - started:.1f} s: {warehouse}")
                now, before = _run_in(ROOT, warehouse, args.repeat), _run_in(baseline, warehouse, args.repeat)
                _print(calls, now, before, args.baseline_ref)
            if args.app_memory:
                peak = app_peak_memory_mib(warehouse, Filters(LAST_DAY - timedelta(days=27), LAST_DAY), EVERY_PAGE)
                print(f"\napp peak memory, every page opened at {args.calls[-1]:,} calls: {peak:.0f} MiB")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
