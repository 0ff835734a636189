"""Load OTLP trace files into spans, calls and turns.

A pipeline of three steps per chunk of lines: read (Python, cheap), parse (DuckDB in a scratch
in-memory database, on worker threads so two chunks parse on two cores) and merge (one short
write transaction on the warehouse, in file order). The warehouse is held only for the merge.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from queue import Empty, Full, Queue
from typing import TypeVar

import duckdb
import pyarrow as pa

from ingest.files import expand_paths
from ingest.lines import CUT_OFF, LineChunk
from ingest.otlp import ParsedChunk, SpanParser, open_scratch, parse_spans
from ingest.progress import Progress
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from ingest.trace_files import TRACE_SUFFIXES, detect_format, read_trace_chunks
from warehouse.db import Attacher, transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.pii import PATTERNS, redact_columns
from warehouse.span_loading import load_spans

_PARSE_AHEAD = 2  # chunks parsed while one merges: two cores busy, memory a few chunks
# Spans merged per transaction: parsed chunks are merged together until they reach about one
# DuckDB row group (122,880 rows), so the insert writes whole row groups to the file at commit
# instead of logging every row first; on two cores one such merge takes a fraction of a second.
MERGE_SPANS = 120_000


_T = TypeVar("_T")


@dataclass(frozen=True)
class _Parsed:
    source: str
    spans: pa.Table
    rejects: pa.Table
    nbytes: int
    records: int


def ingest_traces(
    paths: Sequence[Path | str], *, db_path: Path | None = None, redact: bool = False, progress: bool = False
) -> IngestSummary:
    """Load every OTLP trace file in `paths` (files, folders, globs). Spans already in the
    warehouse are skipped, calls that gain spans are rebuilt, bad records are quarantined."""
    files = expand_paths(paths, TRACE_SUFFIXES)
    formats = {path: detect_format(path) for path in files}
    bar = Progress(sum(path.stat().st_size for path in files), progress)
    try:
        with recorded_run("traces", files, db_path, unit="spans") as summary:
            load_chunks(_chunks(files, formats), summary, db_path=db_path, redact=redact, bar=bar)
    finally:
        bar.close()
    return summary


@dataclass
class _Merger:
    """Where merged chunks go: the run's counts, the progress bar, who to tell once they commit."""

    summary: IngestSummary
    unit: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]  # one transaction on the warehouse
    bar: Progress | None
    on_merged: Callable[[list[str]], None] | None
    batch: list[_Parsed] = field(default_factory=list)

    def add(self, parsed: _Parsed) -> None:
        """Queue `parsed`; merge the queue once it holds `MERGE_SPANS` spans."""
        self.batch.append(parsed)
        if sum(p.spans.num_rows for p in self.batch) >= MERGE_SPANS:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            _merge(self.batch, self.summary, self.unit, self.bar)
            if self.on_merged is not None:
                self.on_merged([p.source for p in self.batch])
            self.batch = []


def load_chunks(
    chunks: Iterable[tuple[str, LineChunk]], summary: IngestSummary, *, db_path: Path | None = None,
    redact: bool = False, bar: Progress | None = None, on_merged: Callable[[list[str]], None] | None = None,
    scratch: duckdb.DuckDBPyConnection | None = None,
) -> None:
    """Parse `chunks` (source name, lines) two at a time off the warehouse, and merge them in
    order, in transactions of about `MERGE_SPANS` spans, adding the counts to `summary`.
    `on_merged` hears the sources of each transaction once it has committed. A caller that loads
    again and again (the receiver's loader) passes its own `open_scratch(...)`, kept open between
    loads; otherwise one is opened for this load."""
    with contextlib.ExitStack() as owned:
        if scratch is None:
            scratch = owned.enter_context(contextlib.closing(open_scratch(PATTERNS if redact else ())))
        _parse_and_merge(chunks, scratch, _Merger(summary, partial(transaction, db_path), bar, on_merged), redact)


def load_stream(
    chunks: Iterable[tuple[str, LineChunk]], summary: IngestSummary, *, parser: SpanParser, warehouse: Attacher,
    redact: bool = False, on_merged: Callable[[list[str]], None] | None = None, merge_every_s: float = 0.0,
) -> None:
    """Parse and merge `chunks` that come over time with no end known ahead (the receiver's spool),
    adding the counts to `summary`. Each chunk is parsed, on a thread of its own, as soon as it
    comes, and merged once the merge before it has committed and `merge_every_s` has passed since
    that one began, in one transaction with whatever else has been parsed meanwhile (up to about
    `MERGE_SPANS`); what is left when the chunks end is merged at once. So the last spans of a
    burst are merged moments after they are parsed, a steady stream is merged every few seconds,
    and when spans come faster than the merges, transactions grow instead of queueing.
    `on_merged` as for `load_chunks`. Each merge attaches the file to the caller's `warehouse`,
    kept between loads."""
    merger = _Merger(summary, warehouse.transaction, None, on_merged)
    parsed = (_parse(parser, source, chunk, redact) for source, chunk in chunks)
    last_merge = -math.inf
    for ready in _ready_ahead(parsed, _PARSE_AHEAD):
        for item in ready:
            merger.add(item)
        if time.monotonic() - last_merge >= merge_every_s:
            last_merge = time.monotonic()
            merger.flush()
    merger.flush()


