"""OTLP/JSON fixtures as protobuf requests, the way an SDK would send them."""

from __future__ import annotations

import base64

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_IDS = ("traceId", "spanId", "parentSpanId")


def _hex_ids_to_base64(node: object) -> object:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: base64.b64encode(bytes.fromhex(value)).decode() if key in _IDS and value else _hex_ids_to_base64(value)
            for key, value in node.items()}


def protobuf_request(json_line: str | bytes) -> ExportTraceServiceRequest:
    """One OTLP/JSON export (hex ids) as the protobuf request carrying the same spans."""
    document = _hex_ids_to_base64(orjson.loads(json_line))
    return json_format.Parse(orjson.dumps(document), ExportTraceServiceRequest())
