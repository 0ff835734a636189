"""OTLP protobuf to OTLP/JSON, so protobuf files and the receiver's spool share the JSON path.

A file holds one `ExportTraceServiceRequest`, or several each preceded by its length as a 4-byte
big-endian integer (the Collector file exporter's `proto` format).

The conversion walks the fields the span parser reads (and the rest a quarantined span should
keep: kind, events, links, scope) by hand instead of through `json_format`, which visits every
field through descriptors and was the receiver's second-largest cost (about 5× slower). Ids are
written as hex, which the JSON path reads as it reads base64.
"""

from __future__ import annotations

import base64
import math

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from ingest.errors import IngestError


def _framed(data: bytes) -> list[bytes] | None:
    """The messages of a length-prefixed stream, or None when `data` is not one."""
    messages, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            return None
        size = int.from_bytes(data[at : at + 4], "big")
        if at + 4 + size > len(data):
            return None
        messages.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return messages or None


def parse_request(message: bytes) -> ExportTraceServiceRequest | None:
    """One export request, or None when `message` is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(message)
    except DecodeError:
        return None
    return request


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


def _attributes(pairs: list[KeyValue]) -> list[dict]:
    return [{"key": pair.key, "value": _any_value(pair.value)} for pair in pairs]


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


def request_to_json(request: ExportTraceServiceRequest) -> bytes:
    """The request as one line of OTLP/JSON."""
    return orjson.dumps({"resourceSpans": [
        {"resource": {"attributes": _attributes(resource.resource.attributes)},
         "scopeSpans": [{"scope": {"name": scope.scope.name, "version": scope.scope.version},
                         "spans": [_span(span) for span in scope.spans]} for scope in resource.scope_spans]}
        for resource in request.resource_spans]})


def protobuf_to_json_lines(data: bytes, source: str) -> list[str]:
    """One OTLP/JSON line per message in `data`."""
    framed = _framed(data)
    requests = [parse_request(m) for m in framed] if framed else None
    if not requests or any(r is None for r in requests):
        single = parse_request(data)
        if single is None:
            raise IngestError(f"{source} is not an OTLP protobuf ExportTraceServiceRequest.")
        requests = [single]
    return [request_to_json(r).decode() for r in requests if r is not None]