def _parse_and_merge(chunks: Iterable[tuple[str, LineChunk]], scratch: duckdb.DuckDBPyConnection, merger: _Merger,
                     redact: bool) -> None:
    parse = partial(parse_spans, scratch)  # on two threads at once: each call binds on a cursor of its own
    with ThreadPoolExecutor(_PARSE_AHEAD) as pool:
        pending: deque[Future[_Parsed]] = deque()
        for source, chunk in _read_ahead(chunks):
            pending.append(pool.submit(_parse, parse, source, chunk, redact))
            if len(pending) > _PARSE_AHEAD:
                merger.add(pending.popleft().result())
        while pending:
            merger.add(pending.popleft().result())
        merger.flush()


def _read_ahead(items: Iterable[_T], depth: int = 1) -> Iterator[_T]:
    """`items`, produced on a thread of their own up to `depth` ahead: reading the next chunk
    of a file overlaps the merge of the last one, which is the pipeline's serial step."""
    for ready in _ready_ahead(items, depth):
        yield from ready


def _ready_ahead(items: Iterable[_T], depth: int) -> Iterator[list[_T]]:
    """`items`, produced on a thread of their own up to `depth` ahead, handed over as lists of
    those produced by the time the consumer asks (at least one). When the consumer stops early
    (a merge failed), the producer stops at its next item and is waited for, so what it uses (the
    receiver's parser) is free again for the next load."""
    queue: Queue[tuple[_T | None, BaseException | None, bool]] = Queue(maxsize=depth)
    done = threading.Event()

    def hand_over(entry: tuple[_T | None, BaseException | None, bool]) -> bool:
        while not done.is_set():
            with contextlib.suppress(Full):
                queue.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over((item, None, False)):
                    return
            hand_over((None, None, True))
        except BaseException as error:  # handed to the consumer, which raises it
            hand_over((None, error, True))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ready: list[_T] = []
            item, error, ended = queue.get()
            while not ended:
                ready.append(item)  # type: ignore[arg-type]
                try:
                    item, error, ended = queue.get_nowait()
                except Empty:
                    break
            if ready:
                yield ready
            if error is not None:
                raise error
            if ended:
                return
    finally:
        done.set()
        thread.join()


def _chunks(files: list[Path], formats: dict[Path, str]) -> Iterator[tuple[str, LineChunk]]:
    for path in files:
        for chunk in read_trace_chunks(path, formats[path]):
            yield str(path), chunk


def _parse(parse: Callable[[pa.Table], ParsedChunk], source: str, chunk: LineChunk, redact: bool) -> _Parsed:
    parsed = parse(chunk.lines)
    rejects = parsed.rejects.select(["location", "reason", "record"]).cast(_TEXT_REJECTS)
    if redact:
        rejects = redact_columns(rejects, ("record",))
    unreadable = list(chunk.unreadable)
    if chunk.cut_off is not None:
        unreadable.append((chunk.cut_off[0], CUT_OFF, chunk.cut_off[1]))
    if unreadable:
        rejects = pa.concat_tables([rejects.cast(_BINARY_REJECTS), _unreadable(unreadable, redact)])
    return _Parsed(source, parsed.spans, rejects, chunk.bytes_read, parsed.records + len(unreadable))


_TEXT_REJECTS = pa.schema([("location", pa.string()), ("reason", pa.string()), ("record", pa.string())])
_BINARY_REJECTS = pa.schema([("location", pa.string()), ("reason", pa.string()), ("record", pa.binary())])


def _unreadable(lines: list[tuple[int, str, bytes]], redact: bool) -> pa.Table:
    """Lines DuckDB could not take (not UTF-8, cut off by a damaged gzip file), as (number, reason,
    bytes): kept byte for byte, or, when redacting, as text (undecodable bytes replaced) with the
    masks applied."""
    locations = pa.array([f"line {number}" for number, _, _ in lines], pa.string())
    reasons = pa.array([reason for _, reason, _ in lines], pa.string())
    if not redact:
        return pa.Table.from_arrays([locations, reasons, pa.array([raw for _, _, raw in lines], pa.binary())],
                                    schema=_BINARY_REJECTS)
    text = pa.array([raw.decode("utf-8", "replace") for _, _, raw in lines], pa.string())
    masked = redact_columns(pa.Table.from_arrays([locations, reasons, text], schema=_TEXT_REJECTS), ("record",))
    return masked.cast(_BINARY_REJECTS)


def _merge(batch: list[_Parsed], summary: IngestSummary,
           unit: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]], bar: Progress | None) -> None:
    """Parsed chunks, one transaction: their spans, their quarantined records and the run's counts."""
    assert summary.started_at is not None
    spans = pa.concat_tables([p.spans for p in batch])
    records = sum(p.records for p in batch)
    with unit() as con:
        load = load_spans(con, spans, summary.started_at)
        refused = sum(quarantine(con, summary.run_id, p.source, p.rejects) for p in batch)
        add_counts(con, summary.run_id, read=records, loaded=load.loaded, updated=0, unchanged=load.unchanged,
                   quarantined=refused)
    summary.add(read=records, loaded=load.loaded, unchanged=load.unchanged, quarantined=refused)
    summary.calls_rebuilt += load.calls_rebuilt
    summary.unpriced_models = sorted(set(summary.unpriced_models) | set(load.unpriced_models), key=str)
    if bar is not None:
        bar.advance(sum(p.nbytes for p in batch), records)
