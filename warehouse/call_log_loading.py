"""Write calls and transcripts from call logs (`calls.source = 'call_log'`): new calls are added,
changed ones replaced whole, unchanged ones left as they are, so loading a file twice changes
nothing. A call already built from traces is never overwritten by a call log."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

# `log_calls`: call_id, agent, prompt_version, model, started_at, ended_at, input_tokens,
# output_tokens, cost_usd, error_count, recording_url. `log_turns`: call_id, turn_index, speaker,
# text, started_at, ended_at, timed (the times are the turn's own, not its call's start),
# response_latency_ms (as the log gave it, else NULL).
_INCOMING = """
CREATE OR REPLACE TEMP TABLE incoming_turns AS
SELECT t.call_id, t.turn_index, t.speaker, t.text, t.started_at, t.ended_at, c.started_at::DATE AS day,
       coalesce(t.response_latency_ms::INTEGER,
                CASE WHEN t.timed AND lag(t.timed) OVER w AND t.speaker = 'agent' AND lag(t.speaker) OVER w = 'customer'
                     THEN datediff('millisecond', lag(t.ended_at) OVER w, t.started_at) END) AS response_latency_ms
FROM log_turns t JOIN log_calls c USING (call_id)
WINDOW w AS (PARTITION BY t.call_id ORDER BY t.turn_index);
CREATE OR REPLACE TEMP TABLE incoming_calls AS
SELECT c.call_id, NULL::VARCHAR AS trace_id, c.agent, c.prompt_version, c.model, c.started_at, c.ended_at,
       c.started_at::DATE AS day, datediff('millisecond', c.started_at, c.ended_at) AS duration_ms,
       coalesce(t.n, 0)::INTEGER AS turn_count, 0 AS span_count, c.error_count::INTEGER AS error_count,
       c.input_tokens::BIGINT AS input_tokens, c.output_tokens::BIGINT AS output_tokens, c.cost_usd,
       c.recording_url, 'call_log' AS source
FROM log_calls c LEFT JOIN (SELECT call_id, count(*) AS n FROM incoming_turns GROUP BY call_id) t USING (call_id);
"""

# A transcript's fingerprint, to tell a changed call from an unchanged one.
_DIGEST = ("md5(string_agg(concat_ws('|', turn_index, speaker, text, started_at, ended_at, response_latency_ms), "
           "chr(10) ORDER BY turn_index)) AS digest")

# Calls that are new or differ from what is stored (their row or their transcript).
_CHANGED = f"""
CREATE OR REPLACE TEMP TABLE changed AS
WITH new_digest AS (
    SELECT call_id, {_DIGEST} FROM incoming_turns GROUP BY call_id
), old_digest AS (
    SELECT call_id, {_DIGEST} FROM turns WHERE call_id IN (SELECT call_id FROM incoming_calls) GROUP BY call_id
)
SELECT i.call_id, o.call_id IS NOT NULL AS existed
FROM incoming_calls i
LEFT JOIN new_digest n USING (call_id)
LEFT JOIN calls o USING (call_id)
LEFT JOIN old_digest od USING (call_id)
WHERE o.call_id IS NULL
   OR (i.agent, i.prompt_version, i.model, i.started_at, i.ended_at, i.turn_count, i.error_count, i.input_tokens,
       i.output_tokens, i.cost_usd, i.recording_url, n.digest)
      IS DISTINCT FROM
      (o.agent, o.prompt_version, o.model, o.started_at, o.ended_at, o.turn_count, o.error_count, o.input_tokens,
       o.output_tokens, o.cost_usd, o.recording_url, od.digest)
"""

_REPLACE = """
DELETE FROM turns WHERE call_id IN (SELECT call_id FROM changed WHERE existed);
DELETE FROM calls WHERE call_id IN (SELECT call_id FROM changed WHERE existed);
INSERT INTO calls SELECT i.*, now()::TIMESTAMP FROM incoming_calls i SEMI JOIN changed USING (call_id);
INSERT INTO turns SELECT t.* FROM incoming_turns t SEMI JOIN changed USING (call_id);
UPDATE outcomes SET call_id = c.call_id
FROM changed c
WHERE outcomes.call_id IS NULL AND outcomes.trace_id IS NULL AND outcomes.external_key = c.call_id;
"""


@dataclass(frozen=True)
class CallLogLoad:
    loaded: int  # calls new to the warehouse
    updated: int  # call-log calls replaced because the log says something else now


def calls_from_traces(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> set[str]:
    """Which of `call_ids` the warehouse already holds from traces (a call log may not replace those)."""
    if not call_ids:
        return set()
    found = con.execute("SELECT call_id FROM calls WHERE source <> 'call_log' AND call_id IN (SELECT unnest(?))",
                        [call_ids]).fetchall()
    return {call_id for (call_id,) in found}


def load_call_log(con: duckdb.DuckDBPyConnection, calls: pa.Table, turns: pa.Table) -> CallLogLoad:
    """Upsert `calls` and their `turns` (columns as described above) inside the caller's transaction."""
    con.register("log_calls", calls)
    con.register("log_turns", turns)
    try:
        con.execute(_INCOMING)
        con.execute(_CHANGED)
        loaded, updated = con.execute("SELECT count(*) FILTER (WHERE NOT existed), count(*) FILTER (WHERE existed) "
                                      "FROM changed").fetchall()[0]
        con.execute(_REPLACE)
    finally:
        con.unregister("log_calls")
        con.unregister("log_turns")
    return CallLogLoad(int(loaded), int(updated))
