"""The one module that opens the warehouse file.

DuckDB lets one process hold a file read-write, and while it does no other process may open the
file at all. Callboard therefore never keeps the file open: every process (the app, ingest, the
live receiver's loader, judge runs) opens it for one short unit of work and closes it again, and
waits with backoff while another process holds it. Writers keep their turn short by doing slow
work (parsing, calling LLMs) before they open the file. See docs/architecture.md.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.migrate import migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "var" / "callboard.duckdb"  # git-ignored; data/ holds only code
DEFAULT_WAIT_S = 60.0

_migrated: set[Path] = set()
_migrating = threading.Lock()  # threads opening a brand-new file must not both create its schema


class WarehouseBusy(Exception):
    """Another process held the warehouse for longer than we were willing to wait."""


def warehouse_path() -> Path:
    """The warehouse file: `CALLBOARD_DB` when set, else var/callboard.duckdb."""
    return Path(os.environ.get("CALLBOARD_DB") or DEFAULT_PATH).resolve()


def _is_lock_conflict(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


def open_connection(path: Path | None = None, wait_s: float = DEFAULT_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write, waiting while another process holds it, and bring its
    schema up to date. The caller must close it; prefer `connect()`."""
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException as error:
            if not _is_lock_conflict(error) or time.monotonic() > deadline:
                if _is_lock_conflict(error):
                    raise WarehouseBusy(
                        f"The warehouse {path.name} is busy: another Callboard process has held it "
                        f"for over {wait_s:.0f} s. Try again in a moment."
                    ) from error
                raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.25)
    con.execute("SET TimeZone = 'UTC'")
    if path not in _migrated:
        with _migrating:
            if path not in _migrated:
                migrate(con)
                _migrated.add(path)
    return con


@contextmanager
def connect(path: Path | None = None, wait_s: float = DEFAULT_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse for one unit of work: opened (waiting if another process has it), then closed."""
    con = open_connection(path, wait_s)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def transaction(path: Path | None = None, wait_s: float = DEFAULT_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """Like `connect()`, inside one transaction: all of the unit's writes land, or none do."""
    with connect(path, wait_s) as con:
        con.begin()
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()
