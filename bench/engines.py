"""The overview's queries on each engine at scale: the DuckDB file, DuckDB over the Parquet lake,
and PySpark local over the lake. Builds bench/overview.py's warehouse of N calls (default
1,000,000), exports the lake (first, again with no change, then after one new day), and times
`warehouse.queries.overview` for a 90-day period on each engine.

    .venv/bin/python bench/engines.py [--calls 1000000] [--repeat 5]

Prints medians and ratios against the DuckDB file, measured in the same run. Spark's session
start (the JVM) is timed on its own and left out of its median, as a running app pays it once.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from overview import DAYS, LAST_DAY, build, median_seconds

from warehouse import db, engines, lake, queries
from warehouse.filters import Filters

ENGINE_NAMES = {"duckdb": "DuckDB file", "lake": "DuckDB over the lake", "spark": "Spark local[2] over the lake"}


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def add_a_day(path: Path) -> None:
    """The next day's calls and turns, copied from the last day: what a nightly export meets."""
    with db.connect(path) as con:
        for table in ("calls", "turns"):
            con.execute(
                f"INSERT INTO {table} SELECT * REPLACE ('next-' || call_id AS call_id, day + 1 AS day)"
                f" FROM {table} WHERE day = ?",
                [LAST_DAY],
            )


def folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path, root = Path(folder) / "bench.duckdb", Path(folder) / "lake"
        built = seconds(lambda: build(path, args.calls))
        print(f"built {args.calls:,} calls in {built:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
        os.environ.update(CALLBOARD_DB=str(path), CALLBOARD_LAKE=str(root))

        first = seconds(lambda: lake.export(root, path))
        print(f"export-lake, first: {first:.1f} s ({folder_mib(root):.0f} MiB of Parquet)")
        print(f"export-lake, nothing changed: {seconds(lambda: lake.export(root, path)):.1f} s")
        add_a_day(path)
        print(f"export-lake, one new day: {seconds(lambda: lake.export(root, path)):.1f} s")

        filters = Filters(LAST_DAY - timedelta(days=DAYS - 1), LAST_DAY)
        print(f"spark session start: {seconds(engines.spark_session):.1f} s")
        engines.spark_session().sparkContext.setLogLevel("ERROR")
        medians = {}
        for engine in ENGINE_NAMES:
            os.environ["CALLBOARD_ENGINE"] = engine
            medians[engine] = median_seconds(lambda: queries.overview(filters), args.repeat)
        engines.stop_spark()

        print(f"overview queries, 90 days, both periods + daily trend, median of {args.repeat} runs:")
        for engine, name in ENGINE_NAMES.items():
            print(f"  {name:<30} {medians[engine]:7.3f} s  {medians[engine] / medians['duckdb']:6.2f}x the DuckDB file")


if __name__ == "__main__":
    main()
