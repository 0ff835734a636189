"""The one module that opens the warehouse file.

DuckDB lets one process hold a file read-write, and while it does no other process may open the
file at all. Callboard therefore never keeps the file open: every process (the app, ingest, the
live receiver's loader, judge runs) opens it for one short unit of work and closes it again, and
waits with backoff while another process holds it. Writers keep their turn short by doing slow
work (parsing, calling LLMs) before they open the file. See docs/architecture.md.
"""

from __future__ import annotations

import errno
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.errors import CallboardError
from warehouse.migrate import migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "var" / "callboard.duckdb"  # git-ignored; data/ holds only code
DEFAULT_WAIT_S = 60.0  # read when a unit of work opens the file, so a test may shorten it

_migrated: set[Path] = set()
_migrating = threading.Lock()  # threads opening a brand-new file must not both create its schema


class WarehouseBusy(CallboardError):
    """Another process held the warehouse for longer than we were willing to wait. The title names
    neither the file's path nor the holder's PID (DuckDB's own message, kept as the cause, does)."""


class WarehouseUnavailable(CallboardError):
    """The warehouse file cannot be opened or created: CALLBOARD_DB names something that is not a
    DuckDB file, or a folder this user cannot write."""


class DiskFull(CallboardError):
    """A write found no room on the disk holding the warehouse. The transaction it was part of is
    rolled back, so trying again once there is room is safe."""


DISK_FULL = ("The disk holding the warehouse is full: free some space and try again. What was already saved "
             "stays, and trying again adds nothing twice.")
_UNAVAILABLE = ("Callboard cannot open the warehouse {name}: set CALLBOARD_DB to a DuckDB file in a folder "
                "this user can write.")


def warehouse_path() -> Path:
    """The warehouse file: `CALLBOARD_DB` when set, else var/callboard.duckdb."""
    return Path(os.environ.get("CALLBOARD_DB") or DEFAULT_PATH).resolve()


def write_stamp(path: Path | None = None) -> tuple[int, ...]:
    """What changes whenever any process commits a write to the warehouse: the file's and its
    write-ahead log's modification time and size. Reading leaves both alone (even through a
    read-write connection), so caches keyed on this are kept until a write, whoever made it."""
    path = path or warehouse_path()
    stamp: list[int] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            found = file.stat()
            stamp += [found.st_mtime_ns, found.st_size]
        except FileNotFoundError:
            stamp += [0, 0]
    return tuple(stamp)


def _is_lock_conflict(error: duckdb.Error) -> bool:
    """True when the file is held: by another process (its lock), or in this process by another
    DuckDB instance (an `Attacher` has it attached while a thread connects, or the reverse)."""
    return "lock" in str(error).lower() or isinstance(error, duckdb.ResourceInUseException)


def _is_disk_full(error: BaseException) -> bool:
    """True for a write refused for lack of room, whether Python or DuckDB (which says it in words) made it."""
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error)


_Opened = TypeVar("_Opened")


def _when_free(path: Path, wait_s: float, open_file: Callable[[], _Opened]) -> _Opened:
    """`open_file()`'s result once the file at `path` is free: retried with jittered backoff while
    another process holds it, for up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    pause = 0.005
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open_file()
        except (duckdb.IOException, duckdb.ResourceInUseException) as error:
            if _is_disk_full(error):
                raise DiskFull(DISK_FULL) from error
            if not _is_lock_conflict(error):
                raise WarehouseUnavailable(_UNAVAILABLE.format(name=path.name)) from error
            if time.monotonic() > deadline:
                raise WarehouseBusy(
                    f"The warehouse is busy: another Callboard process (an ingest, a judge run) has held it for "
                    f"over {wait_s:.0f} s. Try again in a moment."
                ) from error
        except OSError as error:  # a folder we cannot make
            if _is_disk_full(error):
                raise DiskFull(DISK_FULL) from error
            raise WarehouseUnavailable(_UNAVAILABLE.format(name=path.name)) from error
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.25)


def set_session(con: duckdb.DuckDBPyConnection) -> None:
    """What every connection we open assumes: times in UTC, and no progress bar (DuckDB draws one on
    stderr for any query over two seconds, terminal or not, so a CLI's log or a server's journal fills
    with bars)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")


