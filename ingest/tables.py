"""Read an export (CSV, Parquet, JSON lines or a JSON list) as frames of text, chunk by chunk.

Files come as their owners' tools wrote them: a byte-order mark, Windows line ends, semicolons or
tabs instead of commas, Latin-1 from a spreadsheet, nested lists in JSON or Parquet. Every value is
text (types are ours to decide, per the mapping), and a nested value (a transcript as a real list)
is its JSON. A file is read in chunks of about `CHUNK_BYTES` (CSV and JSON lines cut at a record's
end, Parquet by rows), never mapped or held whole, so a reader's memory does not grow with the
file; only a JSON list (one document) is read whole.
"""

from __future__ import annotations

import codecs
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl
import pyarrow.parquet as pq

from ingest.errors import IngestError

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".jsonl", ".ndjson", ".json")
DELIMITERS = (",", ";", "\t", "|")
CHUNK_BYTES = 8 * 1024 * 1024  # of the file per chunk: a chunk's frames take a few times this
_BLOCK = 8 * 1024 * 1024
_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class FileOptions:
    """How to read the file, from the mapping's [source]; None means "work it out"."""

    delimiter: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class OpenedTable:
    """A file ready to be read chunk by chunk: `kind` is csv, ndjson, parquet or json (a list),
    `source` the UTF-8 file read (a transcoded copy when the file is in another encoding), and
    `delimiter` the CSV delimiter used (None when not CSV)."""

    path: Path
    source: Path
    kind: str
    delimiter: str | None = None

    def chunks(self, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The rows in file order, a chunk at a time, every value text. With `columns`, every
        chunk has exactly those (one missing from a chunk, as a key absent from some JSON lines,
        is empty there), so chunks line up."""
        try:
            for frame in _READERS[self.kind](self.source, self.delimiter):
                yield frame if columns is None else _aligned(frame, columns)
        except pl.exceptions.PolarsError as error:
            raise unreadable(self.path, error) from None


@contextmanager
def opened_table(path: Path, options: FileOptions = FileOptions()) -> Iterator[OpenedTable]:
    """The file, checked and ready to read; a transcoded copy (for a non-UTF-8 file) lives only
    as long as the block."""
    if not path.is_file():
        raise IngestError(f"No such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise IngestError(f"{path}: unknown format {suffix or '(no extension)'}; "
                          f"use .csv, .parquet, .jsonl, .ndjson or .json.")
    if _is_empty(path):
        raise IngestError(f"{path} is empty: it has no header row and no records.")
    with tempfile.TemporaryDirectory(prefix="callboard-") as scratch:
        if suffix == ".parquet":
            yield OpenedTable(path, path, "parquet")
        elif suffix in (".jsonl", ".ndjson") or (suffix == ".json" and _first_byte(path) == b"{"):
            yield OpenedTable(path, _utf8(path, options.encoding, Path(scratch)), "ndjson")
        elif suffix == ".json":
            yield OpenedTable(path, _utf8(path, options.encoding, Path(scratch)), "json")
        else:
            text = _utf8(path, options.encoding, Path(scratch))
            yield OpenedTable(path, text, "csv", options.delimiter or sniff_delimiter(text))

def read_table(path: Path, options: FileOptions = FileOptions()) -> pl.DataFrame:
    """The whole file at once, for the small files (complaints) that need no streaming."""
    with opened_table(path, options) as table:
        return pl.concat(list(table.chunks()), how="diagonal")


def unreadable(path: Path, error: Exception) -> IngestError:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return IngestError(f"{path} could not be read: {first_line}")


def _csv_chunks(path: Path, delimiter: str | None) -> Iterator[pl.DataFrame]:
    """Pieces of about `CHUNK_BYTES`, each cut after a line end outside quotes, parsed with the
    header's column names; the first piece holds the header."""
    names: list[str] | None = None
    for piece in _pieces(path, _csv_record_end):
        if names is None:
            frame = pl.read_csv(io.BytesIO(piece), separator=delimiter or ",", infer_schema=False)
            names = frame.columns
        else:
            frame = pl.read_csv(io.BytesIO(piece), separator=delimiter or ",", infer_schema=False,
                                has_header=False, new_columns=names, schema=dict.fromkeys(names, pl.String))
        yield frame


def _ndjson_chunks(path: Path, _: str | None) -> Iterator[pl.DataFrame]:
    for piece in _pieces(path, _line_end):
        if piece.strip():
            yield _as_text(pl.read_ndjson(io.BytesIO(piece), infer_schema_length=None))


def _parquet_chunks(path: Path, _: str | None) -> Iterator[pl.DataFrame]:
    """Batches of about `CHUNK_BYTES` of the file's values (rows per batch from its metadata)."""
    file = pq.ParquetFile(path)
    metadata = file.metadata
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    rows = max(1, metadata.num_rows * CHUNK_BYTES // max(size, 1))
    batches = (pl.DataFrame(batch) for batch in file.iter_batches(batch_size=rows))
    for frame in batches if metadata.num_rows else [pl.DataFrame(file.schema_arrow.empty_table())]:
        yield _as_text(frame)


def _json_list_chunks(path: Path, _: str | None) -> Iterator[pl.DataFrame]:
    """A JSON list is one document: read whole (JSON lines stream)."""
    yield _read_json_list(path)


_READERS: dict[str, Callable[[Path, str | None], Iterator[pl.DataFrame]]] = {
    "csv": _csv_chunks, "ndjson": _ndjson_chunks, "parquet": _parquet_chunks, "json": _json_list_chunks}


def _pieces(path: Path, record_end: Callable[[bytes], int]) -> Iterator[bytes]:
    """The file's bytes in pieces of about `CHUNK_BYTES`, each ending just after a whole record
    (`record_end` says where; a record longer than a piece makes the piece longer), the
    byte-order mark cut."""
    with path.open("rb") as handle:
        pending = handle.read(len(_BOM)).removeprefix(_BOM)
        while block := handle.read(CHUNK_BYTES):
            data = pending + block if pending else block
            cut = record_end(data)
            if cut < 0:
                pending = data
                continue
            pending = data[cut:]
            yield data[:cut]
    if pending.strip():
        yield pending


def _csv_record_end(data: bytes) -> int:
    """Just after the last line end outside quotes: one with an even number of quote characters
    before it (an escaped quote, "", keeps the count even), as polars splits a file itself."""
    end = data.rfind(b"\n")
    quotes = data.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        earlier = data.rfind(b"\n", 0, end)
        quotes -= data.count(b'"', max(earlier, 0), end)
        end = earlier
    return end + 1 if end >= 0 else -1


def _line_end(data: bytes) -> int:
    """Just after the last line end (a JSON line cannot hold a raw one)."""
    end = data.rfind(b"\n")
    return end + 1 if end >= 0 else -1


def _aligned(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.select(pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns)


def _is_empty(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(64)
    return not head.removeprefix(codecs.BOM_UTF8).strip()


def _first_byte(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(4096).removeprefix(codecs.BOM_UTF8).lstrip()[:1]


def _utf8(path: Path, encoding: str, scratch: Path) -> Path:
    """`path` itself when it is UTF-8 (checked as it streams past), else a UTF-8 copy in
    `scratch` decoded from `encoding`. A file that is not what it claims is one sentence with
    the line and the fix."""
    try:
        utf8 = codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        raise IngestError(f"Unknown encoding {encoding!r}; try \"utf-8\", \"latin-1\" or \"cp1252\".") from None
    decoder = codecs.getincrementaldecoder(encoding)()
    target = path if utf8 else scratch / f"{path.stem}.utf8{path.suffix}"
    line = 1
    with path.open("rb") as source, ExitStack() as stack:
        sink = None if utf8 else stack.enter_context(target.open("wb"))
        while block := source.read(_BLOCK):
            if sink is None and block.isascii() and not decoder.getstate()[0]:
                line += block.count(b"\n")
                continue  # ASCII is UTF-8, and checking that is far cheaper than decoding
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as error:
                line += block[: error.start].count(b"\n")
                raise IngestError(
                    f"{path} is not UTF-8 (line {line}); if it was saved as Latin-1 or Windows-1252 "
                    f"(Excel, Salesforce), add encoding = \"latin-1\" or \"cp1252\" under [source] "
                    f"in the mapping.") from None
            line += block.count(b"\n")
            if sink is not None:
                sink.write(text.encode("utf-8"))
        decoder.decode(b"", final=True)
    return target


def sniff_delimiter(path: Path) -> str:
    """The candidate that splits the header line into the most fields, quoted text left out
    (a comma in "Smith, Jo" is not a delimiter); a one-column file is comma-separated."""
    with path.open("rb") as handle:
        header = handle.readline(1024 * 1024).decode("utf-8", errors="replace").removeprefix("\ufeff")
    unquoted = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_json_list(path: Path) -> pl.DataFrame:
    """A JSON list of records; nested values (a dialogue's turns) become their JSON text here,
    as records of one file rarely agree on the shape of their nested parts."""
    try:
        records = orjson.loads(path.read_bytes().removeprefix(codecs.BOM_UTF8))
    except orjson.JSONDecodeError as error:
        raise IngestError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise IngestError(f"{path} is not a JSON list of records (objects); JSON lines go in .jsonl.")
    columns = list(dict.fromkeys(key for record in records for key in record))
    return pl.DataFrame({c: [_plain(r.get(c)) for r in records] for c in columns},
                        schema=dict.fromkeys(columns, pl.String))


def _plain(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text: plain values cast, nested ones (lists, records) as their JSON."""
    return frame.with_columns(_json_text(name) if dtype.is_nested() else pl.col(name).cast(pl.String)
                              for name, dtype in frame.schema.items())


def _json_text(name: str) -> pl.Expr:
    """A nested column's values as JSON: encoded inside a one-field record, then unwrapped."""
    prefix = len(orjson.dumps({name: None})) - len(b"null}")
    encoded = pl.struct(pl.col(name)).struct.json_encode().str.slice(prefix).str.strip_suffix("}")
    return pl.when(pl.col(name).is_not_null()).then(encoded).alias(name)
