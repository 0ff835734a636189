"""Build the demo warehouse: `python -m data.demo --db var/callboard.duckdb [--calls N] [--rebuild]`.

The demo goes through the same doors as real data: the generator writes OTLP/JSON traces, CRM and
survey exports and prompt files; the real ingest code loads them; the offline rule-based judge
pre-annotates every call. The warehouse is built in a temporary file and moved into place at the
end, so an interrupted build never leaves a half-filled demo behind.
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

from data.generate import generate
from ingest.outcomes import ingest_outcomes
from ingest.prompts import ingest_prompts
from ingest.traces import ingest_traces
from judges.runner import Selection, plan_run, run_plan
from judges.spec import load_judge
from warehouse.errors import CallboardError, run_cli

DEFAULT_CALLS = 20_000
T = TypeVar("T")


def build(db_path: Path, calls: int = DEFAULT_CALLS, seed: int = 7, files_dir: Path | None = None) -> dict:
    """Generate the demo files into `files_dir` (default: a temporary folder), load them into a new
    warehouse at `db_path` and pre-annotate every call. Returns what was built and seconds per step."""
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
        made = timed("generate", lambda: generate(out, calls=calls, seed=seed))
        timed("ingest", lambda: _ingest(out, partial))
    period = Selection(start=date.fromisoformat(made["first_day"]), end=date.fromisoformat(made["last_day"]))
    judged = timed("judge", lambda: run_plan(plan_run(load_judge("rules"), period, path=partial), None, path=partial))
    partial.replace(db_path)
    return {"calls": made["calls"], "spans": made["spans"], "judged": judged.judged, "seconds": seconds}


def _ingest(files: Path, db_path: Path) -> None:
    """Load the generated files exactly as a team would load its own exports."""
    ingest_traces([files / "traces"], db_path=db_path)
    for source in ("crm", "survey"):
        ingest_outcomes(files / "outcomes" / f"{source}.csv", files / "outcomes" / f"{source}.toml", db_path=db_path)
    ingest_prompts(files / "prompts", db_path=db_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("var/callboard.duckdb"), help="warehouse file to write")
    parser.add_argument("--calls", type=int, default=DEFAULT_CALLS, help="calls to generate (default 20,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--files", type=Path, help="keep the generated files in this folder")
    parser.add_argument("--rebuild", action="store_true", help="replace an existing warehouse")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    if args.db.exists() and not args.rebuild:
        print(f"{args.db} exists; pass --rebuild to replace it.")
        return 0
    print(f"Building the demo warehouse ({args.calls:,} calls) in {args.db} …", file=sys.stderr)
    return run_cli(lambda: _build(args))


def _build(args: argparse.Namespace) -> int:
    result = build(args.db, calls=args.calls, seed=args.seed, files_dir=args.files)
    steps = ", ".join(f"{step} {s} s" for step, s in result["seconds"].items())
    print(f"Demo warehouse ready: {args.db}: {result['calls']:,} calls, {result['spans']:,} spans, "
          f"{result['judged']:,} pre-annotated by the rules judge ({steps}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