# What a large load (a piece of an export, of a call log) is merged within: DuckDB spills the rest to
# disk. Without a limit, each piece's reads of the growing tables stay cached, so memory grows with the
# warehouse rather than with the piece.
LOAD_MEMORY = "512MB"


def hold_memory(con: duckdb.DuckDBPyConnection, limit: str = LOAD_MEMORY) -> None:
    """Hold the connection's DuckDB to `limit` of memory (it spills the rest to its temp directory)."""
    con.execute(f"SET memory_limit = '{limit}'")


def open_connection(path: Path | None = None, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write, waiting while another process holds it, and bring its
    schema up to date. The caller must close it; prefer `connect()`."""
    path = path or warehouse_path()
    con = _when_free(path, DEFAULT_WAIT_S if wait_s is None else wait_s, lambda: duckdb.connect(str(path)))
    set_session(con)
    _migrated_once(path, con)
    return con


def _migrated_once(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Bring the schema up to date the first time this process opens `path`."""
    if path not in _migrated:
        with _migrating:
            if path not in _migrated:
                migrate(con)
                _migrated.add(path)


@contextmanager
def _disk_full_said() -> Iterator[None]:
    """A write refused for lack of room, whoever raised it, as `DiskFull`."""
    try:
        yield
    except (duckdb.Error, OSError) as error:
        if _is_disk_full(error):
            raise DiskFull(DISK_FULL) from error
        raise


@contextmanager
def connect(path: Path | None = None, wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse for one unit of work: opened (waiting if another process has it), then closed."""
    con = open_connection(path, wait_s)
    try:
        with _disk_full_said():
            yield con
    finally:
        con.close()


@contextmanager
def transaction(path: Path | None = None, wait_s: float | None = None,
                opened: Callable[[], object] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Like `connect()`, inside one transaction: all of the unit's writes land, or none do.
    `opened` is called once the file is held (no other process can write it until the end): the
    app's caches take the warehouse's stamp there, to tell its own write from another's."""
    with connect(path, wait_s) as con:
        if opened is not None:
            opened()
        with _committed(con):
            yield con


@contextmanager
def _committed(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction on `con`: committed when the block ends, rolled back when it raises."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


class Attacher:
    """The warehouse for a process that writes it again and again, a short unit of work at a time
    (the receiver's loader, which merges every burst of spans as it ends): one in-memory DuckDB kept
    for the process's life, which ATTACHes the file for each unit and DETACHes it after. The file is
    held exactly as long as with `transaction()` (the lock goes with the DETACH, the checkpoint
    with it), but taking it costs ~1 ms of CPU instead of ~17: `duckdb.connect` builds a database
    instance each time, every built-in function registered again. Not for two threads at once."""

    _NAME = "warehouse"

    def __init__(self, path: Path | None = None, wait_s: float | None = None) -> None:
        self.path, self.wait_s = path or warehouse_path(), wait_s
        self._instance = duckdb.connect(":memory:")
        # The DETACH checkpoints anyway: doing it at the commit instead spares writing the
        # transaction to the write-ahead log first (~10 ms for a few thousand spans, and one fsync).
        self._instance.execute("SET checkpoint_threshold = '0b'")
        # One thread: a merge's statements are small, and splitting them into tasks cost ~20% more
        # CPU (9k spans: 190 against 155 ms; 120k: 0.8 against 0.65 s) for a wall time no shorter
        # once the cores are shared with the receiver and its exporters.
        self._instance.execute("SET threads = 1")

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Like `transaction()`: the file attached (waiting while another process holds it), one
        transaction, then detached. The unit works on a cursor of its own, made the default
        catalog's user, so its SQL names the warehouse's tables as on a connection to the file, and
        its temporary tables go with the cursor."""
        con = self._instance.cursor()
        try:
            set_session(con)
            literal = "'" + str(self.path).replace("'", "''") + "'"
            _when_free(self.path, DEFAULT_WAIT_S if self.wait_s is None else self.wait_s,
                       lambda: con.execute(f"ATTACH {literal} AS {self._NAME}"))
            try:
                con.execute(f"USE {self._NAME}")
                _migrated_once(self.path, con)
                with _disk_full_said(), _committed(con):
                    yield con
            finally:
                con.execute("USE memory")
                with _disk_full_said():
                    con.execute(f"DETACH {self._NAME}")
        finally:
            con.close()

    def close(self) -> None:
        self._instance.close()
