"""What a user narrowed the view to: a period and optional agents, prompt versions and models."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from warehouse.errors import CallboardError


@dataclass(frozen=True)
class Filters:
    """A period (both ends included, UTC days) and optional filters; empty tuples mean "all"."""

    start: date
    end: date
    agents: tuple[str, ...] = ()
    prompt_versions: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise CallboardError(f"The period ends ({self.end}) before it starts ({self.start}).")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length that ends the day before this one starts."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def describe(self) -> str:
        """The period and filters in one line, for chart captions and exported files."""
        period = f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"
        chosen = [
            f"{label}: {', '.join(values)}"
            for label, values in (("agent", self.agents), ("prompt", self.prompt_versions), ("model", self.models))
            if values
        ]
        return " · ".join([period, *chosen]) if chosen else f"{period} · all calls"

    @property
    def narrows_calls(self) -> bool:
        """Whether anything beyond the period selects calls."""
        return bool(self.agents or self.prompt_versions or self.models)
