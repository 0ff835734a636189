"""The receiver's spool: accepted request bodies wait on disk until they are merged.

The live receiver answers a client only after the body is on disk here, so nothing accepted is
lost while the warehouse is busy or the process is killed. Each body (OTLP protobuf, `.pb`, or
OTLP/JSON, `.json`, as the client sent it, unzipped) is written under `incoming/`, fsynced,
renamed into place and the folder fsynced, so after the answer the file survives a crash of the
process or the machine; a reader never sees half a file, and a write that fails (a full disk)
leaves nothing behind. Names start with the arrival time, so sorting them gives arrival order, and
end with the number of spans the receiver counted in the body (`exporter_drained` reads it).

The spool has a byte budget: once the bodies waiting reach it, `Spool.write` refuses with
`SpoolFull` and the receiver answers 503 with Retry-After until the loader catches up.

The loader turns batches of the oldest files into chunks (one line per request; protobuf is
decoded into Arrow columns here, off the request path), so each batch is parsed by DuckDB at once,
and deletes the files only after the transaction holding them has committed. A
file merged but not deleted when the process dies is merged again on restart: its spans are
skipped as already stored.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Set
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingest.lines import LineChunk, bytes_array, line_table
from ingest.otlp import SpanParser, open_scratch
from ingest.otlp_protobuf import Piece, requests_table
from ingest.run_log import begin_run, end_run
from ingest.summary import IngestSummary
from ingest.traces import load_stream
from warehouse.db import Attacher, WarehouseBusy, warehouse_path
from warehouse.pii import PATTERNS
from warehouse.span_loading import compile_ahead

PROTOBUF, JSON = ".pb", ".json"
BATCH_BYTES = 8 * 1024 * 1024  # bodies per parse chunk (45,000 SDK spans), so parsing and merging overlap
MIN_BATCH_BYTES = 2 * 1024 * 1024  # a parse of fewer spans costs more per span: wait for more while they come
QUIET_S, QUIET_GAPS = 0.05, 3  # the exporters have paused: see burst_pause
MAX_WAIT_S = 1.0  # the longest the first body of a batch waits for company
MERGE_EVERY_S = 2.0  # while bodies keep coming, merges (~0.15 s of CPU each, whatever their size) are this far apart
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


def spooled_at(path: Path) -> float:
    """When a body was spooled, in seconds since the epoch (its name starts with the time)."""
    return int(path.name.split("-", 1)[0]) / 1e9


def spans_in(path: Path) -> int | None:
    """The spans the receiver counted in a spooled body (None for a name without the count)."""
    parts = path.stem.split("-")
    return int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None


def waited_s(path: Path) -> float:
    """How long a spooled body has waited; forever if the clock says it was spooled in the future
    (the clock was set back), so it is loaded at once rather than held until the clock catches up."""
    waited = time.time() - spooled_at(path)
    return waited if waited >= 0 else math.inf


def waiting(folder: Path) -> list[Path]:
    """Spooled files not merged yet, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (PROTOBUF, JSON) and p.is_file())


class Spool:
    """The spool folder and the bytes waiting in it, counted in memory shared by the receiver's
    process, which adds bodies, and the loader's, which removes them (so no request lists the
    folder)."""

    def __init__(self, folder: Path, max_bytes: int = MAX_SPOOL_BYTES, waiting_bytes: Synchronized | None = None,
                 ) -> None:
        self.folder, self.max_bytes = folder, max_bytes
        self.incoming = folder / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        if waiting_bytes is None:
            already = sum(path.stat().st_size for path in waiting(folder))
            waiting_bytes = multiprocessing.get_context("spawn").Value("q", already)
        self.waiting_bytes = waiting_bytes

    @property
    def bytes_waiting(self) -> int:
        return self.waiting_bytes.value

    def clear_incoming(self) -> None:
        """Delete bodies a process died writing: they were never answered, so their clients send
        them again. Only the receiver, at its start, may do this."""
        for partial in self.incoming.iterdir():
            partial.unlink()

    def _count(self, change: int) -> None:
        with self.waiting_bytes.get_lock():
            self.waiting_bytes.value += change

    def write(self, body: bytes, suffix: str, spans: int = 0) -> Path:
        """Store one request body (of `spans` spans, as the receiver counted them) durably;
        `SpoolFull` when it would go over the budget, `OSError` (nothing left behind) when the disk
        refuses it."""
        with self.waiting_bytes.get_lock():
            if self.waiting_bytes.value + len(body) > self.max_bytes:
                raise SpoolFull(f"{self.waiting_bytes.value:,} bytes are waiting to be loaded")
            self.waiting_bytes.value += len(body)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}-{spans}{suffix}"
        partial, final = self.incoming / name, self.folder / name
        try:
            _write_durably(partial, body)
            os.replace(partial, final)
            fsync_folder(self.folder)
        except BaseException:
            partial.unlink(missing_ok=True)
            self._count(-len(body))
            raise
        return final

    def next_batch(self, max_bytes: int = BATCH_BYTES, skip: Set[Path] = frozenset()) -> list[Path]:
        """The oldest spooled files not in `skip`, up to `max_bytes` (at least one), all of one
        encoding (the two are parsed differently)."""
        batch: list[Path] = []
        total = 0
        for path in waiting(self.folder):
            if path in skip:
                continue
            size = path.stat().st_size
            if batch and (total + size > max_bytes or path.suffix != batch[0].suffix):
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
        self._count(-freed)


