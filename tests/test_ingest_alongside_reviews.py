"""Ingest and review saves in two real processes at once: both finish, every review row and every
span arrives, and neither waits more than a few seconds at a time for the warehouse
(docs/architecture.md, "Sharing the warehouse")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tests.fixtures.otlp_calls import write_calls
from warehouse.db import connect

ROOT = Path(__file__).resolve().parent.parent
CALLS = 3000  # 10 spans each: 30,000 spans, about 15 MB

# `python -m ingest traces FILE`, with chunks of 1 MiB merged every 2,000 spans so that a file this
# size takes many transactions (a real export would be far bigger than a test can afford), and the
# longest wait to open the warehouse measured.
INGEST = """
import json, runpy, sys, time
import ingest.lines, ingest.traces, warehouse.db
ingest.lines.CHUNK_BYTES = 1024 * 1024
ingest.traces.MERGE_SPANS = 2000
opened, waits = warehouse.db.open_connection, []
def timed_open(*args, **kwargs):
    began = time.perf_counter()
    try:
        return opened(*args, **kwargs)
    finally:
        waits.append(time.perf_counter() - began)
warehouse.db.open_connection = timed_open
sys.argv = ["ingest", "traces", sys.argv[1]]
try:
    runpy.run_module("ingest", run_name="__main__")
finally:
    print(json.dumps({"opens": len(waits), "longest_wait_s": max(waits, default=0)}), file=sys.stderr)
"""

# A reviewer saving scores through the app's own save, one short transaction each, until told to
# stop; prints each saved review's id and how long the save took.
REVIEWER = """
import json, pathlib, sys, time
from warehouse.reviews import Review, save_review
stop, saved = pathlib.Path(sys.argv[1]), 0
while not stop.exists() or saved < 5:
    began = time.perf_counter()
    review_id = save_review(Review(session_id=None, call_id=f"call-{saved % 50}", reviewer="priya",
                                   score=1 + saved % 5, passed=saved % 2 == 0, notes=f"save {saved}"))
    print(json.dumps({"review_id": review_id, "seconds": time.perf_counter() - began, "at": time.time()}),
          flush=True)
    saved += 1
    time.sleep(0.02)
"""


def test_ingest_and_review_saves_share_the_warehouse(tmp_path: Path, warehouse_file: Path) -> None:
    source = tmp_path / "calls.jsonl"
    spans = write_calls(source, CALLS)
    with connect(warehouse_file):
        pass  # the schema, before two processes race to create it
    env = {**os.environ, "CALLBOARD_DB": str(warehouse_file)}
    stop = tmp_path / "stop"
    reviewer = subprocess.Popen([sys.executable, "-c", REVIEWER, str(stop)], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the reviewer is saving before ingest starts
    began = time.time()
    ingest = subprocess.run([sys.executable, "-c", INGEST, str(source)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    ended = time.time()
    stop.touch()
    out, err = reviewer.communicate(timeout=120)

    assert ingest.returncode == 0, ingest.stderr
    assert reviewer.returncode == 0, err
    summary = dict(line.split(None, 1) for line in ingest.stdout.splitlines()[:7])
    assert (summary["read"], summary["loaded"], summary["quarantined"]) == (f"{spans:,} spans", f"{spans:,}", "0")
    opens = json.loads(ingest.stderr.strip().splitlines()[-1])
    assert opens["opens"] >= 6  # many short transactions (run start, merges, run end), not one long one
    saves = [json.loads(line) for line in out.splitlines()]
    during = [s for s in saves if began < s["at"] < ended]
    assert len(during) >= 5, f"only {len(during)} saves in {ended - began:.1f} s of ingest"
    print(f"ingest {ended - began:.1f} s, {opens['opens']} opens, longest wait {opens['longest_wait_s']:.2f} s; "
          f"{len(during)} review saves meanwhile, longest {max(s['seconds'] for s in during):.2f} s")

    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        stored = {review_id for (review_id,) in con.execute("SELECT review_id FROM reviews").fetchall()}
        counts = con.execute("SELECT (SELECT count(*) FROM spans), (SELECT count(DISTINCT (trace_id, span_id)) "
                             "FROM spans), (SELECT count(*) FROM calls), (SELECT count(*) FROM turns)").fetchone()
    assert stored == {s["review_id"] for s in saves}
    assert counts == (spans, spans, CALLS, CALLS * 6)
    # Generous bounds for a shared, loaded machine: a merge of 2,000 spans takes well under a second.
    assert max(s["seconds"] for s in saves) < 10, max(s["seconds"] for s in saves)
    assert opens["longest_wait_s"] < 10, opens
