"""Read a CSV or Parquet export into a polars frame, every value as text, for mapping."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.errors import IngestError


def read_table(path: Path) -> pl.DataFrame:
    """The file's rows with all columns as strings (types are ours to decide, per the mapping)."""
    if not path.is_file():
        raise IngestError(f"No such file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False)
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
            return frame.with_columns(pl.all().cast(pl.String))
        if suffix in (".jsonl", ".ndjson"):
            return pl.read_ndjson(path).with_columns(pl.all().cast(pl.String))
    except (pl.exceptions.PolarsError, OSError) as error:
        raise IngestError(f"{path} could not be read as {suffix[1:]}: {error}") from None
    raise IngestError(f"{path}: unknown format {suffix or '(no extension)'}; use .csv, .parquet or .jsonl.")
