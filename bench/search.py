"""How fast does the Calls page find a call? Builds a warehouse of N calls by copying a demo
warehouse's calls (with their turns, spans, outcomes and judgements) under new ids until there
are N, then times `warehouse.call_search.search_calls` over the last 28 days (the page's default
period) for each kind of search.

    .venv/bin/python bench/search.py [--source var/callboard.duckdb] [--calls 1000000] [--repeat 5] [--keep PATH]

The copies keep the demo's words, so a word search reads real transcripts; spans other than a
call's root span are copied without their attributes JSON (the search never reads them) to keep
the file small. Prints each search's median, and as a baseline measured in the same run, the bare
scan every word search rests on (count the calls whose turns in the period hold the words): the
ratio is what the rest of the search (scope, outcome, judgement, conversation figures, the list)
costs on top of that scan.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from overview import median_seconds  # noqa: E402

from warehouse import db  # noqa: E402
from warehouse.call_search import CallSearch, Range, like_pattern, search_calls  # noqa: E402
from warehouse.conversation_loading import store_conversation  # noqa: E402
from warehouse.filters import Filters  # noqa: E402

DAYS = 28
WORDS = "real person"  # said in a few percent of the demo's calls
BASELINE_SQL = """
SELECT count(DISTINCT call_id) FROM turns WHERE day BETWEEN ? AND ? AND text ILIKE ? ESCAPE '\\'"""

# Each table's copy n of a source row: ids made unique with the copy's number.
COPIES = {
    "calls": "call_id || '~' || n AS call_id, trace_id || '~' || n AS trace_id",
    "turns": "call_id || '~' || n AS call_id",
    "spans": "call_id || '~' || n AS call_id, trace_id || '~' || n AS trace_id, span_id || '~' || n AS span_id, "
             "CASE WHEN kind = 'call' THEN attributes END AS attributes",
    "outcomes": "outcome_id || '~' || n AS outcome_id, call_id || '~' || n AS call_id",
    "judgements": "judgement_id || '~' || n AS judgement_id, call_id || '~' || n AS call_id",
}


def build(path: Path, source: Path, calls: int) -> None:
    """`calls` calls (rounded up to whole copies of the source's) in a new warehouse at `path`."""
    with db.connect(path) as con:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        per_copy = con.sql("SELECT count(*) FROM src.calls").fetchall()[0][0]
        copies = -(-calls // per_copy)
        for table, renamed in COPIES.items():
            con.execute(f"INSERT INTO {table} BY NAME SELECT s.* REPLACE ({renamed}) "
                        f"FROM src.{table} AS s, range({copies}) AS r(n)")
        con.execute("DETACH src")
        store_conversation(con)  # the source may predate its conversation columns
        con.execute("CHECKPOINT")


def searches(path: Path) -> dict[str, CallSearch]:
    """One search of each kind, with real keys from the warehouse."""
    with db.connect(path) as con:
        call_id, number = con.sql(
            """SELECT call_id, attributes ->> '$."callboard.caller.number"' FROM spans
               WHERE kind = 'call' ORDER BY started_at DESC LIMIT 1"""
        ).fetchall()[0]
    return {
        "list (no search)": CallSearch(),
        "call id": CallSearch(text=call_id),
        "phone number": CallSearch(text=number),
        f"words ({WORDS!r})": CallSearch(text=WORDS),
        "judge fail + booked": CallSearch(verdicts=("fail",), outcomes=("booked",)),
        "longest wait >= 4 s": CallSearch(longest_wait_ms=Range(4000, None)),
        "words + dead air >= 1": CallSearch(text=WORDS, dead_air=Range(1, None)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "var" / "callboard.duckdb")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the warehouse here and keep it (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as folder:
        path = args.keep or Path(folder) / "search-bench.duckdb"
        if not path.exists():
            started = time.perf_counter()
            build(path, args.source.resolve(), args.calls)
            print(f"built in {time.perf_counter() - started:.0f} s")
        with db.connect(path) as con:
            (count, last), = con.sql("SELECT count(*), max(day) FROM calls").fetchall()
            turns = con.sql("SELECT count(*) FROM turns").fetchall()[0][0]
        print(f"{count:,} calls, {turns:,} turns ({path.stat().st_size / 2**20:,.0f} MiB)")
        filters = Filters(last - timedelta(days=DAYS - 1), last)
        with db.connect(path) as con:
            in_period = con.sql("SELECT count(*) FROM calls WHERE day BETWEEN ? AND ?",
                                params=[filters.start, filters.end]).fetchall()[0][0]
        print(f"period {filters.start} – {filters.end}: {in_period:,} calls")

        def scan() -> None:
            with db.connect(path) as con:
                con.sql(BASELINE_SQL, params=[filters.start, filters.end, like_pattern(WORDS)]).fetchall()

        baseline = median_seconds(scan, args.repeat)
        print(f"baseline, the bare word scan: {baseline * 1000:,.0f} ms")
        for name, search in searches(path).items():
            found = search_calls(filters, search, path=path)  # and warms it
            seconds = median_seconds(lambda s=search: search_calls(filters, s, path=path), args.repeat)
            print(f"{name:24} {seconds * 1000:7,.0f} ms  ×{seconds / baseline:4.1f}  ({found.total:,} calls match)")


if __name__ == "__main__":
    main()
