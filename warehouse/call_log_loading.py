"""Write calls and transcripts from call logs (`calls.source = 'call_log'`): new calls are added,
changed ones replaced whole, unchanged ones left as they are, so loading a file twice changes
nothing. A call already built from traces is never overwritten by a call log. Tool messages in
a log become `tool` spans of their call, where the judges read tool results."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from warehouse.conversation_loading import conversation_sql
from warehouse.db import hold_memory

# `log_calls`: call_id, agent, prompt_version, model, started_at, ended_at, input_tokens,
# output_tokens, cost_usd, error_count, recording_url, end_reason, untimed (no time logged: started_at is the
# file's date, and a call stored before keeps its own), n_rows (rows of the file it comes from).
# `log_turns`: call_id, turn_index, speaker, text, started_at, ended_at, timed (the times are the
# turn's own, not its call's start), response_latency_ms (as the log gave it, else NULL).
# `log_tools`: call_id, position, turn_index, tool_name, input_text, output_text, started_at.
# `incoming_calls` carries each call's conversation columns, from its incoming turns.
_INCOMING = """
CREATE OR REPLACE TEMP TABLE dated_calls AS
SELECT c.* REPLACE (CASE WHEN c.untimed THEN coalesce(o.started_at, c.started_at) ELSE c.started_at END AS started_at,
                    CASE WHEN c.untimed THEN coalesce(o.started_at, c.started_at) ELSE c.ended_at END AS ended_at)
FROM log_calls c LEFT JOIN calls o ON o.call_id = c.call_id AND o.source = 'call_log';
CREATE OR REPLACE TEMP TABLE incoming_turns AS
SELECT t.call_id, t.turn_index, t.speaker, t.text,
       CASE WHEN c.untimed THEN c.started_at ELSE t.started_at END AS started_at,
       CASE WHEN c.untimed THEN c.started_at ELSE t.ended_at END AS ended_at, c.started_at::DATE AS day,
       coalesce(t.response_latency_ms::INTEGER,
                CASE WHEN t.timed AND lag(t.timed) OVER w AND t.speaker = 'agent' AND lag(t.speaker) OVER w = 'customer'
                     THEN datediff('millisecond', lag(t.ended_at) OVER w, t.started_at) END) AS response_latency_ms
FROM log_turns t JOIN dated_calls c USING (call_id)
WINDOW w AS (PARTITION BY t.call_id ORDER BY t.turn_index);
CREATE OR REPLACE TEMP TABLE incoming_tools AS
SELECT 'call-log:' || t.call_id AS trace_id, lpad(t.position::VARCHAR, 16, '0') AS span_id, NULL AS parent_span_id,
       t.call_id, 'tool' AS name, 'tool' AS kind, t.turn_index::INTEGER AS turn_index,
       CASE WHEN c.untimed THEN c.started_at ELSE coalesce(t.started_at, c.started_at) END AS started_at,
       CASE WHEN c.untimed THEN c.started_at ELSE coalesce(t.started_at, c.started_at) END AS ended_at,
       c.started_at::DATE AS day, 0.0 AS duration_ms, NULL AS provider, NULL AS model, 'execute_tool' AS operation,
       t.tool_name, NULL::BIGINT AS input_tokens, NULL::BIGINT AS output_tokens, NULL::DOUBLE AS cost_usd,
       false AS is_error, NULL AS error_type, NULL AS finish_reasons, t.input_text, t.output_text,
       NULL::JSON AS attributes, NULL::DOUBLE AS first_output_ms, NULL::BIGINT AS input_audio_tokens,
       NULL::BIGINT AS output_audio_tokens, NULL::DOUBLE AS end_of_turn_delay_ms, NULL::DOUBLE AS transcription_delay_ms
FROM log_tools t JOIN dated_calls c USING (call_id);
CREATE OR REPLACE TEMP TABLE incoming_calls AS
SELECT c.call_id, NULL::VARCHAR AS trace_id, c.agent, c.prompt_version, c.model, c.started_at, c.ended_at,
       c.started_at::DATE AS day, datediff('millisecond', c.started_at, c.ended_at) AS duration_ms,
       coalesce(t.n, 0)::INTEGER AS turn_count, coalesce(s.n, 0)::INTEGER AS span_count,
       c.error_count::INTEGER AS error_count, c.input_tokens::BIGINT AS input_tokens,
       c.output_tokens::BIGINT AS output_tokens, c.cost_usd, c.recording_url, c.end_reason, 'call_log' AS source,
       v.* EXCLUDE (call_id)
