"""Read an export (CSV, Parquet, JSON lines or a JSON list) as a lazy polars frame of text.

Files come as their owners' tools wrote them: a byte-order mark, Windows line ends, semicolons or
tabs instead of commas, Latin-1 from a spreadsheet, nested lists in JSON or Parquet. The frame is
lazy, so a large file is streamed rather than read whole; every value is text (types are ours to
decide, per the mapping), and a nested value (a transcript as a real list) is its JSON.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import polars as pl

from ingest.errors import IngestError

SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".jsonl", ".ndjson", ".json")
DELIMITERS = (",", ";", "\t", "|")
_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileOptions:
    """How to read the file, from the mapping's [source]; None means "work it out"."""

    delimiter: str | None = None
    encoding: str = "utf-8"


@dataclass(frozen=True)
class OpenedTable:
    """The file's rows, lazily, and the delimiter it was read with (None when not CSV)."""

    frame: pl.LazyFrame
    delimiter: str | None = None

    def columns(self, path: Path) -> list[str]:
        try:
            return self.frame.collect_schema().names()
        except pl.exceptions.PolarsError as error:
            raise unreadable(path, error) from None


@contextmanager
def opened_table(path: Path, options: FileOptions = FileOptions()) -> Iterator[OpenedTable]:
    """The file as a lazy frame of text columns; a transcoded copy (for a non-UTF-8 file) lives
    only as long as the block."""
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
            yield OpenedTable(_as_text(pl.scan_parquet(path), path))
        elif suffix in (".jsonl", ".ndjson") or (suffix == ".json" and _first_byte(path) == b"{"):
            yield OpenedTable(_as_text(pl.scan_ndjson(_utf8(path, options.encoding, Path(scratch)),
                                                      infer_schema_length=None), path))
        elif suffix == ".json":
            yield OpenedTable(_as_text(_read_json_list(_utf8(path, options.encoding, Path(scratch))).lazy(), path))
        else:
            text = _utf8(path, options.encoding, Path(scratch))
            delimiter = options.delimiter or sniff_delimiter(text)
            yield OpenedTable(pl.scan_csv(text, separator=delimiter, infer_schema=False, encoding="utf8"), delimiter)


def collected(frame: pl.LazyFrame, path: Path) -> pl.DataFrame:
    """Collect with the streaming engine; a file the parser cannot read is one sentence."""
    try:
        return frame.collect(engine="streaming")
    except pl.exceptions.PolarsError as error:
        raise unreadable(path, error) from None


def sink(frame: pl.LazyFrame, target: Path, path: Path) -> None:
    """Write `frame` to a Parquet file in bounded memory (the streaming engine, batch by batch)."""
    try:
        frame.sink_parquet(target, engine="streaming")
    except pl.exceptions.PolarsError as error:
        raise unreadable(path, error) from None


def read_table(path: Path, options: FileOptions = FileOptions()) -> pl.DataFrame:
    """The whole file at once, for the small files (complaints) that need no streaming."""
    with opened_table(path, options) as table:
        return collected(table.frame, path)


def unreadable(path: Path, error: Exception) -> IngestError:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return IngestError(f"{path} could not be read: {first_line}")


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


def _as_text(frame: pl.LazyFrame, path: Path) -> pl.LazyFrame:
    """Every column as text: plain values cast, nested ones (lists, records) as their JSON."""
    try:
        schema = frame.collect_schema()
    except pl.exceptions.PolarsError as error:
        raise unreadable(path, error) from None
    return frame.with_columns(_json_text(name) if dtype.is_nested() else pl.col(name).cast(pl.String)
                              for name, dtype in schema.items())


def _json_text(name: str) -> pl.Expr:
    """A nested column's values as JSON: encoded inside a one-field record, then unwrapped."""
    prefix = len(orjson.dumps({name: None})) - len(b"null}")
    encoded = pl.struct(pl.col(name)).struct.json_encode().str.slice(prefix).str.strip_suffix("}")
    return pl.when(pl.col(name).is_not_null()).then(encoded).alias(name)
