"""The receiver's spool: accepted request bodies wait on disk until they are merged.

The live receiver answers a client only after the body is on disk here, so nothing accepted is
lost while the warehouse is busy or the process is killed. Each body (OTLP protobuf, `.pb`, or
OTLP/JSON, `.json`, as the client sent it, unzipped) is written under `incoming/`, fsynced,
renamed into place and the folder fsynced, so after the answer the file survives a crash of the
process or the machine; a reader never sees half a file, and a write that fails (a full disk)
leaves nothing behind. Names start with the arrival time, so sorting them gives arrival order.

The spool has a byte budget: once the bodies waiting reach it, `Spool.write` refuses with
`SpoolFull` and the receiver answers 503 with Retry-After until the loader catches up.

The loader turns batches of the oldest files into chunks (one line per request; protobuf is
converted to OTLP/JSON here, off the request path), so each batch is parsed by DuckDB at once,
and deletes the files only after the transaction holding them has committed. A
file merged but not deleted when the process dies is merged again on restart: its spans are
skipped as already stored.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Set
from pathlib import Path

import numpy as np
import pyarrow as pa

from ingest.lines import LineChunk, line_table
from ingest.otlp_protobuf import parse_request, request_to_json
from ingest.run_log import begin_run, end_run
from ingest.summary import IngestSummary
from ingest.traces import load_chunks
from warehouse.db import WarehouseBusy, warehouse_path

PROTOBUF, JSON = ".pb", ".json"
BATCH_BYTES = 8 * 1024 * 1024  # bodies per parse chunk: 20-30k spans, so parsing and merging overlap
MAX_SPOOL_BYTES = 2_000_000_000  # bodies waiting on disk before the receiver answers 503


class SpoolFull(Exception):
    """The bodies waiting to be loaded have reached the spool's budget."""


def default_spool(db_path: Path | None = None) -> Path:
    """`spool/` beside the warehouse file."""
    return (db_path or warehouse_path()).resolve().parent / "spool"


def fsync_folder(folder: Path) -> None:
    """Make the folder's entries (a file renamed into it) durable."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_durably(path: Path, data: bytes) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view):]
        os.fsync(handle)
    finally:
        os.close(handle)


def waiting(folder: Path) -> list[Path]:
    """Spooled files not merged yet, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (PROTOBUF, JSON) and p.is_file())


class Spool:
    """The spool folder and the bytes waiting in it (counted here, so a request never lists the
    folder). Shared by the request threads, which add bodies, and the loader, which removes them."""

    def __init__(self, folder: Path, max_bytes: int = MAX_SPOOL_BYTES) -> None:
        self.folder, self.max_bytes = folder, max_bytes
        self.incoming = folder / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        for partial in self.incoming.iterdir():  # never answered: the client sends them again
            partial.unlink()
        self._lock = threading.Lock()
        self.bytes_waiting = sum(p.stat().st_size for p in waiting(folder))

    def write(self, body: bytes, suffix: str) -> Path:
        """Store one request body durably; `SpoolFull` when it would go over the budget, `OSError`
        (nothing left behind) when the disk refuses it."""
        with self._lock:
            if self.bytes_waiting + len(body) > self.max_bytes:
                raise SpoolFull(f"{self.bytes_waiting:,} bytes are waiting to be loaded")
            self.bytes_waiting += len(body)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{suffix}"
        partial, final = self.incoming / name, self.folder / name
        try:
            _write_durably(partial, body)
            os.replace(partial, final)
            fsync_folder(self.folder)
        except BaseException:
            partial.unlink(missing_ok=True)
            with self._lock:
                self.bytes_waiting -= len(body)
            raise
        return final

    def next_batch(self, max_bytes: int = BATCH_BYTES, skip: Set[Path] = frozenset()) -> list[Path]:
        """The oldest spooled files not in `skip`, up to `max_bytes` (at least one)."""
        batch: list[Path] = []
        total = 0
        for path in waiting(self.folder):
            if path in skip:
                continue
            size = path.stat().st_size
            if batch and total + size > max_bytes:
                break
            batch.append(path)
            total += size
        return batch

    def remove(self, files: list[Path]) -> None:
        """Delete merged files and give their bytes back to the budget."""
        freed = 0
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        with self._lock:
            self.bytes_waiting -= freed


