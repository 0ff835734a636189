"""Large-export benchmark: `python bench/exports.py [--kind outcomes|call-logs] [--gigabytes 1]
[--repeat 1] [--baseline-root DIR]`.

Writes an export of the ugly kind of about the asked size, once, into /work/bench-cache/exports/
(`CALLBOARD_BENCH_CACHE`; named by a hash of its generator, so a changed generator writes anew):
a CRM export (semicolons, decimal commas, day-first dates, quoted text with semicolons in it, a
byte-order mark, Windows line ends, words in any case) or a per-turn call log (quoted text with
commas, times with offsets, the call's fields on its first row only, a tool row per call). Then
times loading it into a fresh warehouse (`ingest outcomes` or `ingest calls`) and, in the same
run, DuckDB's own `read_csv` of the same file into a table (the baseline: parsing only); with
`--baseline-root`, also the same load by another checkout (one made with `git archive`, for a
before/after figure). Each runs in a child process that reports its own peak RSS (VmHWM), so the
figures are the load's alone; medians of `--repeat` alternating runs are printed with ratios. It
shows that the export is streamed: peak memory stays flat as the file grows. A benchmark, not a
test. Delete the cached exports when done (`--clean`): a 1 GB one is 1 GB of disk.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CALLBOARD_BENCH_CACHE", "/work/bench-cache")) / "exports"
OUTCOMES_MAPPING = """[source]
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
CALL_LOG_MAPPING = """[source]
name = "voice-platform"
layout = "turns"

[columns]
call_id = "Call"
agent = "Assistant"
started_at = "Started"
turn_index = "Turn"
speaker = "Role"
text = "Message"
turn_started_at = "Turn Start"
turn_ended_at = "Turn End"
"""
STAGES = ("Closed Won", "closed lost", "Appointment Scheduled", "CLOSED WON")
SAID = ("Hi, Bella Salon, how can I help?", "Can I book a cut for Friday, around three?",
        "Friday at 3pm is free, shall I book it for you?", "Yes please, and a wash too.")
# The child's own peak RSS in KiB (getrusage's ru_maxrss would carry over its parent's).
PEAK = '\nprint(re.search(r"VmHWM:\\s*(\\d+)", Path("/proc/self/status").read_text()).group(1))'
INGEST = {
    "outcomes": """
import re, sys
from pathlib import Path
from ingest.outcomes import ingest_outcomes
s = ingest_outcomes(Path(sys.argv[1]), Path(sys.argv[2]), db_path=Path(sys.argv[3]))
assert s.read == s.loaded + s.updated + s.unchanged + s.quarantined, s
print(f"read {s.read:,}, loaded {s.loaded:,}, quarantined {s.quarantined:,}")
""" + PEAK,
    "call-logs": """
import re, sys
from pathlib import Path
from ingest.call_logs import ingest_call_log
s = ingest_call_log(Path(sys.argv[1]), Path(sys.argv[2]), db_path=Path(sys.argv[3]))
assert s.read == s.loaded + s.updated + s.unchanged + s.quarantined, s
print(f"read {s.read:,}, loaded {s.loaded:,}, quarantined {s.quarantined:,}")
""" + PEAK,
}
BASELINE = """
import re, sys, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[3])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, delim=?, header=true, all_varchar=true)",
            [sys.argv[1], sys.argv[4]])
print(f"{con.execute('SELECT count(*) FROM t').fetchone()[0]:,} rows")
""" + PEAK


def write_outcomes(path: Path, gigabytes: float) -> int:
    """About `gigabytes` of CRM rows, each a distinct deal on a distinct call; returns the row count."""
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


