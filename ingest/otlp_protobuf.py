"""OTLP protobuf as Arrow columns, so protobuf files and the receiver's spool reach DuckDB without
becoming JSON first.

ptars (Rust) decodes a list of serialized `ExportTraceServiceRequest`s straight into one Arrow
column of nested structs (resource spans → scope spans → spans → attributes), about 1 µs a span;
the parser (`ingest.otlp`) unnests it as it unnests OTLP/JSON. Converting each request to OTLP/JSON
in Python first, as Callboard did before, cost 16 µs a span: the loader's largest cost. An
attribute value that is itself an array or a key-value list stays serialized in that column (Arrow
has no recursive type), so the parser calls back into `array_json` / `kvlist_json` for those few
values; a quarantined span is written as OTLP/JSON (`span_json`) so it reads as a JSON file's would.
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import ptars
import pyarrow as pa
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ingest.lines import bytes_array, int64_array

NOT_A_REQUEST = "not an OTLP protobuf ExportTraceServiceRequest"


@dataclass(frozen=True)
class Piece:
    """One serialized request and where its spans sit in what was received: the `line`-th request
    (a spooled body, a message of a file), and, for a piece cut from a larger message
    (`ingest.protobuf_files`), how many resources, scopes (in its first resource) and spans (in its
    first scope) of that message came before it, so a refused span's location counts from the
    message's start."""

    body: bytes
    line: int
    resource_base: int = 0
    scope_base: int = 0
    span_base: int = 0


def parse_request(message: bytes) -> ExportTraceServiceRequest | None:
    """One export request, or None when `message` is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(message)
    except DecodeError:
        return None
    return request


@functools.cache
def _decoder() -> ptars.internal.MessageHandler:
    pool = ptars.HandlerPool([ExportTraceServiceRequest.DESCRIPTOR.file])
    return pool.get_for_message(ExportTraceServiceRequest.DESCRIPTOR)


def _decoded(bodies: list[bytes]) -> pa.Array:
    batch = _decoder().list_to_record_batch(bodies)
    return batch.column(batch.schema.get_field_index("resource_spans"))


def requests_table(pieces: Sequence[Piece]) -> tuple[pa.Table, list[tuple[int, str, bytes]]]:
    """The pieces as rows (`line`, `piece` (the row's number), the three bases, `body`,
    `resource_spans`), and those that do not decode (a body damaged on disk, a file that is not
    protobuf) as (line, reason, bytes)."""
    bad: list[tuple[int, str, bytes]] = []
    try:
        resource_spans = _decoded([p.body for p in pieces])
    except ValueError:  # find the few that fail and decode the rest together
        good = []
        for piece in pieces:
            try:
                _decoded([piece.body])
            except ValueError as error:
                bad.append((piece.line, f"{NOT_A_REQUEST} ({error})", piece.body))
            else:
                good.append(piece)
        pieces = good
        resource_spans = _decoded([p.body for p in pieces])
    numbers = np.array([(p.line, p.resource_base, p.scope_base, p.span_base) for p in pieces], np.int64).reshape(-1, 4)
    columns = {"line": int64_array(numbers[:, 0]), "piece": int64_array(np.arange(len(pieces))),
               "resource_base": int64_array(numbers[:, 1]), "scope_base": int64_array(numbers[:, 2]),
               "span_base": int64_array(numbers[:, 3]), "body": bytes_array([p.body for p in pieces]),
               "resource_spans": resource_spans}
    return pa.Table.from_arrays(list(columns.values()), names=list(columns)), bad


def varint(value: int) -> bytes:
    """A non-negative integer as protobuf writes it on the wire."""
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _double(value: float) -> float | str:
    """OTLP/JSON's double: a number, or "NaN"/"Infinity"/"-Infinity" as protobuf's JSON writes them."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _any_value(value: AnyValue) -> dict:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": value.string_value}
    if kind == "int_value":
        return {"intValue": str(value.int_value)}
    if kind == "bool_value":
        return {"boolValue": value.bool_value}
    if kind == "double_value":
        return {"doubleValue": _double(value.double_value)}
    if kind == "array_value":
        return {"arrayValue": {"values": [_any_value(v) for v in value.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _attributes(value.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode()}
    return {}


def _attributes(pairs: Sequence[KeyValue]) -> list[dict]:
    return [{"key": pair.key, "value": _any_value(pair.value)} for pair in pairs]


def array_json(values: list[bytes]) -> str:
    """An `ArrayValue`'s elements (each a serialized `AnyValue`) as OTLP/JSON's `arrayValue`."""
    return orjson.dumps({"values": [_any_value(AnyValue.FromString(v)) for v in values]}).decode()


def kvlist_json(values: list[bytes]) -> str:
    """A `KeyValueList`'s pairs (each a serialized `KeyValue`) as OTLP/JSON's `kvlistValue`."""
    return orjson.dumps({"values": _attributes([KeyValue.FromString(v) for v in values])}).decode()


def _span(span: Span) -> dict:
    out = {"traceId": span.trace_id.hex(), "spanId": span.span_id.hex(), "name": span.name, "kind": span.kind,
           "startTimeUnixNano": str(span.start_time_unix_nano), "endTimeUnixNano": str(span.end_time_unix_nano),
           "attributes": _attributes(span.attributes)}
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.HasField("status"):
        out["status"] = {"code": span.status.code, "message": span.status.message}
    if span.events:
        out["events"] = [{"timeUnixNano": str(event.time_unix_nano), "name": event.name,
                          "attributes": _attributes(event.attributes)} for event in span.events]
    if span.links:
        out["links"] = [{"traceId": link.trace_id.hex(), "spanId": link.span_id.hex(),
                         "attributes": _attributes(link.attributes)} for link in span.links]
    return out


def span_json(request: ExportTraceServiceRequest, resource: int, scope: int, span: int) -> str:
    """The span at these 1-based positions of `request` as OTLP/JSON (a refused span's record)."""
    return orjson.dumps(_span(request.resource_spans[resource - 1].scope_spans[scope - 1].spans[span - 1])).decode()


def request_to_json(request: ExportTraceServiceRequest) -> bytes:
    """The request as one line of OTLP/JSON (what an SDK's protobuf export says, for a JSON file)."""
    return orjson.dumps({"resourceSpans": [
        {"resource": {"attributes": _attributes(resource.resource.attributes)},
         "scopeSpans": [{"scope": {"name": scope.scope.name, "version": scope.scope.version},
                         "spans": [_span(span) for span in scope.spans]} for scope in resource.scope_spans]}
        for resource in request.resource_spans]})