def _json_line(path: Path) -> bytes:
    """A spooled OTLP/JSON body as one line (UTF-8); bytes that are not UTF-8 (a file damaged on
    disk) are replaced, so the line is refused by the parser, not retried forever."""
    data = path.read_bytes()
    if not data.isascii():
        data = data.decode("utf-8", "replace").encode()
    # JSON strings cannot hold raw newlines, so joining the lines keeps the document intact.
    return data.replace(b"\r", b" ").replace(b"\n", b" ")


def batch_chunk(files: list[Path]) -> LineChunk:
    """The batch (all protobuf or all JSON, see `Spool.next_batch`) as one chunk, line N being
    the Nth request. Protobuf bodies are decoded straight into Arrow columns; one that no longer
    decodes (damaged on disk) is a refused line. JSON bodies become one Arrow string column."""
    if files[0].suffix == PROTOBUF:
        bodies = [path.read_bytes() for path in files]
        table, bad = requests_table([Piece(body, number) for number, body in enumerate(bodies, 1)])
        return LineChunk(table, bad, sum(len(body) for body in bodies))
    lines = [_json_line(path) for path in files]
    docs = bytes_array(lines, pa.string())
    return LineChunk(line_table(np.arange(1, len(lines) + 1), docs), [], sum(len(line) for line in lines))


def exporter_drained(batch: list[Path]) -> bool:
    """Whether the newest body ends a run of full exports: bodies of one span count (an exporter's
    batch size), then one with fewer. The OpenTelemetry SDK's `BatchSpanProcessor` exports full
    batches while its queue holds one, then what is left once it has drained, so a short body after
    full ones is the end of that exporter's burst, and there is nothing to wait for. Bodies of
    varied sizes (many exporters, or exports on the SDK's timer) never look like this; a guess
    wrong only costs a parse, since the merges keep their own pace (`MERGE_EVERY_S`)."""
    counts = [spans_in(path) for path in batch]
    return len(counts) > 2 and len(set(counts[:-1])) == 1 and counts[0] is not None \
        and counts[-1] is not None and counts[-1] < counts[0]


def burst_pause(batch: list[Path], quiet_s: float) -> float:
    """How long without a body means the exporters have paused: `QUIET_GAPS` of the mean gap
    between the batch's bodies (at least `QUIET_S`), or `quiet_s` as before for one body. A
    single exporter sending back to back on an idle machine sends every 20 ms or so; on a busy
    one, less often and less regularly."""
    if len(batch) < 2:
        return quiet_s
    return max(QUIET_S, QUIET_GAPS * (spooled_at(batch[-1]) - spooled_at(batch[0])) / (len(batch) - 1))