def request_line(path: Path) -> str:
    """A spooled body as one line of OTLP/JSON. A protobuf body that no longer parses (the file
    was damaged on disk) becomes a line the parser refuses, so it is quarantined, not retried forever."""
    data = path.read_bytes()
    if path.suffix == PROTOBUF:
        request = parse_request(data)
        return data.decode("utf-8", "replace") if request is None else request_to_json(request).decode()
    # JSON strings cannot hold raw newlines, so joining the lines keeps the document intact.
    return data.replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "replace")


def batch_chunk(files: list[Path]) -> LineChunk:
    """The batch as one chunk, line N being the Nth request."""
    lines = [request_line(path) for path in files]
    table = line_table(np.arange(1, len(lines) + 1), pa.array(lines, pa.string()))
    return LineChunk(table, [], sum(len(line) for line in lines))


class SpoolLoader:
    """A background thread that merges the spool whenever bodies arrive. While the warehouse is
    busy the bodies simply wait on disk; a failed load is retried after `retry_s`.

    The loader's counts go into one `ingest_runs` row of kind `receiver`, opened at its first
    load and closed by `stop()`. Refused spans are quarantined with the spool folder as their
    source and "line N, span K" as their place: the Kth span of the Nth request of a batch."""

    def __init__(self, spool: Spool, *, db_path: Path | None = None, redact: bool = False,
                 poll_s: float = 1.0, retry_s: float = 2.0, log: Callable[[str], None] = print) -> None:
        self.spool, self.db_path, self.redact = spool, db_path, redact
        self.poll_s, self.retry_s, self.log = poll_s, retry_s, log
        self.summary: IngestSummary | None = None
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="spool-loader", daemon=True)

    @property
    def folder(self) -> Path:
        return self.spool.folder

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A body was spooled: load soon."""
        self._wake.set()

    def stop(self, wait_s: float = 5.0) -> None:
        """Let the load in progress finish (for up to `wait_s`), then close the run. What is left,
        or what a load still waiting for a busy warehouse had, stays spooled for the next start."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(wait_s)
        if self._thread.is_alive():
            self.log("stopping with the warehouse still busy; the spooled requests load on the next start")
        elif self.summary is not None:
            with contextlib.suppress(WarehouseBusy):
                end_run(self.summary, self.db_path)

    def load_waiting(self) -> None:
        """Merge what is spooled, and what arrives meanwhile, until the spool is empty: batches
        go through `load_chunks`' pipeline (the next batch is converted and parsed while the last
        one merges), and each batch's files are deleted once the transaction holding them commits."""
        if self.summary is None:
            self.summary = begin_run("receiver", [self.folder], self.db_path, unit="spans")
        pending: deque[list[Path]] = deque()  # batches handed over and not merged yet, in order
        merged_spans = self.summary.loaded

        def batches() -> Iterator[tuple[str, LineChunk]]:
            taken: set[Path] = set()
            while not self._stopping.is_set():
                batch = self.spool.next_batch(skip=taken)
                if not batch:
                    return
                taken.update(batch)
                pending.append(batch)
                yield str(self.folder), batch_chunk(batch)

        def merged(sources: list[str]) -> None:
            nonlocal merged_spans
            files = [path for _ in sources for path in pending.popleft()]
            self.spool.remove(files)
            assert self.summary is not None
            self.log(f"loaded {self.summary.loaded - merged_spans:,} spans from {len(files):,} requests")
            merged_spans = self.summary.loaded

        load_chunks(batches(), self.summary, db_path=self.db_path, redact=self.redact, on_merged=merged)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not waiting(self.folder):
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            try:
                self.load_waiting()
            except WarehouseBusy as error:
                self.log(f"waiting: {error}")
                self._stopping.wait(self.retry_s)
            except Exception as error:  # keep serving: the bodies stay spooled and are tried again
                self.log(f"load failed, will retry: {type(error).__name__}: {error}")
                self._stopping.wait(self.retry_s)
