"""`python -m ingest ...`: a thin layer over the library; one call into it per command."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ingest.call_logs import ingest_call_log
from ingest.complaints import ingest_complaints
from ingest.errors import IngestError
from ingest.outcomes import ingest_outcomes
from ingest.platforms import PLATFORMS, ingest_platform
from ingest.prompts import ingest_prompts
from ingest.receiver import serve
from ingest.spool import MAX_SPOOL_BYTES
from ingest.summary import format_quarantine, format_runs, format_table
from ingest.traces import ingest_traces
from warehouse.errors import run_cli
from warehouse.ingest_runs import quarantined, recent_runs


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest", description="Load traces, call logs, outcomes and prompts into the Callboard "
        "warehouse (CALLBOARD_DB, default var/callboard.duckdb).")
    parser.add_argument("--db", type=Path, help="warehouse file (default: $CALLBOARD_DB or var/callboard.duckdb)")
    commands = parser.add_subparsers(dest="command", required=True)
    traces = commands.add_parser("traces", help="OTLP/JSON (lines or one document) or OTLP protobuf files")
    traces.add_argument("paths", nargs="+", help="files, folders or globs")
    traces.add_argument("--redact", action="store_true", help="mask phones, e-mails and card numbers first")
    outcomes = commands.add_parser("outcomes",
                                   help="a CRM or survey export (CSV, Parquet or JSON; see docs/outcomes.md)")
    outcomes.add_argument("path", type=Path)
    outcomes.add_argument("--mapping", type=Path, required=True, help="TOML file: their columns to ours")
    calls = commands.add_parser("calls", help="a call log or dialogue dataset (JSONL, JSON, CSV or Parquet; "
                                "a row per call or per turn; see docs/call-logs.md)")
    calls.add_argument("path", type=Path)
    calls.add_argument("--mapping", type=Path, required=True, help="TOML file: their columns to ours")
    platform = commands.add_parser("platform", help="a hosted platform's call objects as its API or webhook gives "
                                   "them (JSON, a JSON list or JSON lines; see docs/trace-format.md)")
    platform.add_argument("platform", choices=sorted(PLATFORMS))
    platform.add_argument("paths", nargs="+", help="files, folders or globs")
    platform.add_argument("--redact", action="store_true", help="mask phones, e-mails and card numbers first")
    serve = commands.add_parser("serve", help="receive OTLP/HTTP traces on /v1/traces (protobuf or JSON)")
    serve.add_argument("--port", type=int, default=4318, help="default 4318, the OTLP/HTTP port (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    serve.add_argument("--spool", type=Path, help="folder for accepted requests (default: spool/ beside the warehouse)")
    serve.add_argument("--redact", action="store_true", help="mask phones, e-mails and card numbers first")
    serve.add_argument("--spool-max-mb", type=float, default=MAX_SPOOL_BYTES / 1e6,
                       help="answer 503 (retry later) while this much waits to be loaded (default %(default).0f)")
    complaints = commands.add_parser("complaints", help="customer-reported issues: call_id, complaint, reported_label")
    complaints.add_argument("path", type=Path)
    complaints.add_argument("--mapping", type=Path, help="TOML file: their columns to ours (default: our names)")
    complaints.add_argument("--redact", action="store_true", help="mask phones, e-mails and card numbers first")
    prompts = commands.add_parser("prompts", help="a folder of <agent>/<version>.md prompt files")
    prompts.add_argument("path", type=Path)
    runs = commands.add_parser("runs", help="the latest ingest runs")
    runs.add_argument("--limit", type=int, default=20)
    refused = commands.add_parser("quarantine", help="records a run refused, with the reasons")
    refused.add_argument("run_id", nargs="?")
    refused.add_argument("--limit", type=int, default=50)
    return parser


MAX_LIMIT = 100_000  # rows `runs` and `quarantine` list at most: more is not for reading in a terminal
MAX_PORT = 65_535


def _check_numbers(args: argparse.Namespace) -> None:
    """The numbers a command takes, checked before they are used: the warehouse would refuse a
    `--limit` of -1, the socket a port of 70000, with a traceback; a negative or NaN spool budget
    would turn every request away."""
    limit = getattr(args, "limit", None)
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise IngestError(f"--limit is how many rows to list: a whole number from 1 to {MAX_LIMIT:,}, not {limit}.")
    if args.command != "serve":
        return
    if not 0 <= args.port <= MAX_PORT:
        raise IngestError(f"--port is a TCP port from 1 to {MAX_PORT} (0: any free port), not {args.port}.")
    if not (math.isfinite(args.spool_max_mb) and args.spool_max_mb > 0):
        raise IngestError(f"--spool-max-mb is a number of megabytes above 0, not {args.spool_max_mb}.")


def _run(args: argparse.Namespace) -> int:
    _check_numbers(args)
    if args.command == "traces":
        summary = ingest_traces(args.paths, db_path=args.db, redact=args.redact, progress=sys.stderr.isatty())
    elif args.command == "outcomes":
        summary = ingest_outcomes(args.path, args.mapping, db_path=args.db)
    elif args.command == "calls":
        summary = ingest_call_log(args.path, args.mapping, db_path=args.db)
    elif args.command == "platform":
        summary = ingest_platform(args.platform, args.paths, db_path=args.db, redact=args.redact)
    elif args.command == "serve":
        serve(args.host, args.port, db_path=args.db, spool=args.spool, redact=args.redact,
              spool_bytes=int(args.spool_max_mb * 1e6))
        return 0
    elif args.command == "complaints":
        summary = ingest_complaints(args.path, args.mapping, redact=args.redact, db_path=args.db)
    elif args.command == "prompts":
        summary = ingest_prompts(args.path, db_path=args.db)
    elif args.command == "runs":
        print(format_runs(recent_runs(args.limit, db_path=args.db)))
        return 0
    else:
        print(format_quarantine(quarantined(args.run_id, args.limit, db_path=args.db)))
        return 0
    print(format_table(summary))
    return 0


def main(argv: list[str] | None = None) -> int:
    """A user's mistake or a busy warehouse: one line, exit 2; a bug: its traceback."""
    return run_cli(lambda: _run(_parser().parse_args(argv)))
