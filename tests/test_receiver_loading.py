"""The receiver's loader gets a burst's last spans queryable at once: its prepared parse reads each
chunk it is given, a spool whose exporters have paused is loaded without waiting for more, and what
is parsed while a merge runs goes into the next merge, the last of a stream merged as soon as it ends."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import ingest.spool as spool_module
from ingest.lines import LineChunk, line_table
from ingest.otlp import SpanParser, open_scratch, parse_spans
from ingest.otlp_protobuf import Piece, requests_table
from ingest.run_log import begin_run
from ingest.spool import (
    PROTOBUF,
    QUIET_S,
    Spool,
    SpoolLoader,
    burst_pause,
    exporter_drained,
    spans_in,
    spooled_at,
    waited_s,
)
from ingest.traces import load_stream
from tests.otlp import protobuf_request
from tests.test_ingest_receiver import TRACES, rows, wait_for
from warehouse.db import Attacher, connect

# One call's three exports, the last bringing spans that arrived late.
EXPORTS = [*TRACES.joinpath("genai_hex.jsonl").read_bytes().splitlines(),
           TRACES.joinpath("genai_late.jsonl").read_bytes().strip()]
SPANS = sum(len(scope["spans"]) for line in EXPORTS for resource in json.loads(line)["resourceSpans"]
            for scope in resource["scopeSpans"])


def json_chunk(lines: list[bytes]) -> pa.Table:
    return line_table(np.arange(1, len(lines) + 1), pa.array([line.decode() for line in lines], pa.string()))


def protobuf_chunk(lines: list[bytes]) -> pa.Table:
    table, _ = requests_table([Piece(protobuf_request(line).SerializeToString(), n) for n, line in enumerate(lines, 1)])
    return table


class RecordingEvent(threading.Event):
    """An event that remembers how long each wait on it was allowed to take."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return super().wait(timeout)


