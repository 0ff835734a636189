"""What one ingest run did, as returned to callers and printed by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from warehouse.prices import price_command


@dataclass
class IngestSummary:
    """Counts of one run, all in one unit (spans, rows or files): every record read was loaded
    (new), updated (replaced something different), unchanged (already stored as it is) or
    quarantined, so read = loaded + updated + unchanged + quarantined."""

    run_id: str
    kind: str
    unit: str = "records"
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    unmatched: int = 0
    untimed_calls: int = 0  # call logs: calls with no times, left out of latency
    calls_rebuilt: int = 0  # traces: calls stored before the run that gained spans
    unpriced_models: list[tuple[str | None, str | None]] = field(default_factory=list)  # (provider, model)
    seconds: float = 0.0
    started_at: datetime | None = None
    unmatched_keys: list[str] = field(default_factory=list)  # the first few of the `unmatched`

    def add(self, *, read: int = 0, loaded: int = 0, updated: int = 0, unchanged: int = 0,
            quarantined: int = 0) -> None:
        self.read += read
        self.loaded += loaded
        self.updated += updated
        self.unchanged += unchanged
        self.quarantined += quarantined


def format_table(summary: IngestSummary, shown_keys: int = 10) -> str:
    """The summary as a small aligned table for the terminal."""
    rows = [
        ("run", summary.run_id),
        ("kind", summary.kind),
        ("read", f"{summary.read:,} {summary.unit}"),
        ("loaded", f"{summary.loaded:,}"),
        ("updated", f"{summary.updated:,}"),
        ("unchanged", f"{summary.unchanged:,}"),
        ("quarantined", f"{summary.quarantined:,}"),
    ]
    if summary.kind == "outcomes":
        rows.append(("unmatched", f"{summary.unmatched:,}"))
    if summary.untimed_calls:
        rows.append(("no times", f"{summary.untimed_calls:,} calls (dated by the file; no latency)"))
    if summary.calls_rebuilt:
        rows.append(("calls grown", f"{summary.calls_rebuilt:,} (stored before, rebuilt with their new spans)"))
    rows.extend(("no list price", f"{provider or '(no provider)'} {model or '(no model)'}")
                for provider, model in summary.unpriced_models)
    rows.append(("seconds", f"{summary.seconds:.2f}"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    if summary.unmatched_keys:
        keys = ", ".join(summary.unmatched_keys[:shown_keys])
        more = summary.unmatched - min(shown_keys, len(summary.unmatched_keys))
        lines.append(f"matching no call yet: {keys}" + (f" and {more:,} more" if more > 0 else ""))
    if summary.unpriced_models:
        provider, model = summary.unpriced_models[0]
        lines.append(f"their spans' cost is unknown until a price is set: {price_command(provider, model)}")
    if summary.quarantined:
        lines.append(f"refused records: python -m ingest quarantine {summary.run_id}")
    return "\n".join(lines)


def format_quarantine(frame: pl.DataFrame, record_chars: int = 160) -> str:
    """Refused records grouped by file: where, why, and the record as read (shortened)."""
    if frame.is_empty():
        return "No refused records."
    lines: list[str] = []
    width = max(len(location) for location in frame["location"])
    for (source,), group in frame.group_by("source_file", maintain_order=True):
        lines.append(str(source))
        for row in group.iter_rows(named=True):
            record = (row["record"] or "").replace("\n", "\\n")
            shown = record if len(record) <= record_chars else record[: record_chars - 1] + "…"
            lines.append(f"  {row['location']:<{width}}  {row['reason']}")
            lines.append(f"  {'':<{width}}  {shown}")
    return "\n".join(lines)


def format_runs(frame: pl.DataFrame) -> str:
    """The runs as an aligned table, newest first."""
    if frame.is_empty():
        return "No ingest runs yet."
    header = ("run", "kind", "status", "started (UTC)", "seconds", "unit", "read", "loaded", "updated", "unchanged",
              "quarantined")
    rows = [header] + [
        (r["run_id"][:12], r["kind"], r["status"], f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
         "" if r["seconds"] is None else f"{r['seconds']:.1f}", r["unit"] or "", f"{r['records_read']:,}",
         f"{r['records_loaded']:,}", f"{r['records_updated']:,}", f"{r['records_unchanged']:,}",
         f"{r['records_quarantined']:,}")
        for r in frame.iter_rows(named=True)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i < 4 or i == 5 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))).rstrip() for row in rows)
