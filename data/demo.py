"""Build the demo warehouse: `python -m data.demo --db var/callboard.duckdb [--calls N] [--rebuild] [--no-audio]`.

The demo goes through the same doors as real data: the generator writes OTLP/JSON traces, CRM and
survey exports and prompt files; the real ingest code loads them; the offline rule-based judge
pre-annotates every call. The warehouse is built in a temporary file and moved into place at the
end, so an interrupted build never leaves a half-filled demo behind.

Two finished weekly reviews (data/review_sessions.py) are scored by a PM and an engineer.

Then the calls of the demo's last 14 days get recordings you can listen to (data/audio.py): they
are synthesized in the background, newest first, while the dashboard is already usable; the
Ingest page shows how far it has got. `--no-audio` skips them, and so does a machine without
espeak-ng (saying so once).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from data import audio
from data.generate import generate
from data.review_sessions import add_review_sessions
from ingest.outcomes import ingest_outcomes
from ingest.prompts import ingest_prompts
from ingest.traces import ingest_traces
from judges.runner import Selection, plan_run, run_plan
from judges.spec import load_judge
from warehouse.db import transaction
from warehouse.errors import CallboardError, run_cli
from warehouse.ingest_runs import relabel_sources

DEFAULT_CALLS = 20_000
T = TypeVar("T")


def build(db_path: Path, calls: int = DEFAULT_CALLS, seed: int = 7, files_dir: Path | None = None,
          recorded_days: int = 0) -> dict:
    """Generate the demo files into `files_dir` (default: a temporary folder), load them into a new
    warehouse at `db_path` and pre-annotate every call; the calls of the last `recorded_days` days
    name a recording for data/audio.py to make. Returns what was built and seconds per step."""
    db_path = db_path.resolve()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CallboardError(f"Cannot make the folder for {db_path}: {error.strerror}.") from error
    partial = db_path.with_name(db_path.name + ".building")
    partial.unlink(missing_ok=True)
    seconds: dict[str, float] = {}

    def timed(step: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        seconds[step] = round(time.perf_counter() - started, 1)
        return result

    with tempfile.TemporaryDirectory(prefix="callboard-demo-") as scratch:
        out = files_dir or Path(scratch)
        made = timed("generate", lambda: generate(out, calls=calls, seed=seed, recorded_days=recorded_days))
        runs = timed("ingest", lambda: _ingest(out, partial))
    if files_dir is None:  # the Ingest page would list a temporary folder that is gone
        with transaction(partial) as con:
            relabel_sources(con, runs, "the demo's generated files (not kept; --files keeps them)")
    last_day = date.fromisoformat(made["last_day"])
    period = Selection(start=date.fromisoformat(made["first_day"]), end=last_day)
    judged = timed("judge", lambda: run_plan(plan_run(load_judge("rules"), period, path=partial), None, path=partial))
    reviewed = timed("reviews", lambda: add_review_sessions(partial, last_day, seed))
    partial.replace(db_path)
    return {"calls": made["calls"], "spans": made["spans"], "judged": judged.judged, "reviewed": reviewed,
            "seconds": seconds}


def _ingest(files: Path, db_path: Path) -> list[str]:
    """Load the generated files exactly as a team would load its own exports; the runs' ids."""
    runs = [ingest_traces([files / "traces"], db_path=db_path)]
    for source in ("crm", "survey"):
        runs.append(ingest_outcomes(files / "outcomes" / f"{source}.csv", files / "outcomes" / f"{source}.toml",
                                    db_path=db_path))
    runs.append(ingest_prompts(files / "prompts", db_path=db_path))
    return [run.run_id for run in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("var/callboard.duckdb"), help="warehouse file to write")
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS, help="calls to generate (default 20,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--files", type=Path, help="keep the generated files in this folder")
    parser.add_argument("--rebuild", action="store_true", help="replace an existing warehouse")
    parser.add_argument("--no-audio", action="store_true", help="make no recordings")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    if args.db.exists() and not args.rebuild:
        print(f"{args.db} exists; pass --rebuild to replace it.")
        return 0
    missing = audio.missing_tools()
    with_audio = not args.no_audio and not missing
    if not args.no_audio and not with_audio:
        print(f"{audio.missing_tools_sentence(missing)}, so the demo is built without recordings "
              f"(apt-get install {' '.join(missing)}, then rebuild the demo to hear its calls).", file=sys.stderr)
    print(f"Building the demo warehouse ({args.calls:,} calls) in {args.db} …", file=sys.stderr)
    return run_cli(lambda: _build(args, audio.DEFAULT_DAYS if with_audio else 0))


def _build(args: argparse.Namespace, recorded_days: int) -> int:
    audio.forget_recordings(args.db.resolve())
    result = build(args.db, calls=args.calls, seed=args.seed, files_dir=args.files, recorded_days=recorded_days)
    steps = ", ".join(f"{step} {s} s" for step, s in result["seconds"].items())
    print(f"Demo warehouse ready: {args.db}: {result['calls']:,} calls, {result['spans']:,} spans, "
          f"{result['judged']:,} pre-annotated by the rules judge ({steps}).")
    if recorded_days:
        log = audio.start_in_background(args.db.resolve(), recorded_days)
        print(f"Recording the last {recorded_days} days' calls in the background, newest first; the Ingest page "
              f"shows the progress (log: {log}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