def test_the_prepared_parse_reads_each_chunk_it_is_given() -> None:
    """The statement is prepared once for each shape of chunk, yet every run reads the chunk
    registered for it: the same rows as `parse_spans`, refusals included, chunk after chunk."""
    scratch = open_scratch()
    parser = SpanParser(scratch)
    bad_span = json.loads(EXPORTS[1])
    bad_span["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "not hex"
    chunks = [protobuf_chunk([EXPORTS[0]]), json_chunk([EXPORTS[1]]), protobuf_chunk(EXPORTS[1:3]),
              json_chunk([json.dumps(bad_span).encode(), b"not json"]), protobuf_chunk([EXPORTS[2]])]
    try:
        for chunk in chunks:
            prepared, bound = parser(chunk), parse_spans(scratch, chunk)
            assert prepared.spans.equals(bound.spans) and prepared.rejects.equals(bound.rejects)
            assert prepared.records == bound.records
        assert parser(chunks[3]).rejects.column("reason").to_pylist() == ["missing or malformed traceId",
                                                                          "not valid JSON"]
        assert parser(chunks[4]).spans.column("span_id").to_pylist() == \
            parse_spans(scratch, chunks[4]).spans.column("span_id").to_pylist() != \
            parser(chunks[0]).spans.column("span_id").to_pylist()
    finally:
        parser.close()
        scratch.close()


def _spooled_a_second_ago(spool: Spool, bodies: list[bytes]) -> None:
    """Spool `bodies` as if they had arrived a second ago (in order): the exporters have paused."""
    for body in bodies:
        path = spool.write(body, PROTOBUF)
        path.rename(path.with_name(f"{time.time_ns() - 10**9:020d}-{path.name.split('-', 1)[1]}"))


def test_a_spool_whose_exporters_have_paused_is_loaded_without_waiting(warehouse_file: Path) -> None:
    with connect(warehouse_file):
        pass
    spool = Spool(warehouse_file.parent / "spool")
    _spooled_a_second_ago(spool, [protobuf_request(line).SerializeToString() for line in EXPORTS])
    wake, log = RecordingEvent(), []
    SpoolLoader(spool, wake, threading.Event(), db_path=warehouse_file, log=log.append).load_waiting()
    assert wake.waits == []  # no window, no linger: the last spans were taken at once
    assert log == [f"loaded {SPANS} spans from {len(EXPORTS)} requests"]
    assert rows(warehouse_file, "SELECT count(*) FROM spans") == [(SPANS,)]
    assert not spool.next_batch()


def _spans_of(export: bytes) -> int:
    return sum(len(scope["spans"]) for resource in json.loads(export)["resourceSpans"]
               for scope in resource["scopeSpans"])


def test_a_short_body_after_full_ones_is_taken_without_waiting_for_a_pause(
        warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bodies of one span count, then a shorter one, spooled just now: the exporter has drained its
    queue, so the loader takes them at once; the same full bodies without the short one wait for
    the exporter to pause (made two seconds here, so a busy machine cannot make it pass unseen)."""
    monkeypatch.setattr(spool_module, "QUIET_S", 2.0)
    monkeypatch.setattr(spool_module, "MAX_WAIT_S", 2.0)
    full, short = EXPORTS[1], EXPORTS[2]
    assert _spans_of(full) > _spans_of(short)
    waits = []
    for exports in ([full, full, full], [full, full, full, short]):
        folder = warehouse_file.parent / f"{len(exports)}"
        folder.mkdir()
        spool, wake = Spool(folder / "spool"), RecordingEvent()
        for export in exports:
            spool.write(protobuf_request(export).SerializeToString(), PROTOBUF, _spans_of(export))
        SpoolLoader(spool, wake, threading.Event(), db_path=folder / "callboard.duckdb",
                    log=lambda line: None).load_waiting()
        assert not spool.next_batch()
        assert rows(folder / "callboard.duckdb", "SELECT count(*) FROM spans") == [
            (sum(_spans_of(export) for export in set(exports)),)]
        waits.append(wake.waits)
    assert waits[0] and waits[1] == []


def test_bodies_that_keep_coming_are_loaded_in_few_merges(warehouse_file: Path) -> None:
    """An exporter sending every 10 ms: the loader waits for more between them (so they are parsed
    and merged together, not one request at a time) and has loaded every span soon after the last."""
    with connect(warehouse_file):
        pass
    spool = Spool(warehouse_file.parent / "spool")
    wake, stopping, log = threading.Event(), threading.Event(), []
    loader = SpoolLoader(spool, wake, stopping, db_path=warehouse_file, poll_s=0.05, log=log.append)
    running = threading.Thread(target=loader.run)
    running.start()
    bodies = [protobuf_request(line).SerializeToString() for line in EXPORTS] * 10
    try:
        for body in bodies:
            spool.write(body, PROTOBUF)
            wake.set()
            time.sleep(0.01)
        wait_for(lambda: rows(warehouse_file, "SELECT records_read FROM ingest_runs") == [(10 * SPANS,)])
    finally:
        stopping.set()
        wake.set()
        running.join()
    assert len(log) <= 3 < len(bodies)
    assert rows(warehouse_file, "SELECT count(*), count(DISTINCT span_id) FROM spans") == [(SPANS, SPANS)]
    assert rows(warehouse_file, "SELECT records_read, records_loaded, records_unchanged FROM ingest_runs") == [
        (10 * SPANS, SPANS, 9 * SPANS)]
    assert rows(warehouse_file, "SELECT count(*), sum(span_count) FROM calls") == [(1, SPANS)]


def test_a_stream_merges_what_was_parsed_meanwhile_and_its_end_at_once(warehouse_file: Path) -> None:
    """With merges at most a minute apart, the first chunk is merged when it comes, the two that
    come after it wait for the next merge, and that merge happens as soon as the chunks end."""
    with connect(warehouse_file):
        pass
    summary = begin_run("receiver", [warehouse_file.parent], warehouse_file, unit="spans")
    ended_at: list[float] = []

    def chunks() -> Iterator[tuple[str, LineChunk]]:
        yield "first", LineChunk(json_chunk([EXPORTS[0]]), [], 1)
        time.sleep(0.5)  # the first is merged meanwhile
        yield "second", LineChunk(json_chunk([EXPORTS[1]]), [], 1)
        yield "third", LineChunk(json_chunk([EXPORTS[2]]), [], 1)
        ended_at.append(time.monotonic())

    merges: list[tuple[float, list[str]]] = []
    scratch = open_scratch()
    parser = SpanParser(scratch)
    warehouse = Attacher(warehouse_file)
    try:
        load_stream(chunks(), summary, parser=parser, warehouse=warehouse, merge_every_s=60,
                    on_merged=lambda sources: merges.append((time.monotonic(), sources)))
    finally:
        parser.close()
        scratch.close()
        warehouse.close()
    assert [sources for _, sources in merges] == [["first"], ["second", "third"]]
    assert merges[1][0] >= ended_at[0]
    assert summary.loaded == SPANS and rows(warehouse_file, "SELECT count(*) FROM spans") == [(SPANS,)]


def test_aburst_pause_is_a_few_of_its_gaps() -> None:
    def spooled(*seconds: float) -> list[Path]:
        return [Path(f"{round(s * 1e9):020d}-0.pb") for s in seconds]

    assert spooled_at(spooled(12.5)[0]) == 12.5
    assert 0 < waited_s(spooled(time.time() - 1)[0]) < 2
    assert waited_s(spooled(time.time() + 3600)[0]) == float("inf")  # the clock was set back: load it now
    assert burst_pause(spooled(10.0), 0.2) == 0.2  # one body: no pace yet
    assert burst_pause(spooled(10.0, 10.01, 10.02), 0.2) == QUIET_S  # back to back: the floor
    assert abs(burst_pause(spooled(10.0, 10.1, 10.3), QUIET_S) - 3 * 0.15) < 1e-6


def test_an_exporter_has_drained_after_a_run_of_full_bodies_and_a_short_one() -> None:
    def spooled(*counts: int) -> list[Path]:
        return [Path(f"{n:020d}-0a1b2c3d4e5f-{count}.pb") for n, count in enumerate(counts)]

    assert [spans_in(path) for path in spooled(512, 32)] == [512, 32]
    assert exporter_drained(spooled(512, 512, 32))
    assert not exporter_drained(spooled(512, 32))  # one full body is no run yet
    assert not exporter_drained(spooled(512, 512, 512))  # still sending full batches
    assert not exporter_drained(spooled(300, 512, 40))  # varied sizes: many exporters, or exports on a timer
    assert not exporter_drained([Path(f"{n:020d}-0a1b2c3d4e5f.pb") for n in range(3)])  # named before the count
