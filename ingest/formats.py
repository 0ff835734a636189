"""What a file's columns show about how they are written (whether day/month dates are day-first,
which decimal mark numbers use) and how big it is: one pass over the file, chunk by chunk, whose
counts add up across chunks, so a file cut anywhere shows what it shows whole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ingest import dates, numbers
from ingest.errors import IngestError
from ingest.mapping import NamesColumns, require_columns
from ingest.tables import OpenedTable


@dataclass(frozen=True)
class Survey:
    """The file's rows, the memory its values take as frames (what sizes the pieces a load is
    cut into), its columns (for JSON lines: every key of any line, in order of appearance), and
    per field the format its values show."""

    rows: int
    frame_bytes: int
    columns: list[str]
    formats: dict[str, object]


def surveyed(table: OpenedTable, path: Path, mapping: NamesColumns, date_columns: dict[str, str],
             number_columns: dict[str, str]) -> Survey:
    """Per field (ours -> their column): day-first (bool) for `date_columns`, the decimal mark
    for `number_columns`. A column the mapping names and the file lacks stops the run (at the
    first chunk, unless it is JSON lines, whose later lines may bring new keys), and so does a
    date column that could be read either way, with one sentence saying what to add to the
    mapping."""
    probed = [*date_columns.values(), *number_columns.values()]
    probes = [e for column in date_columns.values() for e in dates.sniff_day_first(column)]
    probes += [e for column in number_columns.values() for e in numbers.sniff_decimal(column)]
    rows = frame_bytes = 0
    columns: dict[str, None] = {}
    counts: dict[str, int] = {}
    for number, chunk in enumerate(table.chunks()):
        if number == 0 and table.kind != "ndjson":
            require_columns(mapping, chunk.columns, path)
        rows, frame_bytes = rows + chunk.height, frame_bytes + int(chunk.estimated_size())
        columns.update(dict.fromkeys(chunk.columns))
        if probes:
            present = chunk.with_columns(pl.lit(None, pl.String).alias(c) for c in probed if c not in chunk.columns)
            for name, value in present.select(probes).row(0, named=True).items():
                counts[name] = counts.get(name, 0) + int(value or 0)
    require_columns(mapping, list(columns), path)
    for name, column in date_columns.items():
        if problem := dates.ambiguity(column, counts, name, column):
            raise IngestError(f"{path}: {problem}")
    found: dict[str, object] = {name: dates.day_first_from(counts, column) for name, column in date_columns.items()}
    found.update({name: numbers.decimal_mark(counts, column, table.delimiter or ",")
                  for name, column in number_columns.items()})
    return Survey(rows, frame_bytes, list(columns), found)
