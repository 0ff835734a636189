"""Numbers as exports write them: `$1,250.00`, `1.250,00 €`, `99,5`, `1 250`.

The decimal mark is the mapping's `decimal` when it gives one; else the column shows it (a value
whose last separator is followed by one or two digits, like `99,5` or `1,250.00`); else it is a
comma in a semicolon-separated file (spreadsheets in comma-decimal countries write those) and a
point otherwise.
"""

from __future__ import annotations

import polars as pl

_COMMA_DECIMAL = r"(^|[^\d.,])\d+(\.\d{3})*,\d{1,2}$|\.\d{3},"
_POINT_DECIMAL = r"(^|[^\d.,])\d+(,\d{3})*\.\d{1,2}$|,\d{3}\."
_DECORATION = r"[\s\u00a0$€£¥']|\b(USD|EUR|GBP)\b"  # currency signs and codes; spaces, apostrophes as thousands


def sniff_decimal(column: str) -> list[pl.Expr]:
    """Aggregates over the column: values that show a decimal comma, and a decimal point."""
    text = pl.col(column).str.replace_all(_DECORATION, "")
    return [text.str.contains(_COMMA_DECIMAL).sum().alias(f"{column}|comma"),
            text.str.contains(_POINT_DECIMAL).sum().alias(f"{column}|point")]


def decimal_mark(counts: dict[str, int], column: str, delimiter: str) -> str:
    comma, point = counts[f"{column}|comma"], counts[f"{column}|point"]
    if comma != point and (comma == 0 or point == 0):
        return "," if comma else "."
    return "," if delimiter == ";" else "."


def number(column: pl.Expr, decimal: str) -> pl.Expr:
    """The column as floats; NULL where a value is not a number written with `decimal` as its
    decimal mark (so `99,5` is not read as 995, nor `$1,250.00` as 1.25)."""
    text = column.str.replace_all(_DECORATION, "")
    thousands = "." if decimal == "," else ","
    grouped = rf"^[+-]?(\d{{1,3}}(\{thousands}\d{{3}})+|\d+)(\{decimal}\d+)?([eE][+-]?\d+)?$"
    plain = text.str.replace_all(thousands, "", literal=True).str.replace(decimal, ".", literal=True)
    return pl.when(text.str.contains(grouped)).then(plain.cast(pl.Float64, strict=False))
