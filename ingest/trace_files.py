"""Recognise a trace file's format and read it as chunks for the parser (`ingest.otlp.parse_spans`).

Three shapes: JSON lines (the Collector's file exporter writes one `ExportTraceServiceRequest` per
line), one pretty-printed JSON document (read in pieces of one-line exports,
`ingest.json_documents`), and OTLP protobuf (decoded into Arrow columns, never JSON,
`ingest.protobuf_files`). Gzip is undone by its magic number whatever the file is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from ingest.errors import IngestError
from ingest.json_documents import read_document_chunks
from ingest.lines import BOM, LineChunk, open_binary, read_line_chunks
from ingest.protobuf_files import read_protobuf_chunks

TRACE_SUFFIXES = (".jsonl", ".json", ".ndjson", ".pb", ".binpb", ".protobuf", ".gz")
_PROTOBUF_SUFFIXES = (".pb", ".binpb", ".protobuf")
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 100


def detect_format(path: Path) -> str:
    """'json_lines', 'json_document' or 'protobuf'; anything else is a user mistake. A file is
    JSON lines when any of its first lines is an export on its own, so one bad line (even the
    first) is refused alone rather than taking the file for one broken document."""
    with open_binary(path) as stream:
        head = stream.read(_SNIFF_BYTES).removeprefix(BOM)
    stripped = head.lstrip()
    name = path.name.removesuffix(".gz")
    if name.endswith(_PROTOBUF_SUFFIXES):
        return "protobuf"
    if not stripped:
        raise IngestError(f"{path} is empty.")
    complete = head.split(b"\n")[: -1 if len(head) == _SNIFF_BYTES else None]
    if any(_is_json_object(line) for line in complete[:_SNIFF_LINES]):
        return "json_lines"
    if stripped.startswith(b"{"):
        return "json_document" if _pretty_printed(complete) else "json_lines"
    if stripped[:1] in (b"[", b'"') or _is_text(head):
        raise IngestError(f"{path} is not OTLP trace data (expected OTLP/JSON or OTLP protobuf).")
    return "protobuf"


def _pretty_printed(lines: list[bytes]) -> bool:
    """Whether the lines are the start of one JSON document laid out over many lines: an opening
    brace alone on the first line, or lines indented under it. (A first line longer than the sniff
    is one export per line; lines that are each broken are refused one by one.)"""
    written = [line.rstrip(b"\r") for line in lines if line.strip()]
    return len(written) > 1 and (written[0].strip() == b"{" or any(line[:1] in b" \t" for line in written[1:]))


def _is_json_object(line: bytes) -> bool:
    """A line that is a JSON object by itself, starting where the line starts (the lines inside a
    pretty-printed document are indented)."""
    if not line.startswith(b"{"):
        return False
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_trace_chunks(path: Path, file_format: str) -> Iterator[LineChunk]:
    """The file as chunks of rows to parse (`ingest.otlp.parse_spans`), memory bounded whatever
    its size: lines of JSON, pieces of a JSON document, pieces of protobuf decoded."""
    if file_format == "json_lines":
        with open_binary(path) as stream:
            yield from read_line_chunks(stream)
        return
    if file_format == "protobuf":
        yield from read_protobuf_chunks(path)
        return
    yield from read_document_chunks(path)