FROM dated_calls c
LEFT JOIN (SELECT call_id, count(*) AS n FROM incoming_turns GROUP BY call_id) t USING (call_id)
LEFT JOIN (SELECT call_id, count(*) AS n FROM incoming_tools GROUP BY call_id) s USING (call_id)
LEFT JOIN ({conversation}) v USING (call_id);
"""

# A transcript's and its tool events' fingerprints, to tell a changed call from an unchanged one.
_DIGEST = ("md5(string_agg(concat_ws('|', turn_index, speaker, text, started_at, ended_at, response_latency_ms), "
           "chr(10) ORDER BY turn_index)) AS digest")
_TOOL_DIGEST = ("md5(string_agg(concat_ws('|', span_id, turn_index, tool_name, input_text, output_text, started_at), "
                "chr(10) ORDER BY span_id)) AS tool_digest")

# Each incoming call: new, changed (its row, transcript or tool events differ) or unchanged.
_STATUS = f"""
CREATE OR REPLACE TEMP TABLE statuses AS
WITH new_digest AS (
    SELECT call_id, {_DIGEST} FROM incoming_turns GROUP BY call_id
), old_digest AS (
    SELECT call_id, {_DIGEST} FROM turns WHERE call_id IN (SELECT call_id FROM incoming_calls) GROUP BY call_id
), new_tools AS (
    SELECT call_id, {_TOOL_DIGEST} FROM incoming_tools GROUP BY call_id
), old_tools AS (
    SELECT call_id, {_TOOL_DIGEST} FROM spans
    WHERE kind = 'tool' AND call_id IN (SELECT call_id FROM incoming_calls) GROUP BY call_id
)
SELECT i.call_id, l.n_rows,
       CASE WHEN o.call_id IS NULL THEN 'new'
            WHEN (i.agent, i.prompt_version, i.model, i.started_at, i.ended_at, i.turn_count, i.span_count,
                  i.error_count, i.input_tokens, i.output_tokens, i.cost_usd, i.recording_url, i.end_reason, n.digest,
                  nt.tool_digest)
                 IS DISTINCT FROM
                 (o.agent, o.prompt_version, o.model, o.started_at, o.ended_at, o.turn_count, o.span_count,
                  o.error_count, o.input_tokens, o.output_tokens, o.cost_usd, o.recording_url, o.end_reason, od.digest,
                  ot.tool_digest)
            THEN 'changed' ELSE 'unchanged' END AS status
FROM incoming_calls i
JOIN log_calls l USING (call_id)
LEFT JOIN new_digest n USING (call_id)
LEFT JOIN calls o USING (call_id)
LEFT JOIN old_digest od USING (call_id)
LEFT JOIN new_tools nt USING (call_id)
LEFT JOIN old_tools ot USING (call_id)
"""

_REPLACE = """
CREATE OR REPLACE TEMP TABLE changed AS SELECT call_id, status = 'changed' AS existed FROM statuses
WHERE status <> 'unchanged';
DELETE FROM turns WHERE call_id IN (SELECT call_id FROM changed WHERE existed);
DELETE FROM spans WHERE call_id IN (SELECT call_id FROM changed WHERE existed);
DELETE FROM calls WHERE call_id IN (SELECT call_id FROM changed WHERE existed);
INSERT INTO calls BY NAME
SELECT i.*, now()::TIMESTAMP AS updated_at FROM incoming_calls i SEMI JOIN changed USING (call_id);
INSERT INTO turns SELECT t.* FROM incoming_turns t SEMI JOIN changed USING (call_id);
INSERT INTO spans SELECT s.* FROM incoming_tools s SEMI JOIN changed USING (call_id);
UPDATE outcomes SET call_id = c.call_id
FROM changed c
WHERE outcomes.call_id IS NULL AND outcomes.trace_id IS NULL AND outcomes.external_key = c.call_id;
"""


@dataclass(frozen=True)
class CallLogLoad:
    loaded: int  # rows of calls new to the warehouse
    updated: int  # rows of call-log calls replaced because the log says something else now
    unchanged: int  # rows of calls stored already as they are


def calls_from_traces(con: duckdb.DuckDBPyConnection, call_ids: list[str]) -> set[str]:
    """Which of `call_ids` the warehouse already holds from traces (a call log may not replace those)."""
    if not call_ids:
        return set()
    found = con.execute("SELECT call_id FROM calls WHERE source <> 'call_log' AND call_id IN (SELECT unnest(?))",
                        [call_ids]).fetchall()
    return {call_id for (call_id,) in found}


def load_call_log(con: duckdb.DuckDBPyConnection, calls: pa.Table, turns: pa.Table, tools: pa.Table) -> CallLogLoad:
    """Upsert `calls`, their `turns` and `tools` (columns as described above) inside the caller's
    transaction; the counts are in rows of the file (`n_rows`). DuckDB is held to `db.LOAD_MEMORY`:
    a large log is merged a piece at a time, and without a limit each piece's reads of the
    growing `turns` and `spans` would stay cached, so memory would grow with the warehouse."""
    hold_memory(con)
    for name, table in (("log_calls", calls), ("log_turns", turns), ("log_tools", tools)):
        con.register(name, table)
    try:
        con.execute(_INCOMING.format(conversation=conversation_sql("incoming_turns")))
        con.execute(_STATUS)
        counts = dict(con.execute("SELECT status, sum(n_rows) FROM statuses GROUP BY status").fetchall())
        con.execute(_REPLACE)
    finally:
        for name in ("log_calls", "log_turns", "log_tools"):
            con.unregister(name)
    return CallLogLoad(*(int(counts.get(s, 0)) for s in ("new", "changed", "unchanged")))
