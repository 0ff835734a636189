"""`python -m warehouse`: the warehouse's command line.

    python -m warehouse metrics --start 2026-10-01 --end 2026-10-31 [--agent A] --json
    python -m warehouse migrate
    python -m warehouse export-lake PATH
    python -m warehouse prices [set PROVIDER MODEL --input-per-mtok 0.4 --output-per-mtok 1.6 ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path

from warehouse import db, lake, prices, queries
from warehouse.errors import run_cli
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


def _prices(args: argparse.Namespace) -> int:
    if args.action == "set":
        given = {unit: value for unit in prices.UNITS if (value := getattr(args, unit)) is not None}
        prices.set_price(args.provider, args.model, given, args.taken_on, args.source)
    table = prices.model_prices()
    if args.action == "set":
        table = table.filter(provider=args.provider, model=args.model)
    with_nothing_as_dash = table.with_columns(table[c].cast(str).fill_null("—") for c in table.columns)
    for row in with_nothing_as_dash.iter_rows():
        print("  ".join(row))
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
    p = commands.add_parser("prices", help="list the model prices cost is computed from, or set one")
    actions = p.add_subparsers(dest="action")
    setting = actions.add_parser("set", help="add a model's list price or change it")
    setting.add_argument("provider")
    setting.add_argument("model")
    for unit, meaning in (("input_usd_per_mtok", "dollars per million input tokens"),
                          ("output_usd_per_mtok", "dollars per million output tokens"),
                          ("usd_per_minute", "speech-to-text: dollars per audio minute"),
                          ("usd_per_kchar", "text-to-speech: dollars per thousand characters")):
        setting.add_argument(f"--{unit.replace('usd_', '').replace('_', '-')}", dest=unit, type=float, help=meaning)
    setting.add_argument("--taken-on", type=_day, default=date.today(), help="the day the price was read")
    setting.add_argument("--source", help="where the price was read (a URL)")
    p.set_defaults(run=_prices)
    args = parser.parse_args(argv)
    return run_cli(lambda: args.run(args))


if __name__ == "__main__":
    sys.exit(main())
