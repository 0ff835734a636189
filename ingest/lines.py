"""Read a file of JSON lines in large byte chunks and hand each chunk over as an Arrow table.

The lines never become Python strings one by one: a chunk's bytes are split on newlines with
numpy and wrapped as an Arrow string column without copying, so Python's per-line cost is nil and
DuckDB does the parsing. Lines that are not valid UTF-8 are split out first (DuckDB would refuse
the whole column), each with its line number, so they can be quarantined.
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from ingest.errors import IngestError

CHUNK_BYTES = 32 * 1024 * 1024  # Arrow's 32-bit string offsets allow up to 2 GiB


CUT_OFF = ("the gzip file ends early (cut short or damaged here): this line is incomplete and nothing after it "
           "can be read")
BOM = b"\xef\xbb\xbf"
NOT_UTF8 = "not valid UTF-8"


@dataclass(frozen=True)
class LineChunk:
    """Lines `first_line`.. of a file: the readable ones as (`line`, `doc`) (or requests decoded
    from protobuf: `ingest.otlp_protobuf.requests_table`), the rest as (line, reason, bytes); in
    the last chunk of a damaged gzip file, `cut_off` is the line the damage cut (its number and
    whatever of it could be read), refused with the reason `CUT_OFF`."""

    lines: pa.Table
    unreadable: list[tuple[int, str, bytes]]
    bytes_read: int
    cut_off: tuple[int, bytes] | None = None


class DamagedGzip(IngestError):
    """A gzip file cut short (a copy or download that stopped) or corrupt inside."""


class Gunzipped(gzip.GzipFile):
    """A gzip file read up to its damage, if any (a copy cut short, corrupt bytes): reads return
    what comes before it and then end, and `damage` says what was wrong, so a file of lines loads
    its records up to the damage. Reading in pieces (`read1`) loses none of them."""

    damage: str | None = None

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None else size
        pieces, got = [], 0
        while self.damage is None and (wanted < 0 or got < wanted):
            try:
                piece = self.read1(wanted - got if wanted >= 0 else 1 << 20)
            except (EOFError, zlib.error, gzip.BadGzipFile) as error:
                self.damage = str(error)
                break
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def whole(self) -> bytes:
        """Every byte, for formats read in one piece: their damage is one clear line."""
        data = self.read()
        self.refuse_damage()
        return data

    def refuse_damage(self) -> None:
        """Once read to its end: a file whose damage cannot be loaded around is one clear line."""
        if self.damage is not None:
            raise DamagedGzip(
                f"{self.name} is a damaged gzip file ({self.damage}): it ends early or is corrupt. Nothing of it "
                "was loaded; a file of JSON lines would load up to the damage."
            )


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, gunzipped when it is gzip (by its magic number, not its name)."""
    handle = path.open("rb")
    if handle.peek(2)[:2] == b"\x1f\x8b":
        return Gunzipped(fileobj=handle)  # type: ignore[return-value]
    return handle


def read_whole(path: Path) -> bytes:
    """The file's bytes (gunzipped), a damaged gzip file refused with `DamagedGzip`."""
    with open_binary(path) as stream:
        return stream.whole() if isinstance(stream, Gunzipped) else stream.read()


@contextlib.contextmanager
def seekable(path: Path) -> Iterator[BinaryIO]:
    """The file, or for gzip its content unzipped into a temporary file (seeking back in a gzip
    stream would unzip it again from the start); a damaged gzip file is refused whole."""
    with open_binary(path) as stream:
        if not isinstance(stream, Gunzipped):
            yield stream
            return
        with tempfile.TemporaryFile() as unzipped:
            shutil.copyfileobj(stream, unzipped, 1024 * 1024)
            stream.refuse_damage()
            yield unzipped


def int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array over `values`' memory. (`pa.array` would first import pandas, half a
    second, to check whether it was handed a pandas Series.)"""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def bytes_array(parts: Sequence[bytes], kind: pa.DataType | None = None) -> pa.Array:
    """`parts` as one Arrow binary array (or `kind`, say string for UTF-8 parts), wrapped around one
    joined buffer without a Python object each (and without `pa.array`, which imports pandas)."""
    offsets = np.zeros(len(parts) + 1, dtype=np.int32)
    np.cumsum([len(part) for part in parts], out=offsets[1:])
    return pa.Array.from_buffers(kind or pa.binary(), len(parts), [None, pa.py_buffer(offsets),
                                                                    pa.py_buffer(b"".join(parts))])


def line_table(numbers: np.ndarray, docs: pa.Array) -> pa.Table:
    return pa.Table.from_arrays([int64_array(numbers), docs], names=["line", "doc"])


def _split(data: bytes, first_line: int) -> LineChunk:
    """Split complete lines (`data` ends at a newline or at the end of the file)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    if not len(ends) or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    offsets = np.concatenate(([0], ends)).astype(np.int32)
    numbers = np.arange(first_line, first_line + len(ends), dtype=np.int64)
    invalid: list[tuple[int, str, bytes]] = []
    try:
        if not data.isascii():  # far cheaper than decoding, and enough for most exports
            data.decode("utf-8")
    except UnicodeDecodeError:
        keep = np.ones(len(ends), dtype=bool)
        for i in range(len(ends)):
            line = data[offsets[i] : offsets[i + 1]]
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                keep[i] = False
                invalid.append((int(numbers[i]), NOT_UTF8, line.rstrip(b"\r\n")))
        pieces = [data[offsets[i] : offsets[i + 1]] for i in np.flatnonzero(keep)]
        numbers = numbers[keep]
        docs = pa.array([p.decode("utf-8") for p in pieces], type=pa.string())
        return LineChunk(line_table(numbers, docs), invalid, len(data))
    docs = pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    return LineChunk(line_table(numbers, docs), invalid, len(data))


def read_line_chunks(stream: BinaryIO, chunk_bytes: int | None = None) -> Iterator[LineChunk]:
    """Chunks of about `chunk_bytes` (default `CHUNK_BYTES`) each, always cut at a newline; memory
    stays at a few chunks whatever the file's size. A byte-order mark at the start is dropped; a
    gzip file's damage ends the last chunk with the line it cut (`LineChunk.cut_off`)."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    first_line = 1
    rest = stream.read(len(BOM))
    rest = rest.removeprefix(BOM)
    while True:
        block = stream.read(chunk_bytes)
        data = rest + block
        damaged = not block and isinstance(stream, Gunzipped) and stream.damage is not None
        if not data and not damaged:
            return
        cut = data.rfind(b"\n") + 1 if block or damaged else len(data)
        if cut == 0 and not damaged:  # one line longer than a chunk: keep reading until it ends
            rest = data
            continue
        data, rest = data[:cut], data[cut:]
        chunk = _split(data, first_line) if data else LineChunk(line_table(np.zeros(0), pa.array([], pa.string())),
                                                                 [], 0)
        first_line += chunk.lines.num_rows + len(chunk.unreadable)
        if damaged:
            yield LineChunk(chunk.lines, chunk.unreadable, chunk.bytes_read + len(rest), (first_line, rest))
            return
        yield chunk
