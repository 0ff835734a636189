"""Numbered schema migrations. `migrations/NNNN_name.sql` files run in order, each once, each in
its own transaction; `schema_version` records which have run, so opening an older warehouse
upgrades it in place and keeps its data."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, Path]]:
    """Every migration file, by version number."""
    found = [(int(m.group(1)), p) for p in MIGRATIONS_DIR.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def applied_migrations(con: duckdb.DuckDBPyConnection) -> set[int]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    return {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    return max(applied_migrations(con), default=0)


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply, in order, every migration the file has not had (up to `target`); return those applied.
    Tracking each number rather than only the highest means a migration that lands after a
    higher-numbered one (two branches of work) still runs."""
    applied = []
    done = applied_migrations(con)
    for number, path in available_migrations():
        if number in done or (target is not None and number > target):
            continue
        con.begin()
        try:
            con.execute(path.read_text())
            con.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [number])
        except BaseException:
            con.rollback()
            raise
        con.commit()
        applied.append(number)
    return applied
