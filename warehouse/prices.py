"""List prices of the models a call uses, with the date each was read. Ingest prices a span from
this table when the span carries no cost of its own, so keeping it current keeps cost honest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from warehouse.db import connect, transaction

UNITS = ("input_usd_per_mtok", "output_usd_per_mtok", "usd_per_minute", "usd_per_kchar")


def model_prices(db_path: Path | None = None) -> pl.DataFrame:
    with connect(db_path) as con:
        return con.sql(
            "SELECT provider, model, input_usd_per_mtok, output_usd_per_mtok, usd_per_minute, usd_per_kchar, "
            "taken_on, source FROM model_prices ORDER BY provider, model"
        ).pl()


def set_price(
    provider: str,
    model: str,
    prices: dict[str, float],
    taken_on: date,
    source: str | None = None,
    db_path: Path | None = None,
) -> None:
    """Add a model's price or replace the given units of an existing one (units not given keep
    their value), stamped with the day it was read."""
    unknown = set(prices) - set(UNITS)
    if unknown:
        raise ValueError(f"Unknown price unit: {', '.join(sorted(unknown))}.")
    if not prices:
        raise ValueError("Give at least one price.")
    if any(value < 0 for value in prices.values()):
        raise ValueError("A price cannot be negative.")
    columns = list(prices)
    with transaction(db_path) as con:
        con.execute(
            f"INSERT INTO model_prices (provider, model, {', '.join(columns)}, taken_on, source) "
            f"VALUES (?, ?, {', '.join('?' * len(columns))}, ?, ?) "
            f"ON CONFLICT (provider, model) DO UPDATE SET "
            f"{', '.join(f'{c} = excluded.{c}' for c in columns)}, taken_on = excluded.taken_on, "
            "source = coalesce(excluded.source, model_prices.source)",
            [provider, model, *prices.values(), taken_on, source],
        )
