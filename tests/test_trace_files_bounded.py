"""Trace files too large to hold are read in pieces: an OTLP protobuf message is cut at the wire
level (by resource, scope and runs of spans), so memory stays bounded whatever the file's size,
every span loads as if the file were read whole, and a refused span keeps its place in the
message."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest import protobuf_files
from ingest.traces import ingest_traces

NS = 1_760_000_000_000_000_000


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _request(resources: int, scopes: int, spans: int, first_call: int = 0) -> ExportTraceServiceRequest:
    """Resources of scopes of spans; each scope is one call (a root naming it, children after)."""
    request = ExportTraceServiceRequest()
    call = first_call
    for r in range(resources):
        resource = request.resource_spans.add()
        pair = resource.resource.attributes.add()
        pair.key, pair.value.string_value = "service.name", f"agent-{r}"
        for _ in range(scopes):
            scope = resource.scope_spans.add()
            scope.scope.name = "test"
            for k in range(spans):
                span = scope.spans.add()
                span.trace_id = (call + 1).to_bytes(16, "big")
                span.span_id = (call * 1000 + k + 1).to_bytes(8, "big")
                span.name = "turn" if k else "call"
                span.start_time_unix_nano = NS + k * 1_000_000
                span.end_time_unix_nano = NS + (k + 1) * 1_000_000
                pair = span.attributes.add()
                pair.key, pair.value.string_value = ("session.id", f"call-{call}") if not k else ("note", "x" * 40)
            call += 1
    return request


@pytest.mark.parametrize("framed", [False, True])
def test_a_message_larger_than_a_piece_loads_as_if_read_whole(
        framed: bool, tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three messages: whole resources grouped, a resource cut into scopes, a scope cut into runs of
    spans; a span with a zero trace id deep inside the cut scope is refused at its place."""
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", 2_000)
    monkeypatch.setattr(protobuf_files, "CHUNK_BYTES", 6_000)
    messages = [_request(4, 1, 3), _request(1, 5, 4, first_call=100), _request(2, 1, 60, first_call=200)]
    messages[2].resource_spans[1].scope_spans[0].spans[41].trace_id = bytes(16)
    bodies = [m.SerializeToString() for m in messages]
    path = tmp_path / "traces.pb"
    if framed:
        path.write_bytes(b"".join(len(body).to_bytes(4, "big") + body for body in bodies))
    else:
        whole = ExportTraceServiceRequest()
        for message in messages:
            whole.resource_spans.extend(message.resource_spans)
        path.write_bytes(whole.SerializeToString())
    assert len(bodies[2]) > 3 * protobuf_files.PIECE_BYTES
    summary = ingest_traces([path], db_path=warehouse_file)
    assert (summary.read, summary.loaded, summary.quarantined) == (12 + 20 + 120, 151, 1)
    calls = rows(warehouse_file, "SELECT call_id, agent, span_count FROM calls ORDER BY call_id")
    expected = [(f"call-{c}", f"agent-{c}", 3) for c in range(4)] + [(f"call-{c}", "agent-0", 4) for c in range(100, 105)]
    expected += [("call-200", "agent-0", 60), ("call-201", "agent-1", 59)]
    assert sorted(calls) == sorted(expected)
    where = "line 3, resource 2, span 42" if framed else "line 1, resource 7, span 42"
    assert rows(warehouse_file, "SELECT location, reason FROM quarantine") == [(where, "missing or malformed traceId")]


def test_a_cut_short_message_loads_its_whole_pieces_and_refuses_the_rest(
        tmp_path: Path, warehouse_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protobuf_files, "PIECE_BYTES", 2_000)
    body = _request(1, 1, 60).SerializeToString()
    path = tmp_path / "traces.pb"
    path.write_bytes(body[: len(body) * 2 // 3])
    summary = ingest_traces([path], db_path=warehouse_file)
    assert 0 < summary.loaded < 40 and summary.quarantined == 1
    ((location, reason, record),) = rows(warehouse_file, "SELECT location, reason, record FROM quarantine")
    assert location == "line 1" and reason.startswith("the protobuf is damaged or cut short here")
    assert len(record) <= protobuf_files.PIECE_BYTES and record in body
