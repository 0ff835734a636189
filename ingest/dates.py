"""Dates and times as exports write them, read value by value into naive UTC timestamps.

One column may mix ISO 8601 (with or without a zone; a zone converts to UTC, none is read as UTC),
Unix seconds or milliseconds, and day/month dates written with slashes, dots or dashes (with a
time, 24-hour or AM/PM). Whether `11/03/2026` is 3 November or 11 March is never guessed: the
column says it when one of its dates has a day above 12, the mapping says it with `day_first` or
a `format`, and otherwise the run stops and asks (`ambiguity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

# day/month/year or month/day/year, then anything (a time) after it
_DAY_MONTH = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b(.*)$"
# year-month-day, then optionally a time (with seconds, a fraction, AM/PM) and a zone
_ISO = (r"^(?<year>\d{4})-(?<month>\d{1,2})-(?<day>\d{1,2})"
        r"(?:[T ]+(?<hour>\d{1,2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:[.,](?<fraction>\d{1,9}))?)?"
        r"\s*(?<ampm>[AaPp][Mm])?)?\s*(?<offset>Z|UTC|GMT|[+-]\d{2}:?\d{2})?$")
_MILLISECONDS_AFTER = 1e11  # a number above this is Unix milliseconds (1e11 s is the year 5138)
EARLIEST, LATEST = pl.datetime(2000, 1, 1), pl.datetime(2100, 1, 1)


@dataclass(frozen=True)
class DateRule:
    """What the mapping says about one date column: a strftime `format`, or `day_first`."""

    format: str | None = None
    day_first: bool | None = None


def sniff_day_first(column: str) -> list[pl.Expr]:
    """Aggregates over the column: how many day/month dates it has, and how many can only be
    day-first (first number above 12) or only month-first (second number above 12)."""
    parts = pl.col(column).str.strip_chars().str.extract_groups(_DAY_MONTH)
    first, second = (parts.struct.field(str(i)).cast(pl.Int32, strict=False) for i in (1, 2))
    return [first.is_not_null().sum().alias(f"{column}|dates"), (first > 12).sum().alias(f"{column}|day_first"),
            (second > 12).sum().alias(f"{column}|month_first")]


def ambiguity(label: str, counts: dict[str, int], field: str, column: str) -> str | None:
    """Why the mapping must say which way round the column's day/month dates are, or None."""
    dates, day, month = (counts[f"{column}|{k}"] for k in ("dates", "day_first", "month_first"))
    if not dates or (day == 0) != (month == 0):
        return None
    how = (f"mixes day-first and month-first dates ({day:,} with a day above 12 first, {month:,} second)"
           if day else "has dates like 11/03/2026 that could be day/month or month/day")
    return (f"Column {label!r} {how}; say which in the mapping: [dates] {field} = {{ day_first = true }} "
            f"(11/03/2026 is 11 March) or {{ day_first = false }} (3 November), or "
            f"{{ format = \"%m/%d/%Y\" }}.")


def day_first_from(counts: dict[str, int], column: str) -> bool:
    return counts[f"{column}|day_first"] > 0


def timestamp(column: pl.Expr, rule: DateRule, day_first: bool = False) -> pl.Expr:
    """The column as naive UTC timestamps (microseconds); NULL where a value is not a date."""
    return column.map_batches(lambda values: _timestamps(values, rule, day_first), return_dtype=pl.Datetime("us"),
                              is_elementwise=True)


def _timestamps(values: pl.Series, rule: DateRule, day_first: bool) -> pl.Series:
    """Each value taken apart with one pattern and put back together in one format, in stages
    that each run once, so a column of millions parses in one pass whatever mix it holds."""
    text = pl.DataFrame({"text": values.str.strip_chars()})
    if rule.format is not None:
        return text.select(_parsed(pl.col("text"), (rule.format,), "%z" in rule.format)).to_series()
    day_first = rule.day_first if rule.day_first is not None else day_first
    iso = pl.col("text").str.replace(_DAY_MONTH, "$3-$2-$1$4" if day_first else "$3-$1-$2$4")
    parts = text.with_columns(number=pl.col("text").cast(pl.Float64, strict=False),
                              parts=iso.str.extract_groups(_ISO)).unnest("parts")
    hour, ampm = pl.col("hour").cast(pl.Int32, strict=False).fill_null(0), pl.col("ampm").str.to_lowercase()
    parts = parts.with_columns(
        hour=pl.when((ampm == "pm") & (hour < 12)).then(hour + 12).when((ampm == "am") & (hour == 12)).then(0)
        .otherwise(hour).cast(pl.String).str.zfill(2),
        offset=pl.col("offset").str.replace(r"^(Z|UTC|GMT)$", "+00:00").str.replace(":", "", literal=True),
    )
    sign = pl.when(pl.col("offset").str.starts_with("-")).then(-1).otherwise(1)
    minutes = (sign * (pl.col("offset").str.slice(1, 2).cast(pl.Int64, strict=False) * 60
                       + pl.col("offset").str.slice(3, 2).cast(pl.Int64, strict=False))).fill_null(0)
    local = pl.format("{}-{}-{} {}:{}:{}.{}", "year", pl.col("month").str.zfill(2), pl.col("day").str.zfill(2),
                      "hour", pl.col("minute").fill_null("00"), pl.col("second").fill_null("00"),
                      pl.col("fraction").fill_null("0").str.slice(0, 6).str.pad_end(6, "0"),
                      ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
    seconds = pl.when(pl.col("number") > _MILLISECONDS_AFTER).then(pl.col("number") / 1000).otherwise(pl.col("number"))
    unix = pl.from_epoch((seconds * 1e6).cast(pl.Int64, strict=False), time_unit="us")
    return parts.select(pl.when(pl.col("number").is_not_null()).then(unix)
                        .otherwise(local - pl.duration(minutes=minutes))).to_series().alias(values.name)


def _parsed(text: pl.Expr, formats: tuple[str, ...], zoned: bool) -> pl.Expr:
    """The first of `formats` that reads each value (an offset converted to UTC)."""
    if zoned:
        return pl.coalesce(text.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False, exact=True)
                           .dt.replace_time_zone(None) for f in formats)
    return pl.coalesce(text.str.to_datetime(f, time_unit="us", strict=False, exact=True) for f in formats)


def implausible(value: pl.Expr) -> pl.Expr:
    """A date read fine but not between 2000 and 2100: a unit or format mistake, not a real time."""
    return value.is_not_null() & ~value.is_between(EARLIEST, LATEST)
