"""`python -m warehouse`: the warehouse's command line.

    python -m warehouse metrics --start 2026-10-01 --end 2026-10-31 [--agent A] --json
    python -m warehouse migrate
    python -m warehouse export-lake PATH
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

from warehouse import db, lake, queries
from warehouse.filters import Filters
from warehouse.migrate import current_version


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2026-10-31") from None


def _jsonable(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


def _metrics(args: argparse.Namespace) -> int:
    filters = Filters(args.start, args.end, agents=tuple(args.agent or ()))
    result = {key: _jsonable(value) for key, value in queries.period_metrics(filters).items()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {'—' if value is None else value}")
    return 0


def _migrate(_: argparse.Namespace) -> int:
    with db.connect() as con:
        print(f"{db.warehouse_path()} is at schema version {current_version(con)}")
    return 0


def _export_lake(args: argparse.Namespace) -> int:
    for table, done in lake.export(args.path).items():
        print(f"{table}: {len(done.written)} partitions written, {len(done.removed)} removed, "
              f"{done.unchanged} unchanged")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    m = commands.add_parser("metrics", help="every owned metric for a period")
    m.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD (UTC)")
    m.add_argument("--end", type=_day, required=True, help="last day, included, YYYY-MM-DD (UTC)")
    m.add_argument("--agent", action="append", help="only this agent (repeat for several)")
    m.add_argument("--json", action="store_true", help="print JSON")
    m.set_defaults(run=_metrics)
    commands.add_parser("migrate", help="bring the warehouse's schema up to date").set_defaults(run=_migrate)
    e = commands.add_parser("export-lake", help="write the fact tables as day-partitioned Parquet, only what changed")
    e.add_argument("path", type=Path, help="the lake folder (new, empty, or an earlier export)")
    e.set_defaults(run=_export_lake)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, db.WarehouseBusy) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