def write_call_log(path: Path, gigabytes: float) -> int:
    """About `gigabytes` of turns, nine rows per call (eight turns, the call's fields on the first,
    and a tool row); returns the row count."""
    target = int(gigabytes * 1e9)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Call,Assistant,Started,Turn,Role,Message,Turn Start,Turn End\n")
        first = 0
        while out.tell() < target:
            block = []
            for call in range(first, first + 10_000):
                minute = f"2026-03-{call % 28 + 1:02d}T{call % 24:02d}:{call % 60:02d}"
                for turn in range(8):
                    role = "assistant" if turn % 2 == 0 else "USER"
                    fields = f"salon-bot,{minute}:00+01:00" if turn == 0 else ","
                    block.append(f'c-{call},{fields},{turn},{role},"{SAID[turn % 4]}",{minute}:{turn * 6:02d}+01:00,'
                                 f"{minute}:{turn * 6 + 4:02d}+01:00\n")
                block.append(f'c-{call},,,,tool,"{{""slots"": [""15:00""]}}",,\n')
            out.write("".join(block))
            rows, first = rows + len(block), first + 10_000
    return rows


KINDS: dict[str, tuple[Callable[[Path, float], int], str, str]] = {
    "outcomes": (write_outcomes, OUTCOMES_MAPPING, ";"), "call-logs": (write_call_log, CALL_LOG_MAPPING, ",")}


def cached_export(kind: str, gigabytes: float) -> tuple[Path, Path, int]:
    """The export (written once and kept in CACHE), its mapping and its row count."""
    write, mapping, _ = KINDS[kind]
    version = hashlib.sha256(inspect.getsource(write).encode()).hexdigest()[:10]
    path = CACHE / f"{kind}-{gigabytes:g}gb-{version}.csv"
    rows_file = path.with_suffix(".rows")
    if not rows_file.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        rows = write(path, gigabytes)
        rows_file.write_text(str(rows))
        print(f"wrote {path} in {time.perf_counter() - began:.1f} s")
    path.with_suffix(".toml").write_text(mapping)
    return path, path.with_suffix(".toml"), int(rows_file.read_text())


def timed(script: str, root: Path, *args: str) -> tuple[float, float, str]:
    """Seconds, the child's own peak RSS (MB, which it prints last) and what else it printed."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)})
    if done.returncode:
        sys.exit(f"{script.strip().splitlines()[-2]} failed:\n{done.stderr[-2000:]}")
    seconds = time.perf_counter() - began
    *said, peak_kib = done.stdout.strip().splitlines()
    return seconds, int(peak_kib) / 1024, said[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(KINDS), default="outcomes")
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline-root", type=Path, help="another checkout to time the same load with")
    parser.add_argument("--clean", action="store_true", help="delete the cached export afterwards")
    args = parser.parse_args()
    export, mapping, rows = cached_export(args.kind, args.gigabytes)
    print(f"{args.kind}: {rows:,} rows, {export.stat().st_size / 1e9:.2f} GB ({export.name})")
    loads = [("ingest", INGEST[args.kind], ROOT)]
    if args.baseline_root:
        loads.append((f"ingest at {args.baseline_root.name}", INGEST[args.kind], args.baseline_root.resolve()))
    loads.append(("duckdb read_csv", BASELINE, ROOT))
    runs: dict[str, list[tuple[float, float, str]]] = {name: [] for name, _, _ in loads}
    with tempfile.TemporaryDirectory(prefix="callboard-bench-") as folder:
        for attempt in range(args.repeat):
            for name, script, root in loads:
                db = Path(folder) / f"{attempt}-{len(runs[name])}.duckdb"
                runs[name].append(timed(script, root, str(export), str(mapping), str(db), KINDS[args.kind][2]))
                db.unlink()
    seconds = {name: median(r[0] for r in done) for name, done in runs.items()}
    for name, done in runs.items():
        print(f"{name:28} median {seconds[name]:7.1f} s {rows / seconds[name]:>10,.0f} rows/s  "
              f"peak RSS {max(r[1] for r in done):,.0f} MB  ({done[-1][2]})")
    for name in list(runs)[1:]:
        print(f"ratio: ingest takes {seconds['ingest'] / seconds[name]:.2f}x {name}")
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.clean:
        for leftover in (export, export.with_suffix(".rows"), mapping):
            leftover.unlink()


if __name__ == "__main__":
    main()
