"""Read a file of JSON lines in large byte chunks and hand each chunk over as an Arrow table.

The lines never become Python strings one by one: a chunk's bytes are split on newlines with
numpy and wrapped as an Arrow string column without copying, so Python's per-line cost is nil and
DuckDB does the parsing. Lines that are not valid UTF-8 are split out first (DuckDB would refuse
the whole column), each with its line number, so they can be quarantined.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

CHUNK_BYTES = 32 * 1024 * 1024  # Arrow's 32-bit string offsets allow up to 2 GiB


@dataclass(frozen=True)
class LineChunk:
    """Lines `first_line`.. of a file: the readable ones as (`line`, `doc`), the rest as bytes."""

    lines: pa.Table
    invalid_utf8: list[tuple[int, bytes]]
    bytes_read: int


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, gunzipped when it is gzip (by its magic number, not its name)."""
    handle = path.open("rb")
    if handle.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    return handle


def _split(data: bytes, first_line: int) -> LineChunk:
    """Split complete lines (`data` ends at a newline or at the end of the file)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    numbers = np.arange(first_line, first_line + len(ends), dtype=np.int64)
    invalid: list[tuple[int, bytes]] = []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        keep = np.ones(len(ends), dtype=bool)
        for i in range(len(ends)):
            line = data[offsets[i] : offsets[i + 1]]
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                keep[i] = False
                invalid.append((int(numbers[i]), line.rstrip(b"\r\n")))
        pieces = [data[offsets[i] : offsets[i + 1]] for i in np.flatnonzero(keep)]
        numbers = numbers[keep]
        docs = pa.array([p.decode("utf-8") for p in pieces], type=pa.string())
        return LineChunk(pa.table({"line": numbers, "doc": docs}), invalid, len(data))
    docs = pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    return LineChunk(pa.table({"line": numbers, "doc": docs}), invalid, len(data))


def read_line_chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[LineChunk]:
    """Chunks of about `chunk_bytes` each, always cut at a newline; memory stays at a few chunks
    whatever the file's size."""
    first_line = 1
    rest = b""
    while True:
        block = stream.read(chunk_bytes)
        data = rest + block
        if not data:
            return
        cut = data.rfind(b"\n") + 1 if block else len(data)
        if cut == 0:  # one line longer than a chunk: keep reading until it ends
            rest = data
            continue
        data, rest = data[:cut], data[cut:]
        chunk = _split(data, first_line)
        first_line += chunk.lines.num_rows + len(chunk.invalid_utf8)
        yield chunk
