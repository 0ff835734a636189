"""How fast is the overview at scale? Builds a warehouse of N calls (default 1,000,000) straight in
SQL, then times the overview's queries for a 90-day period.

    .venv/bin/python bench/overview.py [--calls 1000000] [--repeat 7] [--app-memory]

The warehouse is built once and kept in /work/bench-cache/ (`built`).

Prints the median of the overview's queries (every owned metric for the period and the period
before, and the daily trend), and as a baseline, measured in the same run, one hand-written DuckDB
statement computing the current period's figures: the ratio is what the engine-neutral (ibis)
definitions cost over raw SQL. With --app-memory it also serves the app on that warehouse, opens
the overview in headless Chromium and reports the app process's peak memory.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warehouse import db, queries  # noqa: E402
from warehouse.conversation_loading import store_conversation  # noqa: E402
from warehouse.filters import Filters  # noqa: E402

LAST_DAY = date(2026, 11, 22)
DAYS = 90


def build(path: Path, calls: int) -> None:
    """Calls spread over 90 days, 8 turns each (4 agent replies), an outcome for every call, a
    survey for a quarter, and a judgement for one call in twenty."""
    with db.connect(path) as con:
        first = LAST_DAY - timedelta(days=DAYS - 1)
        con.execute("SELECT setseed(0.42)")
        con.execute(
            """
            INSERT INTO calls
            SELECT printf('call-%08d', i), printf('%032x', i),
                   ['clinic-scheduler', 'estate-qualifier', 'salon-booker'][1 + i % 3],
                   ['v1', 'v2'][1 + (i // 7) % 2], ['gpt-4.1', 'gpt-4.1-mini', 'claude-haiku-4-5'][1 + (i // 3) % 3],
                   ts, ts + INTERVAL 3 MINUTE, ts::DATE, 180000, 8, 30, (random() < 0.04)::INT,
                   4000, 400, random() * 0.2, NULL, 'otlp', ts, NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM (SELECT range AS i,
                         ?::TIMESTAMP + to_microseconds((random() * ? * 86400e6)::BIGINT) AS ts
                  FROM range(?))
            """,
            [first, DAYS, calls],
        )
        con.execute(
            """
            INSERT INTO turns
            SELECT call_id, k, CASE WHEN k % 2 = 0 THEN 'agent' ELSE 'customer' END, 'text',
                   started_at + to_seconds(k * 20), started_at + to_seconds(k * 20 + 15), day,
                   CASE WHEN k % 2 = 0 AND k > 0 THEN (400 + random() * 2500)::INT END
            FROM calls, range(8) AS r(k)
            """
        )
        store_conversation(con)  # each call's conversation columns, as ingest stores them
        con.execute(
            """
            INSERT INTO outcomes (outcome_id, call_id, external_key, source, recorded_at, booked, resolved)
            SELECT 'crm-' || call_id, call_id, call_id, 'crm', ended_at, random() < 0.5, random() < 0.7 FROM calls
            """
        )
        con.execute(
            """
            INSERT INTO outcomes (outcome_id, call_id, external_key, source, recorded_at, nps)
            SELECT 'survey-' || call_id, call_id, call_id, 'survey', ended_at, (random() * 10)::INT
            FROM calls WHERE random() < 0.25
            """
        )
        con.execute(
            """
            INSERT INTO judgements (judgement_id, call_id, judge_name, judge_version, provider, status, score,
                                    passed, hallucination, created_at)
            SELECT 'j-' || call_id, call_id, 'rules', 'bench', 'rules', 'ok', 1 + (random() * 4)::INT,
                   random() < 0.8, random() < 0.05, ended_at
            FROM calls WHERE random() < 0.05
            """
        )
        con.execute("CHECKPOINT")


CACHE = Path(os.environ.get("CALLBOARD_BENCH_CACHE", "/work/bench-cache"))


def built(calls: int) -> Path:
    """`build`'s warehouse of `calls` calls, built once and kept in CACHE (`CALLBOARD_BENCH_CACHE`),
    named by a hash of `build`'s source so a changed generator builds anew. Readers share it:
    benchmarks only read it (opening it applies any newer migration, in place)."""
    version = hashlib.sha256(inspect.getsource(build).encode()).hexdigest()[:10]
    path = CACHE / f"overview-{calls}-{version}.duckdb"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        build(partial, calls)
        partial.rename(path)  # whole or not at all: a killed build leaves no half warehouse behind
    return path


BASELINE_SQL = """
WITH c AS (SELECT * FROM calls WHERE day BETWEEN ? AND ?),
o AS (SELECT call_id, max(booked) AS booked, max(nps) AS nps, max(resolved) AS resolved
      FROM outcomes WHERE call_id IS NOT NULL GROUP BY call_id)
SELECT count(*), avg(booked::INT), avg((nps >= 9)::INT) - avg((nps <= 6)::INT), avg(resolved::INT),
       avg((error_count > 0)::INT), sum(cost_usd) / count(*),
       (SELECT quantile_cont(response_latency_ms, [0.5, 0.95]) FROM turns
        WHERE day BETWEEN ? AND ? AND speaker = 'agent' AND response_latency_ms IS NOT NULL)
FROM c LEFT JOIN o USING (call_id)
"""


def median_seconds(run, repeat: int) -> float:
    run()  # warm the OS page cache and DuckDB's metadata once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def app_peak_memory_mib(path: Path, filters: Filters, pages: tuple[str, ...] = ()) -> float:
    """Serve the app on `path`, open the overview in headless Chromium, then each of `pages` (their
    url paths), and return the server's peak RSS."""
    from playwright.sync_api import sync_playwright

    port = "8765"
    env = {**os.environ, "CALLBOARD_DB": str(path)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", port],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            for _ in range(100):
                try:
                    page.goto(f"http://localhost:{port}/?start={filters.start}&end={filters.end}")
                    break
                except Exception:
                    time.sleep(0.2)
            page.get_by_text("Cost per call").wait_for(timeout=120_000)
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
            for name in pages:
                page.goto(f"http://localhost:{port}/{name}?start={filters.start}&end={filters.end}")
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=600_000)
            browser.close()
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        return peak_kib / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--app-memory", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    path = built(args.calls)
    print(f"{args.calls:,} calls ready in {time.perf_counter() - started:.1f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB): {path}")
    os.environ["CALLBOARD_DB"] = str(path)
    filters = Filters(LAST_DAY - timedelta(days=DAYS - 1), LAST_DAY)
    previous = filters.previous()

    overview = median_seconds(lambda: queries.overview(filters), args.repeat)

    def baseline() -> None:
        with db.connect(path) as con:
            con.execute(BASELINE_SQL, [filters.start, filters.end, filters.start, filters.end]).fetchall()
            con.execute(BASELINE_SQL, [previous.start, previous.end, previous.start, previous.end]).fetchall()

    raw = median_seconds(baseline, args.repeat)
    print(f"overview queries, 90 days, both periods + daily trend: median {overview:.3f} s "
          f"over {args.repeat} runs")
    print(f"baseline, hand-written DuckDB SQL for both periods' figures: median {raw:.3f} s")
    print(f"ratio overview / baseline: {overview / raw:.2f}x")
    if args.app_memory:
        print(f"app peak memory serving the overview: {app_peak_memory_mib(path, filters):.0f} MiB")


if __name__ == "__main__":
    main()
