"""Does a judge run started from the Judges page slow other people's pages? Times the Overview's
read (every owned metric for a period, as a page render asks for it) idle, then again while a
rules-judge run of the same period goes in the background (judges/background.py), on a demo
warehouse with its judgements cleared.

    .venv/bin/python bench/judge_run_alongside.py [--calls 5000] [--repeat 15]

Prints the median read idle (the baseline, same run), the median and the slowest while the run
goes, their ratio, and how long the run took for how many calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from judges.background import latest_run, start_period_run  # noqa: E402
from warehouse import db, queries  # noqa: E402
from warehouse.filters import Filters  # noqa: E402


def _read_ms(filters: Filters, path: Path) -> float:
    began = time.perf_counter()
    with db.connect(path):  # a page render opens the file: it waits here while the run writes
        pass
    queries.overview(filters)
    return (time.perf_counter() - began) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.duckdb"
        subprocess.run([sys.executable, "-m", "data.demo", "--db", str(path), "--calls", str(args.calls),
                        "--no-audio"], cwd=ROOT, check=True, capture_output=True)
        with db.connect(path) as con:
            con.execute("DELETE FROM judgements")
            first, last = con.execute("SELECT min(day), max(day) FROM calls").fetchone()
        filters = Filters(max(first, last - timedelta(days=27)), last)
        os.environ["CALLBOARD_DB"] = str(path)
        idle = [_read_ms(filters, path) for _ in range(args.repeat)]
        began = time.perf_counter()
        start_period_run("rules", filters.start, filters.end, path)
        during = []
        while (run := latest_run(path)) is not None and run.going:
            during.append(_read_ms(filters, path))
        took = time.perf_counter() - began
    assert run is not None
    base, busy = statistics.median(idle), statistics.median(during)
    print(f"overview read idle:           median {base:7.1f} ms ({len(idle)} reads)")
    print(f"overview read during the run: median {busy:7.1f} ms, slowest {max(during):7.1f} ms ({len(during)} reads)")
    print(f"ratio (during / idle):        {busy / base:.2f}")
    print(f"the run: {run.state}, {run.judged:,} judged, {run.failed:,} failed of {run.to_judge:,} in {took:.1f} s "
          f"(start to last status)")


if __name__ == "__main__":
    main()