class SpoolLoader:
    """Merges the spool whenever bodies arrive, until told to stop. While the warehouse is busy
    the bodies simply wait on disk; a failed load is retried after `retry_s`.

    The loader's counts go into one `ingest_runs` row of kind `receiver`, opened at its first
    load and closed when it stops. Refused spans are quarantined with the spool folder as their
    source and "line N, span K" as their place: the Kth span of the Nth request of a batch."""

    def __init__(self, spool: Spool, wake: Event, stopping: Event, *, db_path: Path | None = None,
                 redact: bool = False, poll_s: float = 1.0, retry_s: float = 2.0,
                 log: Callable[[str], None] = print) -> None:
        self.spool, self.db_path, self.redact = spool, db_path, redact
        self.poll_s, self.retry_s, self.log = poll_s, retry_s, log
        self.summary: IngestSummary | None = None
        self._wake, self._stopping = wake, stopping
        self._scratch: duckdb.DuckDBPyConnection | None = None  # opened at the first load, kept for the next
        self._parser: SpanParser | None = None  # on the scratch database, its queries prepared once
        self._warehouse: Attacher | None = None  # what each merge attaches the file to, kept for the next

    @property
    def folder(self) -> Path:
        return self.spool.folder

    def load_waiting(self) -> None:
        """Merge what is spooled and what arrives meanwhile, in one `load_stream`: each batch is
        parsed as soon as it is taken and merged once the merge before it has committed (at most
        every `MERGE_EVERY_S` while more keeps coming), its files deleted then. A batch is taken
        once it holds `MIN_BATCH_BYTES`, once the exporters have paused (no body for `QUIET_S`, or
        for `QUIET_GAPS` of the gaps between the batch's bodies when they send more slowly) or its
        newest body shows an exporter has drained its queue (`exporter_drained`), or once
        its first body has waited `MAX_WAIT_S`: while they keep sending, the spans are parsed in
        chunks of thousands (a parse or a merge of a few costs several times the CPU per span);
        once they stop, the last of them are taken at once. The load ends, its last batch merged,
        as soon as nothing is left in the spool."""
        if self.summary is None:
            self.summary = begin_run("receiver", [self.folder], self.db_path, unit="spans")
        parser = self._opened_parser()
        pending: deque[list[Path]] = deque()  # batches handed over and not merged yet, in order
        merged_spans = self.summary.loaded

        def batches() -> Iterator[tuple[str, LineChunk]]:
            taken: set[Path] = set()
            quiet_s = QUIET_S
            while not self._stopping.is_set():
                self._wake.clear()  # before listing: a body spooled from now on ends the wait below
                batch = self.spool.next_batch(skip=taken)
                if not batch:
                    return
                quiet_s = burst_pause(batch, quiet_s)
                paused_s = waited_s(batch[-1])
                if (sum(path.stat().st_size for path in batch) < MIN_BATCH_BYTES and paused_s < quiet_s
                        and waited_s(batch[0]) < MAX_WAIT_S and not exporter_drained(batch)):
                    self._wake.wait(min(quiet_s - paused_s, MAX_WAIT_S))
                    continue  # more came, or the exporters have paused: look again
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

        load_stream(batches(), self.summary, parser=parser, warehouse=self._attacher(), redact=self.redact,
                    on_merged=merged, merge_every_s=MERGE_EVERY_S)

    def _opened_parser(self) -> SpanParser:
        """The parser on the scratch database, opened at the first call and kept for every load."""
        if self._parser is None:
            self._scratch = open_scratch(PATTERNS if self.redact else ())
            self._parser = SpanParser(self._scratch)
        return self._parser

    def _attacher(self) -> Attacher:
        """The in-memory DuckDB each merge attaches the warehouse file to, made at the first call
        and kept for every load (the file itself is held only while a merge runs)."""
        if self._warehouse is None:
            self._warehouse = Attacher(self.db_path)
        return self._warehouse

    def run(self) -> None:
        """Load until stopped, then close the run. What the first load would otherwise pay for, on
        the clock of the first requests, is done first: the parsing database and the merge's SQL."""
        self._opened_parser()
        self._attacher()
        compile_ahead()
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
        if self._parser is not None:
            self._parser.close()
        if self._scratch is not None:
            self._scratch.close()
        if self._warehouse is not None:
            self._warehouse.close()
        if self.summary is not None:
            with contextlib.suppress(WarehouseBusy):
                end_run(self.summary, self.db_path)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _quiet(line: str) -> None:
    pass


def _loader_main(folder: Path, max_bytes: int, waiting_bytes: Synchronized, wake: Event, stopping: Event,
                 db_path: Path | None, redact: bool, poll_s: float, quiet: bool) -> None:
    """The loader process: loads until the receiver says stop or dies (then the load in progress
    finishes and the rest waits on disk). Ctrl-C reaches the whole process group; the receiver
    decides when its loader stops, so the loader ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()

    def stop_when_orphaned() -> None:
        assert parent is not None
        multiprocessing.connection.wait([parent.sentinel])
        stopping.set()
        wake.set()

    threading.Thread(target=stop_when_orphaned, daemon=True).start()
    loader = SpoolLoader(Spool(folder, max_bytes, waiting_bytes), wake, stopping, db_path=db_path, redact=redact,
                         poll_s=poll_s, log=_quiet if quiet else _to_stderr)
    loader.run()


class LoaderProcess:
    """The loader in a process of its own: converting and parsing are CPU work in Python and
    DuckDB, and in the receiver's process they would hold the interpreter lock the requests need
    (a 512-span request took 65 ms instead of 24 ms while a load ran)."""

    def __init__(self, spool: Spool, *, db_path: Path | None = None, redact: bool = False, poll_s: float = 1.0,
                 quiet: bool = False) -> None:
        context = multiprocessing.get_context("spawn")  # fork is unsafe once DuckDB or Arrow threads exist
        self._wake, self._stopping = context.Event(), context.Event()
        self.process = context.Process(
            target=_loader_main, name="spool-loader", daemon=True,
            args=(spool.folder, spool.max_bytes, spool.waiting_bytes, self._wake, self._stopping, db_path, redact,
                  poll_s, quiet))

    def start(self) -> None:
        self.process.start()

    def wake(self) -> None:
        """A body was spooled: load soon."""
        self._wake.set()

    def stop(self, wait_s: float = 10.0) -> None:
        """Let the load in progress finish (for up to `wait_s`); what is left, or what a load still
        waiting for a busy warehouse had, stays spooled for the next start. The loader ignores
        SIGTERM (see `_loader_main`), so one still waiting is killed: a transaction cut short is
        rolled back by DuckDB, and its files, deleted only after a commit, load on the next start."""
        self._stopping.set()
        self._wake.set()
        self.process.join(wait_s)
        if self.process.is_alive():
            _to_stderr("stopping with the warehouse still busy; the spooled requests load on the next start")
            self.process.kill()
            self.process.join()
