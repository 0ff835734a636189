"""Checkable facts in what an agent says and in what its tools return: prices, times, dates and
street addresses, each normalised so that "$1,250", "1250 dollars" and `{"price": 1250}` compare
equal. The rule-based judge compares the two sides; it only needs to be precise about the kinds
of fact a voice agent gets wrong, so anything vague ("around noon", "next week") is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
STREET_TYPES = {
    "street": "street", "st": "street", "road": "road", "rd": "road", "avenue": "avenue",
    "ave": "avenue", "lane": "lane", "ln": "lane", "drive": "drive", "dr": "drive", "court": "court",
    "ct": "court", "boulevard": "boulevard", "blvd": "boulevard", "way": "way", "place": "place",
    "pl": "place", "terrace": "terrace", "close": "close", "crescent": "crescent", "square": "square",
    "parkway": "parkway", "circle": "circle",
}  # fmt: skip
PRICE_KEYS = re.compile(r"price|cost|fee|amount|total|deposit|rent|rate|usd", re.IGNORECASE)

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_PRICE = re.compile(
    r"\$\s?(?P<a>\d{1,3}(?:,\d{3})+|\d+)(?P<ac>\.\d{1,2})?\s?(?P<as>k|m|million|thousand)?\b"
    r"|\b(?P<b>\d{1,3}(?:,\d{3})+|\d+)(?P<bc>\.\d{1,2})?\s?(?P<bs>k|million|thousand)?\s(?:dollars|usd)\b",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"(?<![\d:])(?P<h>[01]?\d|2[0-3])(?::(?P<m>[0-5]\d))?\s?(?P<ampm>[ap])\.?\s?m\b\.?"
    r"|(?<![\d:])(?P<h24>[01]?\d|2[0-3]):(?P<m24>[0-5]\d)\b",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b\d{4}-(?P<mo>\d{2})-(?P<d>\d{2})(?!\d)")
_DATE = re.compile(
    rf"\b(?P<mon1>{_MONTH})\.?\s+(?P<d1>[0-3]?\d)(?:st|nd|rd|th)?\b"
    rf"|\b(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon2>{_MONTH})\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"\b(?P<number>\d{1,5})\s+(?P<name>(?:[A-Z][a-z]+\s){1,3})(?P<type>"
    + "|".join(sorted((t.capitalize() for t in STREET_TYPES), key=len, reverse=True))
    + r")\b\.?"
)
_DIGIT = re.compile(r"\d")
_SCALE = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}


@dataclass(frozen=True)
class Fact:
    kind: str  # price | time | date | address
    value: str  # normalised, comparable across phrasings
    text: str  # as written


def _price_value(whole: str, cents: str | None, scale: str | None) -> str:
    amount = float(whole.replace(",", "") + (cents or ""))
    amount *= _SCALE.get((scale or "").lower(), 1)
    return f"{amount:.2f}"


def _time_value(hour: int, minute: int, ampm: str | None) -> str:
    if ampm:
        hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
    return f"{hour:02d}:{minute:02d}"


def facts_in_text(text: str) -> list[Fact]:
    """Every price, clock time, calendar date and street address written in `text`."""
    found: list[Fact] = []
    if not _DIGIT.search(text):  # every fact kind has a digit; most turns have none
        return found
    for m in _PRICE.finditer(text):
        whole, cents, scale = (m["a"], m["ac"], m["as"]) if m["a"] is not None else (m["b"], m["bc"], m["bs"])
        value = _price_value(whole, cents, scale)
        found.append(Fact("price", value, m.group().strip()))
    for m in _CLOCK.finditer(text):
        if m["h"] is None:
            value = _time_value(int(m["h24"]), int(m["m24"]), None)
        elif int(m["h"]) <= 12:  # "15 pm" is no time
            value = _time_value(int(m["h"]), int(m["m"] or 0), m["ampm"])
        else:
            continue
        found.append(Fact("time", value, m.group().strip()))
    for m in _ISO_DATE.finditer(text):
        found.append(Fact("date", f"{int(m['mo']):02d}-{int(m['d']):02d}", m.group()))
    for m in _DATE.finditer(text):
        month = MONTHS[(m["mon1"] or m["mon2"]).lower()]
        day = int(m["d1"] or m["d2"])
        if 1 <= day <= 31:
            found.append(Fact("date", f"{month:02d}-{day:02d}", m.group()))
    for m in _ADDRESS.finditer(text):
        street = " ".join(m["name"].lower().split())
        found.append(Fact("address", f"{m['number']} {street} {STREET_TYPES[m['type'].lower()]}", m.group()))
    return found


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _leaves(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child, key)
    else:
        yield key, value


def facts_in_payload(payload: str | None) -> list[Fact]:
    """The facts in a tool result: JSON numbers under price-like keys are prices, and every string
    (or the whole payload when it is not JSON) is read like speech."""
    if not payload:
        return []
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return facts_in_text(payload)
    found: list[Fact] = []
    for key, value in _leaves(data):
        if isinstance(value, int | float) and not isinstance(value, bool) and PRICE_KEYS.search(key):
            found.append(Fact("price", f"{float(value):.2f}", f'"{key}": {value}'))
        elif isinstance(value, str):
            found.extend(facts_in_text(value))
    return found
