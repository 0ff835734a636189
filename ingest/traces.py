"""Load OTLP trace files into spans, calls and turns.

A pipeline of three steps per chunk of lines: read (Python, cheap), parse (DuckDB in a scratch
in-memory database, on worker threads so two chunks parse on two cores) and merge (one short
write transaction on the warehouse, in file order). The warehouse is held only for the merge.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.files import expand_paths
from ingest.lines import LineChunk
from ingest.progress import Progress
from ingest.redact import PATTERNS, redact_columns
from ingest.run_log import recorded_run
from ingest.summary import RunSummary
from ingest.trace_files import TRACE_SUFFIXES, detect_format, read_trace_chunks
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.span_loading import load_spans
from warehouse.span_parsing import open_scratch, parse_spans

_PARSE_AHEAD = 2  # chunks parsed while one merges: two cores busy, memory a few chunks


@dataclass(frozen=True)
class _Parsed:
    source: str
    spans: pa.Table
    rejects: pa.Table
    nbytes: int
    records: int


def ingest_traces(
    paths: Sequence[Path | str], *, db_path: Path | None = None, redact: bool = False, progress: bool = False
) -> RunSummary:
    """Load every OTLP trace file in `paths` (files, folders, globs). Spans already in the
    warehouse are skipped, calls that gain spans are rebuilt, bad records are quarantined."""
    files = expand_paths(paths, TRACE_SUFFIXES)
    formats = {path: detect_format(path) for path in files}
    bar = Progress(sum(path.stat().st_size for path in files), progress)
    scratch = open_scratch(PATTERNS if redact else ())
    try:
        with recorded_run("traces", files, db_path) as summary, ThreadPoolExecutor(_PARSE_AHEAD) as pool:
            pending: deque[Future[_Parsed]] = deque()
            for path, chunk in _chunks(files, formats):
                pending.append(pool.submit(_parse, scratch, str(path), chunk, redact))
                if len(pending) > _PARSE_AHEAD:
                    _merge(pending.popleft().result(), summary, db_path, bar)
            while pending:
                _merge(pending.popleft().result(), summary, db_path, bar)
    finally:
        scratch.close()
        bar.close()
    return summary


def _chunks(files: list[Path], formats: dict[Path, str]) -> Iterator[tuple[Path, LineChunk]]:
    for path in files:
        for chunk in read_trace_chunks(path, formats[path]):
            yield path, chunk


def _parse(scratch: duckdb.DuckDBPyConnection, source: str, chunk: LineChunk, redact: bool) -> _Parsed:
    parsed = parse_spans(scratch, chunk.lines)
    rejects = parsed.rejects.select(["location", "reason", "record"]).cast(
        pa.schema([("location", pa.string()), ("reason", pa.string()), ("record", pa.string())])
    )
    if chunk.invalid_utf8:
        rejects = pa.concat_tables([rejects.cast(_BINARY_REJECTS), _invalid_utf8(chunk.invalid_utf8, redact)])
    if redact:
        rejects = redact_columns(rejects, ("record",))
    return _Parsed(source, parsed.spans, rejects, chunk.bytes_read, parsed.records + len(chunk.invalid_utf8))


_BINARY_REJECTS = pa.schema([("location", pa.string()), ("reason", pa.string()), ("record", pa.binary())])


def _invalid_utf8(lines: list[tuple[int, bytes]], redact: bool) -> pa.Table:
    """Lines DuckDB could not take: kept byte for byte, or, when redacting, as readable text
    (undecodable bytes replaced) so the masks can apply."""
    records = [raw.decode("utf-8", "replace").encode() if redact else raw for _, raw in lines]
    return pa.table(
        {
            "location": [f"line {number}" for number, _ in lines],
            "reason": ["not valid UTF-8"] * len(lines),
            "record": pa.array(records, pa.binary()),
        }
    )


def _merge(parsed: _Parsed, summary: RunSummary, db_path: Path | None, bar: Progress) -> None:
    """One chunk, one transaction: its spans, its quarantined records and the run's counts."""
    assert summary.started_at is not None
    with transaction(db_path) as con:
        load = load_spans(con, parsed.spans, summary.started_at)
        refused = quarantine(con, summary.run_id, parsed.source, parsed.rejects)
        add_counts(con, summary.run_id, read=parsed.records, loaded=load.loaded, updated=load.updated,
                   quarantined=refused)
    summary.add(read=parsed.records, loaded=load.loaded, updated=load.updated, quarantined=refused)
    bar.advance(parsed.nbytes, parsed.records)
