"""Write business outcomes: replace by `outcome_id` (a hash of source and key), link to calls."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

# Incoming rows (last one wins per key) with their call: by call id, or by any trace of a call.
_STAGE = """
CREATE OR REPLACE TEMP TABLE incoming AS
WITH rows AS (
    SELECT * FROM outcomes_arrow
    QUALIFY row_number() OVER (PARTITION BY external_key ORDER BY row_number DESC) = 1
), by_trace AS (
    SELECT DISTINCT trace_id, call_id FROM spans WHERE trace_id IN (SELECT lower(external_key) FROM rows)
)
SELECT md5(? || '|' || r.external_key) AS outcome_id,
       CASE WHEN ? = 'call_id' THEN c.call_id ELSE t.call_id END AS call_id,
       CASE WHEN ? = 'trace_id' THEN lower(r.external_key) END AS trace_id,
       r.external_key, ? AS source, r.recorded_at, r.booked, r.deal_value_usd, r.nps, r.csat,
       r.resolved, r.escalated, r.extra::JSON AS extra, ? AS source_file
FROM rows r
LEFT JOIN calls c ON c.call_id = r.external_key
LEFT JOIN by_trace t ON t.trace_id = lower(r.external_key)
"""

_CHANGED = """
SELECT count(*) FILTER (WHERE o.outcome_id IS NULL),
       count(*) FILTER (WHERE o.outcome_id IS NOT NULL AND
           (i.call_id, i.recorded_at, i.booked, i.deal_value_usd, i.nps, i.csat, i.resolved, i.escalated,
            i.extra::VARCHAR, i.source_file)
           IS DISTINCT FROM
           (o.call_id, o.recorded_at, o.booked, o.deal_value_usd, o.nps, o.csat, o.resolved, o.escalated,
            o.extra::VARCHAR, o.source_file))
FROM incoming i LEFT JOIN outcomes o USING (outcome_id)
"""


@dataclass(frozen=True)
class OutcomeLoad:
    loaded: int
    updated: int
    unmatched_keys: list[str]


def load_outcomes(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, *, source: str, join_on: str, source_file: str
) -> OutcomeLoad:
    """Upsert `rows` (our columns, `external_key`, `row_number`, `extra` as JSON text) inside the
    caller's transaction. Rows matching no call are kept with call_id NULL and reported."""
    con.register("outcomes_arrow", rows)
    con.execute(_STAGE, [source, join_on, join_on, source, source_file])
    loaded, updated = con.execute(_CHANGED).fetchall()[0]
    con.execute("INSERT OR REPLACE INTO outcomes SELECT * FROM incoming")
    unmatched = [k for (k,) in con.execute(
        "SELECT external_key FROM incoming WHERE call_id IS NULL ORDER BY external_key").fetchall()]
    con.unregister("outcomes_arrow")
    return OutcomeLoad(int(loaded), int(updated), unmatched)
