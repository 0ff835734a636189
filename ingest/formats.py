"""What a file's columns show about how they are written: whether day/month dates are day-first,
and which decimal mark numbers use. One streaming pass over the file for every column that asks."""

from __future__ import annotations

from pathlib import Path

from ingest import dates, numbers
from ingest.errors import IngestError
from ingest.tables import OpenedTable, collected


def sniffed_formats(table: OpenedTable, path: Path, date_columns: dict[str, str],
                    number_columns: dict[str, str]) -> dict[str, object]:
    """Per field (ours -> their column): day-first (bool) for `date_columns`, the decimal mark
    for `number_columns`. A date column that could be read either way stops the run with one
    sentence saying what to add to the mapping."""
    probes = [e for column in date_columns.values() for e in dates.sniff_day_first(column)]
    probes += [e for column in number_columns.values() for e in numbers.sniff_decimal(column)]
    counts = collected(table.frame.select(probes), path).row(0, named=True) if probes else {}
    for name, column in date_columns.items():
        if problem := dates.ambiguity(column, counts, name, column):
            raise IngestError(f"{path}: {problem}")
    found: dict[str, object] = {name: dates.day_first_from(counts, column) for name, column in date_columns.items()}
    found.update({name: numbers.decimal_mark(counts, column, table.delimiter or ",")
                  for name, column in number_columns.items()})
    return found
