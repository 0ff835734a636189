"""List prices of the models a call uses, with the date each was read. Ingest prices a span from
this table when the span carries no cost of its own, so keeping it current keeps cost honest."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from warehouse import trace_mapping
from warehouse.db import connect, transaction
from warehouse.errors import CallboardError

UNITS = ("input_usd_per_mtok", "output_usd_per_mtok", "usd_per_minute", "usd_per_kchar")

# Which price a model takes. Providers report dated names ("gpt-4.1-mini-2025-04-14"), so a model
# takes the price of its exact name, else of the longest priced name it starts with (then "-"),
# preferring the price its own provider lists. Span loading applies the same two fragments in bulk
# (aliased model_prices p); `price_for` applies them to one model.
PRICE_MATCH = "lower({model}) = p.model OR starts_with(lower({model}), p.model || '-')"
PRICE_RANK = "(p.provider = lower({provider})) DESC NULLS LAST, length(p.model) DESC"

# A stored span that reported usage (tokens, audio seconds, characters) but found no price: its
# cost is unknown, not zero. Span loading marks new spans the same way from their parsed columns.
STORED_SPAN_UNPRICED = (
    "(cost_usd IS NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL "
    f"OR {trace_mapping.field('audio_seconds', trace_mapping.stored)} IS NOT NULL "
    f"OR {trace_mapping.field('tts_characters', trace_mapping.stored)} IS NOT NULL))"
)


def price_for(con: duckdb.DuckDBPyConnection, provider: str | None, model: str) -> dict | None:
    """The price row (provider, model and the UNITS) that `model` from `provider` is charged at,
    or None when no priced name matches."""
    cursor = con.execute(
        f"SELECT p.provider, p.model, {', '.join(f'p.{unit}' for unit in UNITS)} FROM model_prices p "
        f"WHERE {PRICE_MATCH.format(model='$model')} ORDER BY {PRICE_RANK.format(provider='$provider')} LIMIT 1",
        {"model": model, "provider": provider},
    )
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


def unpriced_models(db_path: Path | None = None) -> pl.DataFrame:
    """Models whose spans reported usage but found no list price, with how many spans and calls
    they left without a cost; `prices set` adds the price (for spans ingested after it)."""
    with connect(db_path) as con:
        return con.sql(
            f"SELECT provider, model, count(*) AS spans, count(DISTINCT call_id) AS calls FROM spans "
            f"WHERE {STORED_SPAN_UNPRICED} GROUP BY ALL ORDER BY calls DESC, provider, model"
        ).pl()


def price_command(provider: str | None, model: str | None) -> str:
    """The command that prices `model` (token prices; speech models take --per-minute or --per-kchar)."""
    return (f"python -m warehouse prices set {provider or 'PROVIDER'} {model or 'MODEL'} "
            f"--input-per-mtok … --output-per-mtok … --taken-on YYYY-MM-DD")


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
        raise CallboardError(f"Unknown price unit: {', '.join(sorted(unknown))}.")
    if not prices:
        raise CallboardError("Give at least one price.")
    if not all(math.isfinite(value) for value in prices.values()):
        raise CallboardError(
            "A price must be a finite number of dollars (not NaN or infinity): costs and caps add it up."
        )
    if any(value < 0 for value in prices.values()):
        raise CallboardError("A price cannot be negative.")
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
