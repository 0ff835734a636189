"""What one ingest run did, as returned to callers and printed by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RunSummary:
    """Counts of one run; `read` counts records (spans, rows, prompt files), quarantined ones included."""

    run_id: str
    kind: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    quarantined: int = 0
    unmatched: int = 0
    seconds: float = 0.0
    started_at: datetime | None = None
    unmatched_keys: list[str] = field(default_factory=list)

    def add(self, *, read: int = 0, loaded: int = 0, updated: int = 0, quarantined: int = 0) -> None:
        self.read += read
        self.loaded += loaded
        self.updated += updated
        self.quarantined += quarantined


def format_table(summary: RunSummary, shown_keys: int = 10) -> str:
    """The summary as a small aligned table for the terminal."""
    rows = [
        ("run", summary.run_id),
        ("kind", summary.kind),
        ("read", f"{summary.read:,}"),
        ("loaded", f"{summary.loaded:,}"),
        ("updated", f"{summary.updated:,}"),
        ("quarantined", f"{summary.quarantined:,}"),
    ]
    if summary.kind == "outcomes":
        rows.append(("unmatched", f"{summary.unmatched:,}"))
    rows.append(("seconds", f"{summary.seconds:.2f}"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if summary.unmatched_keys:
        keys = ", ".join(summary.unmatched_keys[:shown_keys])
        more = len(summary.unmatched_keys) - shown_keys
        lines.append(f"matching no call yet: {keys}" + (f" and {more:,} more" if more > 0 else ""))
    if summary.quarantined:
        lines.append(f"refused records: python -m ingest quarantine {summary.run_id}")
    return "\n".join(lines)
