"""Calendar quarters, as the deck is asked for them ("2026Q3") and compared (against the quarter
before, whatever its length)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from warehouse.errors import CallboardError

_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE)


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1–4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """'2026Q3' (also '2026-Q3', '2026 q3'); a CallboardError with the expected form otherwise."""
        found = _QUARTER.fullmatch(text.strip())
        if not found:
            raise CallboardError(f"'{text}' is not a quarter: write the year and the quarter 1–4, like 2026Q3.")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"Q{self.number} {self.year}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + self.number // 4, self.number % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter.of(self.start - timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"
