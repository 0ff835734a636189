"""Rows staged on disk in pieces by the hash of a key (a record, a call), so that every row of one
key lands in one piece and a piece fits in memory whatever the file's size. A load reads the file
chunk by chunk, writes each chunk's rows to their pieces, then combines rows piece by piece:
exactly what it would get from the whole file at once, since no key spans two pieces."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

PIECE_BYTES = 16 * 1024 * 1024  # of rows as frames per piece (the survey's measure), on average


def piece_count(frame_bytes: int) -> int:
    """How many pieces a file of `frame_bytes` (as frames) is cut into."""
    return max(1, math.ceil(frame_bytes / PIECE_BYTES))


def stage(rows: pl.DataFrame, key: str, pieces: int, folder: Path, chunk: int) -> None:
    """Write chunk number `chunk`'s rows to their pieces under `folder`."""
    if rows.is_empty():
        return
    piece = (pl.col(key).hash(seed=0) % pieces).alias("piece")
    for (number,), part in rows.with_columns(piece).partition_by("piece", as_dict=True).items():
        target = folder / f"piece-{number:05d}"
        target.mkdir(parents=True, exist_ok=True)
        part.drop("piece").write_parquet(target / f"chunk-{chunk:06d}.parquet")


def staged(folder: Path) -> list[str]:
    """Each piece under `folder`, as the glob of its files (for DuckDB's read_parquet and polars)."""
    return [str(piece / "*.parquet") for piece in sorted(folder.glob("piece-*"))]


def read_piece(piece: str) -> pl.DataFrame:
    """One piece's rows in file order."""
    return pl.read_parquet(piece).sort("row_number")
