"""`python -m judges list` and `python -m judges run ...`: a thin CLI over judges.runner.

Mistakes a user can make (an unknown judge, a missing key, a session that does not exist, a model
with no price) print one sentence on stderr and exit 2, without a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TextIO

from judges.background import ProgressReport, reporting
from judges.eval_cli import COMMANDS as EVAL_COMMANDS
from judges.eval_cli import add_commands, run_command
from judges.providers import KEY_NAMES, Ask, MissingKey, api_key, default_judge, make_ask
from judges.runner import JudgeRunSummary, Plan, RunError, Selection, check_dollar_cap, estimate, plan_run, run_plan
from judges.spec import JudgeSpec, all_judges, load_judge
from warehouse.errors import run_cli
from warehouse.terminal import terminal_text

BAR_WIDTH = 30
ERRORS_SHOWN = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m judges", description="Pre-annotate calls with a judge.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the judges, their versions and whether their key is set")
    run = commands.add_parser("run", help="judge the calls of a review session or of a period")
    run.add_argument("--judge", help="a judge name from `list` (default: an LLM judge with a key, else rules)")
    chosen = run.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--session", help="judge the calls sampled for this review session")
    chosen.add_argument("--start", type=date.fromisoformat, help="first UTC day, YYYY-MM-DD")
    run.add_argument("--end", type=date.fromisoformat, help="last UTC day, YYYY-MM-DD (with --start)")
    run.add_argument("--limit", type=int, help="judge at most this many of the calls not judged yet")
    run.add_argument("--dry-run", action="store_true", help="print calls, tokens and dollars; send nothing")
    run.add_argument("--concurrency", type=int, default=4, help="calls judged at once (default 4)")
    run.add_argument("--max-dollars", type=float, default=5.0, help="stop before spending more (default 5)")
    run.add_argument("--progress-file", type=Path, help="keep this JSON file current (the app's Judges page reads it)")
    add_commands(commands)
    return parser


def _list(out: TextIO) -> None:
    for spec in all_judges():
        if spec.provider == "rules":
            key = "no key needed"
        else:
            key = "key set" if api_key(spec.provider) else f"no key ({KEY_NAMES[spec.provider]})"
        model = f" {spec.model}" if spec.model else ""
        print(f"{spec.name:<8} {spec.version}  {spec.provider}{model}  [{key}]  {spec.description}", file=out)


def _print_plan(plan: Plan, out: TextIO) -> None:
    spec = plan.spec
    model = f" {spec.model}" if spec.model else ""
    print(f"Judge {spec.name} (version {spec.version}, {spec.provider}{model})", file=out)
    print(
        f"Calls selected: {plan.selected:,}; already judged: {plan.skipped:,}; to judge now: {len(plan.calls):,}",
        file=out,
    )


def _dry_run(plan: Plan, out: TextIO) -> None:
    figures = estimate(plan)
    print(
        f"Estimated tokens: {figures.input_tokens:,} input + {figures.output_tokens:,} output",
        file=out,
    )
    print(
        f"Estimated cost: ${figures.dollars:,.4f} (at most ${figures.ceiling_dollars:,.4f} if every reply "
        f"used {plan.spec.max_output_tokens:,} output tokens)",
        file=out,
    )
    print("Dry run: nothing was sent and nothing was written.", file=out)


def progress_bar(stream: TextIO) -> Callable[[JudgeRunSummary], None]:
    """A one-line progress bar on a terminal; on a log, a line every tenth of the run."""
    shown = {"tenth": -1}

    def show(summary: JudgeRunSummary) -> None:
        done = summary.judged + summary.failed
        total = max(summary.to_judge, 1)
        line = (
            f"[{'#' * (BAR_WIDTH * done // total):<{BAR_WIDTH}}] {done:,}/{summary.to_judge:,} "
            f"· {summary.failed:,} failed · ${summary.cost_usd:,.4f}"
        )
        if stream.isatty():
            print(f"\r{line}", end="\n" if done == summary.to_judge else "", file=stream, flush=True)
        elif 10 * done // total != shown["tenth"]:
            shown["tenth"] = 10 * done // total
            print(line, file=stream, flush=True)

    return show


def _print_summary(summary: JudgeRunSummary, max_dollars: float, out: TextIO, err: TextIO) -> None:
    for error in summary.errors[:ERRORS_SHOWN]:
        print(f"failed {error}", file=err)
    if len(summary.errors) > ERRORS_SHOWN:
        print(f"... and {len(summary.errors) - ERRORS_SHOWN} more failures", file=err)
    print(
        f"Run {summary.run_id} of judge {summary.judge} (version {summary.version}): "
        f"{summary.judged:,} judged, {summary.failed:,} failed, {summary.skipped:,} skipped as already judged; "
        f"{summary.input_tokens:,} input + {summary.output_tokens:,} output tokens, "
        f"${summary.cost_usd:,.4f}, {summary.seconds:.1f} s.",
        file=out,
    )
    if summary.stopped_at_cap:
        left = summary.to_judge - summary.judged - summary.failed
        print(
            f"Stopped at the ${max_dollars:,.2f} cap with {left:,} calls left; run again (or raise "
            "--max-dollars) to continue where it stopped.",
            file=out,
        )


def _judge(name: str | None) -> JudgeSpec:
    return load_judge(name) if name else default_judge(all_judges())


def _ask_for(spec: JudgeSpec) -> Ask | None:
    """The provider of an LLM judge, or None for the rules judge; a missing key stops the run
    before anything is read or sent."""
    if spec.provider == "rules":
        return None
    key = api_key(spec.provider)
    if key is None:
        raise MissingKey(
            f"The {spec.name} judge needs {KEY_NAMES[spec.provider]} in the environment or in "
            ".streamlit/secrets.toml (or use --judge rules)."
        )
    return make_ask(spec, key)


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    spec = _judge(args.judge)
    if args.progress_file is None:
        return _judge_calls(spec, args, out, err, None)
    with reporting(args.progress_file, spec.name, args.start, args.end) as report:
        return _judge_calls(spec, args, out, err, report)


def _judge_calls(spec: JudgeSpec, args: argparse.Namespace, out: TextIO, err: TextIO,
                 report: ProgressReport | None) -> int:
    ask = None if args.dry_run else _ask_for(spec)
    plan = plan_run(spec, Selection(args.session, args.start, args.end), args.limit)
    _print_plan(plan, out)
    if args.dry_run:
        _dry_run(plan, out)
        return 0
    bar = progress_bar(err)

    def progress(summary: JudgeRunSummary) -> None:
        bar(summary)
        if report is not None:
            report.update(summary)

    if report is not None:
        report.planned(plan)
    summary = run_plan(plan, ask, concurrency=args.concurrency, max_dollars=args.max_dollars, progress=progress)
    if report is not None:
        report.finished(summary)
    _print_summary(summary, args.max_dollars, out, err)
    return 0


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    out, err = terminal_text(out), terminal_text(err)  # provider errors and labels are data: no escapes
    args = _parser().parse_args(argv)
    return run_cli(lambda: _command(args, out, err), err)


def _check_run(args: argparse.Namespace) -> None:
    """What `run` needs from its options, each refused in one line."""
    if (args.start is None) != (args.end is None) or (args.session and args.end):
        raise RunError("Give --session ID, or both --start and --end.")
    if args.start and args.end < args.start:
        raise RunError(f"--end {args.end} is before --start {args.start}.")
    if args.concurrency < 1 or (args.limit is not None and args.limit < 0):
        raise RunError("--concurrency must be at least 1; --limit cannot be negative.")


def _command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    check_dollar_cap(getattr(args, "max_dollars", None))
    if args.command == "run":
        _check_run(args)
    if args.command == "list":
        _list(out)
        return 0
    if args.command in EVAL_COMMANDS:
        return run_command(args, out, _ask_for)
    return _run(args, out, err)


if __name__ == "__main__":
    sys.exit(main())
