"""The named tables every metric and page query is written over, as ibis tables.

A query written against `Tables` runs unchanged on whichever engine provided them: the DuckDB
file today, a Parquet lake or Spark when a team outgrows one machine (FACTS.md: ibis expressions
gave identical results on DuckDB and PySpark; transpiled SQL did not)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import ibis

TABLE_NAMES = ("calls", "spans", "turns", "outcomes", "judgements", "reviews")


class _Named:
    """One table of `Tables`, made the first time it is read and kept on the instance (which then
    answers for it: this descriptor defines no `__set__`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, tables: Tables, owner: type | None = None) -> ibis.Table:
        made = tables.make(self.name)
        tables.__dict__[self.name] = made
        return made


class Tables:
    """The named tables of one unit of reading, each made when a query first names it: on DuckDB,
    making one reads its schema (a query, ~2 ms of CPU, ~11 ms for all six), and most reads name
    one to three of them."""

    calls = _Named()
    spans = _Named()
    turns = _Named()
    outcomes = _Named()
    judgements = _Named()
    reviews = _Named()

    def __init__(self, make: Callable[[str], ibis.Table]) -> None:
        self.make = make

    @classmethod
    def made(cls, **tables: ibis.Table) -> Tables:
        """Tables made already, all six by name."""
        if sorted(tables) != sorted(TABLE_NAMES):
            raise TypeError(f"Tables needs exactly {', '.join(TABLE_NAMES)}; got {', '.join(tables)}")
        return cls(tables.__getitem__)


def duckdb_tables(con: duckdb.DuckDBPyConnection) -> Tables:
    """The tables of an open warehouse connection."""
    return Tables(ibis.duckdb.from_connection(con).table)
