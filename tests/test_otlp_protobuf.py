"""Protobuf decoded into Arrow columns (ptars) is parsed to exactly the rows its OTLP/JSON gives:
every attribute value type, ids, status, refused spans and their records."""

from __future__ import annotations

import math

import orjson
import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from ingest.otlp import open_scratch, parse_spans
from ingest.otlp_protobuf import NOT_A_REQUEST, Piece, request_to_json, requests_table

NS = 1_760_000_000_000_000_000


def _set(value: AnyValue, python: object) -> None:
    if isinstance(python, bool):
        value.bool_value = python
    elif isinstance(python, int):
        value.int_value = python
    elif isinstance(python, float):
        value.double_value = python
    elif isinstance(python, bytes):
        value.bytes_value = python
    elif isinstance(python, list):
        for item in python:
            _set(value.array_value.values.add(), item)
    elif isinstance(python, dict):
        for key, item in python.items():
            pair = value.kvlist_value.values.add()
            pair.key = key
            _set(pair.value, item)
    elif python is not None:
        value.string_value = str(python)


def _request() -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    for key, value in {"service.name": "salon-agent", "callboard.agent": "salon"}.items():
        pair = resource.resource.attributes.add()
        pair.key = key
        _set(pair.value, value)
    scope = resource.scope_spans.add()
    scope.scope.name = "bench"
    attributes = {
        "session.id": "call-1", "text": 'say "hi"\n', "empty": "", "gen_ai.usage.input_tokens": 812,
        "negative": -(2**63), "callboard.audio.seconds": 3.2, "tiny": 1e-300, "not a number": math.nan,
        "infinite": math.inf, "below": -math.inf, "flag": False, "raw": b"\x00\xff",
        "gen_ai.response.finish_reasons": ["stop", "length"], "nested": [1, [2, "x"], {"k": True}],
        "mapping": {"a": 1.5, "b": ["c"], "c": {"d": None}}, "unset": None,
    }
    for number, parent in enumerate((b"", b"\x01" * 8, b"\x02" * 3), 1):
        span = scope.spans.add()
        span.trace_id = bytes.fromhex("5b8efff798038103d269b633813fc60c")
        span.span_id = bytes([number]) * 8
        span.parent_span_id = parent
        span.name = f"span {number}"
        span.kind = 3
        span.start_time_unix_nano = NS
        span.end_time_unix_nano = NS + 640_000_000
        span.status.code = 2 if number == 2 else 0
        span.status.message = "boom" if number == 2 else ""
        event = span.events.add()
        event.name, event.time_unix_nano = "started", NS
        for key, value in attributes.items():
            pair = span.attributes.add()
            pair.key = key
            _set(pair.value, value)
    broken = scope.spans.add()
    broken.CopyFrom(scope.spans[0])
    broken.trace_id = bytes(16)
    return request


def test_protobuf_columns_parse_exactly_as_their_json() -> None:
    request = _request()
    scratch = open_scratch()
    text = request_to_json(request).decode()
    from_json = parse_spans(scratch, pa.table({"line": pa.array([1], pa.int64()), "doc": pa.array([text])}))
    table, bad = requests_table([Piece(request.SerializeToString(), 1)])
    from_protobuf = parse_spans(scratch, table)
    assert not bad
    assert from_protobuf.spans.num_rows == 2 and from_protobuf.spans.equals(from_json.spans)
    assert from_protobuf.rejects.to_pylist() == from_json.rejects.to_pylist()
    assert [r["reason"] for r in from_protobuf.rejects.to_pylist()] == ["malformed parentSpanId",
                                                                         "missing or malformed traceId"]
    stored = orjson.loads(from_protobuf.spans.column("attributes")[0].as_py())
    assert stored["gen_ai.response.finish_reasons"] == ["stop", "length"]
    assert stored["not a number"] == "NaN" and stored["raw"] == "AP8=" and stored["unset"] is None
    # one level of arrays and maps is JSON; deeper ones are kept as their OTLP/JSON text
    assert stored["mapping"] == {"a": 1.5, "b": '{"values":[{"stringValue":"c"}]}',
                                 "c": '{"values":[{"key":"d","value":{}}]}'}
    assert stored["resource"] == {"service.name": "salon-agent", "callboard.agent": "salon"}


def test_a_body_that_does_not_decode_is_refused_alone() -> None:
    good = _request().SerializeToString()
    table, bad = requests_table([Piece(good, 1), Piece(b"\x0a\xff\xfe", 2), Piece(good, 3)])
    assert table.column("line").to_pylist() == [1, 3]
    assert [(line, reason.split(" (")[0], raw) for line, reason, raw in bad] == [(2, NOT_A_REQUEST, b"\x0a\xff\xfe")]
    assert parse_spans(open_scratch(), table).spans.num_rows == 4
