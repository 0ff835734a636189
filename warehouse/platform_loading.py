"""What a hosted platform's export (Vapi, Retell) needs from the warehouse beyond the span loader:
which of its calls are stored already and from what, replacing a call whose export changed, and
marking its calls with the platform's name (`calls.source`).

A platform's call arrives whole, as spans (ingest/platform_spans.py), and may arrive again
changed (an export taken after the post-call analysis finished): its stored rows go first, then
the span loader writes it as new. Its id keys its judgements, reviews and outcomes, which stay.
"""

from __future__ import annotations

import duckdb

_STORED = """
SELECT c.call_id, c.source, s.attributes ->> '$."callboard.source.digest"' AS digest
FROM calls c LEFT JOIN spans s ON s.call_id = c.call_id AND s.kind = 'call'
WHERE c.call_id IN (SELECT unnest(?))
"""


def stored_calls(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Of `call_ids`, those stored: their source and the fingerprint of the export they came from."""
    if not call_ids:
        return {}
    return {call_id: (source, digest) for call_id, source, digest in con.execute(_STORED, [call_ids]).fetchall()}


def drop_calls(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> None:
    """Remove the calls' rows (call, turns, spans) so they can be written again as new."""
    for table in ("turns", "spans", "calls"):
        con.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [call_ids])


def mark_source(con: duckdb.DuckDBPyConnection, call_ids: list[str], source: str) -> None:
    """`calls.source` names the platform (the span loader writes 'otlp')."""
    if call_ids:
        con.execute("UPDATE calls SET source = ? WHERE call_id IN (SELECT unnest(?))", [source, call_ids])
