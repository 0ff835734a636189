"""Large-export benchmark: `python bench/exports.py [--gigabytes 1] [--repeat 1]`.

Writes a CRM export of the ugly kind (semicolons, decimal commas, day-first dates, quoted text
with semicolons in it, a byte-order mark, Windows line ends) of about the asked size, then times
`ingest outcomes` of it into a fresh warehouse and, in the same run, DuckDB's own `read_csv` of
the same file into a table (the baseline: parsing only). Each runs in a child process so its peak
RSS is its own; medians of `--repeat` alternating runs are printed with their ratio. It shows
that the export is streamed: peak memory stays far below the file's size. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
MAPPING = """[source]
name = "crm"
join_on = "call_id"

[columns]
record_id = "Deal ID"
call_id = "Call ID"
booked = "Stage"
stage = "Stage"
deal_value_usd = "Amount"
nps = "NPS"
recorded_at = "Close Date"

[values]
booked = { true = ["Closed Won"], false = ["Closed Lost"], pending = ["Appointment Scheduled"] }
"""
STAGES = ("Closed Won", "closed lost", "Appointment Scheduled", "CLOSED WON")
PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"  # KiB, this process
INGEST = """
import sys
from pathlib import Path
from ingest.outcomes import ingest_outcomes
s = ingest_outcomes(Path(sys.argv[1]), Path(sys.argv[2]), db_path=Path(sys.argv[3]))
assert s.read == s.loaded + s.updated + s.unchanged + s.quarantined, s
print(f"read {s.read:,}, loaded {s.loaded:,}, quarantined {s.quarantined:,}")
""" + PEAK
BASELINE = """
import sys, duckdb
con = duckdb.connect(sys.argv[3])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true, all_varchar=true)",
                [sys.argv[1]])
print(f"{con.execute('SELECT count(*) FROM t').fetchone()[0]:,} rows")
""" + PEAK


def write_export(path: Path, gigabytes: float) -> int:
    """About `gigabytes` of rows, each a distinct deal on a distinct call; returns the row count."""
    target = int(gigabytes * 1e9)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffDeal ID;Call ID;Deal Name;Stage;Amount;NPS;Close Date;Owner\r\n")
        while out.tell() < target:
            block = []
            for i in range(rows, rows + 100_000):
                day, month = i % 28 + 1, i % 12 + 1
                amount = f"{i % 9 + 1}.{i % 1000:03d},{i % 100:02d}"
                block.append(f'D{i};call-{i};"Deal {i}; Smith, Jo";{STAGES[i % 4]};"{amount}";{i % 11};'
                             f"{day:02d}.{month:02d}.2026 {i % 24:02d}:{i % 60:02d};Ana Ruiz\r\n")
            out.write("".join(block))
            rows += 100_000
    return rows


def timed(script: str, *args: str) -> tuple[float, float, str]:
    """Seconds, the child's own peak RSS (MB, which it prints last) and what else it printed."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode:
        sys.exit(f"{script.strip().splitlines()[-2]} failed:\n{done.stderr[-2000:]}")
    seconds = time.perf_counter() - began
    *said, peak_kib = done.stdout.strip().splitlines()
    return seconds, int(peak_kib) / 1024, said[-1].rsplit("elapsed)", 1)[-1].strip()  # after DuckDB's progress bar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as folder:
        export, mapping = Path(folder) / "deals.csv", Path(folder) / "deals.toml"
        began = time.perf_counter()
        rows = write_export(export, args.gigabytes)
        mapping.write_text(MAPPING)
        size = export.stat().st_size
        print(f"export: {rows:,} rows, {size / 1e9:.2f} GB, written in {time.perf_counter() - began:.1f} s")
        ours, theirs = [], []
        for attempt in range(args.repeat):
            for runs, script, name in ((ours, INGEST, "ingest"), (theirs, BASELINE, "duckdb")):
                db = Path(folder) / f"{name}-{attempt}.duckdb"
                runs.append(timed(script, str(export), str(mapping), str(db)))
                db.unlink()
        for label, runs in (("ingest outcomes", ours), ("duckdb read_csv", theirs)):
            print(f"{label:16} median {median(r[0] for r in runs):6.1f} s  "
                  f"{rows / median(r[0] for r in runs):>10,.0f} rows/s  peak RSS {max(r[1] for r in runs):,.0f} MB"
                  f"  ({runs[-1][2]})")
        print(f"ratio: ingest takes {median(r[0] for r in ours) / median(r[0] for r in theirs):.2f}x "
              f"DuckDB's parse-only load; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
