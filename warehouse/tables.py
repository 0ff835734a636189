"""The named tables every metric and page query is written over, as ibis tables.

A query written against `Tables` runs unchanged on whichever engine provided them: the DuckDB
file today, a Parquet lake or Spark when a team outgrows one machine (FACTS.md: ibis expressions
gave identical results on DuckDB and PySpark; transpiled SQL did not)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import ibis

TABLE_NAMES = ("calls", "spans", "turns", "outcomes", "judgements", "reviews")


@dataclass(frozen=True)
class Tables:
    calls: ibis.Table
    spans: ibis.Table
    turns: ibis.Table
    outcomes: ibis.Table
    judgements: ibis.Table
    reviews: ibis.Table


def duckdb_tables(con: duckdb.DuckDBPyConnection) -> Tables:
    """The tables of an open warehouse connection."""
    backend = ibis.duckdb.from_connection(con)
    return Tables(**{name: backend.table(name) for name in TABLE_NAMES})
