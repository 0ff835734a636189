"""What the receiver checks in a request body before it spools it, all of it cheap: the body
unzips (gzip, several members allowed, up to a size), decodes (protobuf) or parses (JSON), and
every span has well-formed ids and timestamps. The one full parse is the loader's; the answer's
`partial_success` counts only what these checks refuse, with the parser's own reasons."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus

import orjson

from ingest.otlp import EARLIEST_NS, LATEST_NS
from ingest.otlp_protobuf import parse_request


class Refused(Exception):
    """A request answered with an error status and a message. It never leaves the request handler,
    which turns it into the HTTP reply the sender's exporter reads, so it is no `CallboardError`."""

    def __init__(self, status: HTTPStatus, message: str, *, retry_after_s: int | None = None,
                 close: bool = False) -> None:
        super().__init__(message)
        self.status, self.retry_after_s, self.close = status, retry_after_s, close


@dataclass(frozen=True)
class Checked:
    """A body's spans and how many of them the checks refused (the first reason, for the answer)."""

    spans: int
    refused: int
    first_reason: str | None


EMPTY = Checked(0, 0, None)


def read_body(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """The request body, gunzipped when it says so (every gzip member, as RFC 1952 allows),
    refusing anything over `max_bytes`."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding} is not supported; use gzip.")
    parts, size, rest = [], 0, raw
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            parts.append(inflater.decompress(rest, max_bytes + 1 - size))
        except zlib.error as error:
            raise Refused(HTTPStatus.BAD_REQUEST, f"The body is not valid gzip: {error}") from None
        size += len(parts[-1])
        if size > max_bytes:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The body is over {max_bytes:,} bytes unzipped.")
        if not inflater.eof:
            raise Refused(HTTPStatus.BAD_REQUEST, "The body is not valid gzip: it ends inside a member.")
        rest = inflater.unused_data
    return b"".join(parts)


def span_problem(trace_ok: bool, span_id_ok: bool, start: int | None, end: int | None) -> str | None:
    """Why the loader will refuse a span, for the problems that need no full parse (the reasons are
    the parser's own, `ingest.otlp`)."""
    if not trace_ok:
        return "missing or malformed traceId"
    if not span_id_ok:
        return "missing or malformed spanId"
    if start is None or end is None:
        return "missing or unreadable startTimeUnixNano/endTimeUnixNano"
    if not (EARLIEST_NS <= start <= LATEST_NS and EARLIEST_NS <= end <= LATEST_NS):
        return "absurd timestamp (not between 2000 and 2100)"
    if end < start:
        return "absurd timestamp (the span ends before it starts)"
    return None


def _tally(problems: Iterator[str | None]) -> Checked:
    spans = refused = 0
    first = None
    for problem in problems:
        spans += 1
        if problem is not None:
            refused += 1
            first = first or problem
    return Checked(spans, refused, first)


def check_protobuf(body: bytes) -> Checked:
    request = parse_request(body)
    if request is None:
        raise Refused(HTTPStatus.BAD_REQUEST, "The body is not an OTLP ExportTraceServiceRequest.")
    return _tally(span_problem(len(s.trace_id) == 16 and any(s.trace_id), len(s.span_id) == 8 and any(s.span_id),
                               s.start_time_unix_nano, s.end_time_unix_nano)
                  for r in request.resource_spans for scope in r.scope_spans for s in scope.spans)


def _json_id_ok(value: object, nbytes: int) -> bool:
    """Hex or base64 of `nbytes` bytes, not all zero, as the parser reads ids."""
    if not isinstance(value, str):
        return False
    try:
        raw = bytes.fromhex(value) if len(value) == 2 * nbytes else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return False
    return len(raw) == nbytes and any(raw)


def _json_nanos(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _json_span_problem(span: object) -> str | None:
    if not isinstance(span, dict):
        return "span is not a JSON object"
    return span_problem(_json_id_ok(span.get("traceId"), 16), _json_id_ok(span.get("spanId"), 8),
                        _json_nanos(span.get("startTimeUnixNano")), _json_nanos(span.get("endTimeUnixNano")))


def _json_list(node: object, key: str) -> list:
    value = node.get(key) if isinstance(node, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(HTTPStatus.BAD_REQUEST, f'The body is not an OTLP trace export ("{key}" is not a list).')
    return value


def check_json(body: bytes) -> Checked:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise Refused(HTTPStatus.BAD_REQUEST, f"The body is not valid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans", []), list):
        raise Refused(HTTPStatus.BAD_REQUEST, 'The body is not an OTLP trace export (no "resourceSpans" list).')
    return _tally(_json_span_problem(span) for resource in _json_list(document, "resourceSpans")
                  for scope in _json_list(resource, "scopeSpans") for span in _json_list(scope, "spans"))
