"""OTLP protobuf to OTLP/JSON, so protobuf files and the receiver share the JSON path.

A file holds one `ExportTraceServiceRequest`, or several each preceded by its length as a 4-byte
big-endian integer (the Collector file exporter's `proto` format). `json_format` writes ids as
base64, which the JSON path reads as well as hex.
"""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

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


def request_to_json(request: ExportTraceServiceRequest) -> str:
    return json_format.MessageToJson(request, indent=None, preserving_proto_field_name=False)


def protobuf_to_json_lines(data: bytes, source: str) -> list[str]:
    """One OTLP/JSON line per message in `data`."""
    framed = _framed(data)
    requests = [parse_request(m) for m in framed] if framed else None
    if not requests or any(r is None for r in requests):
        single = parse_request(data)
        if single is None:
            raise IngestError(f"{source} is not an OTLP protobuf ExportTraceServiceRequest.")
        requests = [single]
    return [request_to_json(r) for r in requests if r is not None]
