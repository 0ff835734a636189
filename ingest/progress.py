"""A plain progress bar on stderr for long runs: silent for the first second, then redrawn at
most every half second, so short runs and logs stay clean."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Bytes done out of a total; holds the little state a redrawn line needs."""

    def __init__(self, total_bytes: int, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.total = max(total_bytes, 1)
        self.enabled = enabled
        self.stream = stream
        self.began = time.monotonic()
        self.drawn_at = 0.0
        self.done = 0
        self.records = 0

    def advance(self, nbytes: int, records: int) -> None:
        self.done += nbytes
        self.records += records
        now = time.monotonic()
        if self.enabled and now - self.began > 1.0 and now - self.drawn_at > 0.5:
            self.drawn_at = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled and self.drawn_at:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        rate = self.records / max(now - self.began, 1e-9)
        self.stream.write(
            f"\r[{bar:<30}] {share:4.0%}  {self.done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB  {rate:,.0f} records/s"
        )
        self.stream.flush()
