"""Load a hosted voice platform's call export: `python -m ingest platform vapi|retell PATH...`.

A file holds call objects as the platform's API or webhook gives them: one JSON object, a JSON
list of them, or one per line (JSON lines), gzipped or not. Each call becomes the spans a traced
call would have (ingest/vapi.py, ingest/retell.py hold the field tables), goes through the one
OTLP parser and span loader, and is a call like any other.

A call object that cannot be read is quarantined whole with its reason, the others load. Counts
are in calls: read = loaded + updated + unchanged + quarantined. Loading the same export again
changes nothing; a changed export of a call (its analysis arrived later) replaces it. A call
stored from traces or a call log is left alone and the export's record refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ingest import retell, vapi
from ingest.errors import IngestError
from ingest.files import expand_paths
from ingest.lines import BOM, line_table, read_whole
from ingest.otlp import open_scratch, parse_spans
from ingest.platform_spans import CallTrace, RecordProblem, scrubbed
from ingest.run_log import recorded_run
from ingest.summary import IngestSummary
from warehouse.db import transaction
from warehouse.ingest_runs import add_counts, quarantine
from warehouse.pii import PATTERNS, redact_columns
from warehouse.platform_loading import drop_calls, mark_source, stored_calls
from warehouse.span_loading import load_spans

PLATFORMS: dict[str, ModuleType] = {"vapi": vapi, "retell": retell}
SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
_REJECTS = pa.schema([("location", pa.string()), ("reason", pa.string()), ("record", pa.string())])


@dataclass(frozen=True)
class _Call:
    location: str  # where in the file: "record 3" or "line 3"
    record: str  # the call object as read (JSON text), for the quarantine
    call_id: str
    digest: str
    export: bytes  # the call's spans as one OTLP/JSON export


@dataclass
class _Read:
    calls: list[_Call]
    rejects: list[tuple[str, str, str]]  # (location, reason, record)


def ingest_platform(platform: str, paths: Sequence[Path | str], *, db_path: Path | None = None,
                    redact: bool = False) -> IngestSummary:
    """Load every call export in `paths` (files, folders, globs) from `platform`."""
    if platform not in PLATFORMS:
        raise IngestError(f"Unknown platform {platform!r}: use one of {', '.join(PLATFORMS)}.")
    files = expand_paths(paths, SUFFIXES)
    with recorded_run(f"platform {platform}", files, db_path, unit="calls") as summary:
        for path in files:
            _load_file(platform, path, summary, db_path, redact)
    return summary


def _load_file(platform: str, path: Path, summary: IngestSummary, db_path: Path | None, redact: bool) -> None:
    read = _calls(path, PLATFORMS[platform].call_trace)
    spans = _spans(read, redact)
    counted, rejects = len(read.calls) + len(read.rejects), read.rejects
    with transaction(db_path) as con:
        stored = stored_calls(con, [c.call_id for c in read.calls])
        fresh, changed, unchanged = [], [], 0
        for call in read.calls:
            source, digest = stored.get(call.call_id, (None, None))
            if source is None:
                fresh.append(call)
            elif source != platform:
                rejects.append((call.location, f"call {call.call_id} is already loaded from {source}; "
                                f"a {platform} export does not replace it", call.record))
            elif digest == call.digest:
                unchanged += 1
            else:
                changed.append(call)
        drop_calls(con, [c.call_id for c in changed])
        writing = {c.call_id for c in fresh + changed}
        assert summary.started_at is not None
        load_spans(con, spans.filter(pc.is_in(spans["declared_call_id"], pa.array(sorted(writing), pa.string()))),
                   summary.started_at)
        mark_source(con, sorted(writing), platform)
        table = pa.Table.from_pylist([dict(zip(_REJECTS.names, r, strict=True)) for r in rejects], schema=_REJECTS)
        refused = quarantine(con, summary.run_id, str(path.resolve()),
                             redact_columns(table, ("record",)) if redact else table)
        counts = {"read": counted,
                  "loaded": len(fresh), "updated": len(changed), "unchanged": unchanged, "quarantined": refused}
        add_counts(con, summary.run_id, **counts)
    summary.add(**counts)


def _spans(read: _Read, redact: bool) -> pa.Table:
    """The calls' spans, parsed as any OTLP export is. A call with a span the parser refuses (an
    attribute over 64 KiB, say) moves to the rejects whole, with the parser's reason."""
    scratch = open_scratch(PATTERNS if redact else ())
    try:
        parsed = parse_spans(scratch, line_table(np.arange(len(read.calls)),
                                                 pa.array([c.export.decode() for c in read.calls], pa.string())))
    finally:
        scratch.close()
    refused: dict[int, str] = {}
    for location, reason in zip(parsed.rejects["location"].to_pylist(), parsed.rejects["reason"].to_pylist(),
                                strict=True):
        refused.setdefault(int(location.split(",")[0].removeprefix("line ")), reason)
    for index, reason in sorted(refused.items()):
        call = read.calls[index]
        read.rejects.append((call.location, f"a span of call {call.call_id} cannot be stored: {reason}", call.record))
    bad_ids = pa.array([read.calls[i].call_id for i in refused], pa.string())
    read.calls = [call for i, call in enumerate(read.calls) if i not in refused]
    return parsed.spans.filter(pc.invert(pc.is_in(parsed.spans["declared_call_id"], bad_ids)))


def _calls(path: Path, call_trace: Callable[[dict], CallTrace]) -> _Read:
    """Every call object in the file, as spans, or refused with the reason; a call listed twice
    keeps its first record."""
    read = _Read([], [])
    seen: set[str] = set()
    for location, record, problem in _records(path):
        text = record if isinstance(record, str) else orjson.dumps(scrubbed(record)).decode()
        if problem is None and not isinstance(record, dict):
            problem = "not a JSON object (a call)"
        if problem is None and isinstance(record, dict):
            try:
                trace = call_trace(record)
            except RecordProblem as error:
                problem = str(error)
        if problem is None and trace.call_id in seen:
            problem = f"call {trace.call_id} appears earlier in the file too"
        if problem is not None:
            read.rejects.append((location, problem, text))
            continue
        seen.add(trace.call_id)
        read.calls.append(_Call(location, text, trace.call_id, trace.digest, trace.export()))
    return read


def _records(path: Path) -> list[tuple[str, object, str | None]]:
    """(location, call object or the line as read, problem) for each record in the file: a JSON
    list's items, one JSON object, or JSON lines (a line that is not JSON is refused alone)."""
    data = read_whole(path).removeprefix(BOM)
    start = data.lstrip()[:1]
    if not start:
        raise IngestError(f"{path} is empty.")
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
        if start != b"{":
            raise IngestError(f"{path} is not JSON: expected call objects (one, a list, or one per line).") from None
    if isinstance(document, list):
        return [(f"record {n}", item, None) for n, item in enumerate(document, start=1)]
    if isinstance(document, dict):
        return [("record 1", document, None)]
    found: list[tuple[str, object, str | None]] = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if line.strip():
            try:
                found.append((f"line {n}", orjson.loads(line), None))
            except orjson.JSONDecodeError:
                found.append((f"line {n}", line, "not valid JSON"))
    return found
