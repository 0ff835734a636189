"""`python -m judges dataset` and `python -m judges eval`: export the test cases as an eval dataset,
and score a judge against one. They live with the judges (not under `python -m warehouse`) because
the dataset exists to measure judges: the two commands are used together, next to `run`.

Registered by judges/__main__.py, whose handler prints a user's mistake in one line and exits 2."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TextIO

from judges.dataset import DatasetError, export_dataset, read_dataset
from judges.evaluate import as_dict, as_table, judge_records, score
from judges.providers import Ask
from judges.runner import judge_price
from judges.spec import JudgeSpec, load_judge

COMMANDS = ("dataset", "eval")


def add_commands(commands: argparse._SubParsersAction) -> None:
    dataset = commands.add_parser("dataset", help="export reviewed test cases and complaints as an eval dataset")
    dataset.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    dataset.add_argument("--start", type=date.fromisoformat, help="first UTC day of the calls, YYYY-MM-DD")
    dataset.add_argument("--end", type=date.fromisoformat, help="last UTC day of the calls, YYYY-MM-DD")
    dataset.add_argument("--no-redact", action="store_true",
                         help="keep phone numbers, e-mails and card numbers (masked by default)")
    evaluate = commands.add_parser("eval", help="score a judge against an eval dataset")
    evaluate.add_argument("--dataset", type=Path, required=True, help="a file from `python -m judges dataset`")
    evaluate.add_argument("--judge", required=True, help="a judge name from `list`")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.add_argument("--max-dollars", type=float, default=5.0, help="stop before spending more (default 5)")


def _dataset(args: argparse.Namespace, out: TextIO) -> int:
    if (args.start is None) != (args.end is None):
        raise DatasetError("Give both --start and --end, or neither (every test case).")
    if args.start is not None and args.end < args.start:
        raise DatasetError(f"--end {args.end} is before --start {args.start}.")
    summary = export_dataset(args.out, args.start, args.end, redact=not args.no_redact)
    print(
        f"Wrote {summary.records:,} records to {args.out}: {summary.from_reviews:,} marked as test cases in "
        f"reviews, {summary.from_complaints:,} with complaints; PII {'masked' if summary.redacted else 'kept'}.",
        file=out,
    )
    if summary.complaints_without_call:
        print(f"Left out {summary.complaints_without_call:,} complaints about calls not in the warehouse.", file=out)
    return 0


def _eval(args: argparse.Namespace, out: TextIO, ask_for: Callable[[JudgeSpec], Ask | None]) -> int:
    spec = load_judge(args.judge)
    records = read_dataset(args.dataset)
    ask = ask_for(spec)
    rows, _ = judge_records(spec, records, ask, judge_price(spec), args.max_dollars)
    evaluation = score(spec, records, rows)
    print(json.dumps(as_dict(evaluation), indent=2) if args.json else as_table(evaluation), file=out)
    return 0


def run_command(args: argparse.Namespace, out: TextIO, ask_for: Callable[[JudgeSpec], Ask | None]) -> int:
    """Run `dataset` or `eval`; `ask_for` gives an LLM judge its provider (a missing key stops it)."""
    return _dataset(args, out) if args.command == "dataset" else _eval(args, out, ask_for)
