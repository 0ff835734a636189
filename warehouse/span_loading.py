"""Merge parsed spans into the warehouse and rebuild the calls and transcripts they touch.

Runs inside one short write transaction per chunk (docs/architecture.md, "Sharing the warehouse").
The fact tables have no unique index, so this module keeps their keys unique itself: a span
already stored (same trace_id and span_id) is skipped, and every call that gains a span is rebuilt
from all of its spans, turns included, so late spans land exactly as if they had come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

# The staged chunk's spans that the warehouse does not hold yet, as narrow rows (the wide ones are
# read once, by the insert), with their call id resolved (docs/trace-format.md: the span's own,
# another span of its trace in this chunk, the call its trace already belongs to, else the trace id).
# The chunk arrives deduplicated, with `trace_call_id`, from `warehouse.span_parsing`.
_STAGE = """
CREATE OR REPLACE TEMP TABLE fresh AS
WITH stored AS (
    SELECT trace_id, span_id, call_id FROM spans
    WHERE trace_id IN (SELECT DISTINCT trace_id FROM staged_arrow)
), known AS (
    SELECT trace_id, min(call_id) AS call_id FROM stored GROUP BY trace_id
)
SELECT s.trace_id, s.span_id, s.started_at, s.agent, s.agent_rank, s.prompt_version, s.recording_url,
       coalesce(s.declared_call_id, s.trace_call_id, known.call_id, s.trace_id) AS call_id
FROM staged_arrow s
ANTI JOIN stored USING (trace_id, span_id)
LEFT JOIN known USING (trace_id)
"""

# Calls that gain spans, with what they were before (NULL when new) and their facts from this chunk.
_AFFECTED = """
CREATE OR REPLACE TEMP TABLE affected AS
WITH chunk_calls AS (
    SELECT call_id, min(started_at) AS first_start,
           arg_min(agent, agent_rank) FILTER (WHERE agent IS NOT NULL) AS agent,
           arg_min(prompt_version, started_at) FILTER (WHERE prompt_version IS NOT NULL) AS prompt_version,
           arg_min(recording_url, started_at) FILTER (WHERE recording_url IS NOT NULL) AS recording_url
    FROM fresh GROUP BY call_id
)
SELECT k.call_id, least(k.first_start, c.started_at) AS call_start, c.started_at AS old_start,
       c.updated_at AS old_updated_at,
       coalesce(c.agent, k.agent) AS agent,
       coalesce(c.prompt_version, k.prompt_version) AS prompt_version,
       coalesce(c.recording_url, k.recording_url) AS recording_url
FROM chunk_calls k LEFT JOIN calls c USING (call_id)
"""

# Cost from the span, else from the list price of its model: an exact name, else the longest
# priced name it starts with ("gpt-4.1-mini-2025-04-14" is priced as "gpt-4.1-mini"), the span's
# own provider preferred when two providers list the same model.
_INSERT_SPANS = """
INSERT INTO spans
WITH price AS (
    SELECT m.model AS span_model, m.provider AS span_provider, p.input_usd_per_mtok,
           p.output_usd_per_mtok, p.usd_per_minute, p.usd_per_kchar
    FROM (SELECT DISTINCT model, provider FROM staged_arrow WHERE model IS NOT NULL) m
    JOIN model_prices p ON lower(m.model) = p.model OR starts_with(lower(m.model), p.model || '-')
    QUALIFY row_number() OVER (PARTITION BY m.model, m.provider
        ORDER BY (p.provider = lower(m.provider)) DESC NULLS LAST, length(p.model) DESC) = 1
)
SELECT f.trace_id, f.span_id, f.parent_span_id, n.call_id, f.name, f.kind, f.turn_index,
       f.started_at, f.ended_at, a.call_start::DATE, f.duration_ms, f.provider, f.model, f.operation,
       f.tool_name, f.input_tokens, f.output_tokens,
       coalesce(f.span_cost_usd,
           CASE WHEN f.input_tokens IS NOT NULL OR f.output_tokens IS NOT NULL THEN
               coalesce(f.input_tokens, 0) * p.input_usd_per_mtok / 1e6
               + coalesce(f.output_tokens, 0) * p.output_usd_per_mtok / 1e6 END,
           f.audio_seconds / 60 * p.usd_per_minute,
           f.tts_characters / 1000 * p.usd_per_kchar),
       f.is_error, f.error_type, f.finish_reasons, f.input_text, f.output_text, f.attributes::JSON
FROM staged_arrow f JOIN fresh n USING (trace_id, span_id) JOIN affected a ON a.call_id = n.call_id
LEFT JOIN price p ON p.span_model = f.model AND p.span_provider IS NOT DISTINCT FROM f.provider
"""

# Spans stored before a late span moved their call's start to an earlier day follow the call.
_MOVE_SPAN_DAYS = """
UPDATE spans SET day = a.call_start::DATE
FROM affected a
WHERE spans.call_id = a.call_id AND a.old_start IS NOT NULL AND a.call_start < a.old_start
  AND spans.day <> a.call_start::DATE
"""

# The transcript: `turn` spans, or for traces without them each LLM span's input (customer) and
# output (agent). An agent turn's response latency is the silence since the customer turn
# right before it stopped.
_REBUILD_TURNS = """
DELETE FROM turns WHERE call_id IN (SELECT call_id FROM affected);
INSERT INTO turns
WITH s AS (
    SELECT s.call_id, s.span_id, s.kind, s.turn_index, s.started_at, s.ended_at, s.attributes,
           s.input_text, s.output_text, a.call_start
    FROM spans s JOIN affected a USING (call_id)
    WHERE s.kind IN ('turn', 'llm')
), with_turn_spans AS (
    SELECT DISTINCT call_id FROM s WHERE kind = 'turn'
), spoken AS (
    SELECT call_id, turn_index, started_at, ended_at, call_start,
           lower(attributes ->> '$."callboard.turn.speaker"') AS speaker,
           coalesce(attributes ->> '$."callboard.turn.text"', output_text) AS text
    FROM s WHERE kind = 'turn'
    UNION ALL
    SELECT call_id, 2 * (row_number() OVER w - 1) + side, CASE side WHEN 0 THEN started_at ELSE ended_at END,
           CASE side WHEN 0 THEN started_at ELSE ended_at END, call_start,
           CASE side WHEN 0 THEN 'customer' ELSE 'agent' END, CASE side WHEN 0 THEN input_text ELSE output_text END
    FROM s, (VALUES (0), (1)) AS sides(side)
    WHERE kind = 'llm' AND call_id NOT IN (SELECT call_id FROM with_turn_spans)
    WINDOW w AS (PARTITION BY call_id, side ORDER BY started_at, span_id)
), ordered AS (
    SELECT * FROM spoken
    WHERE speaker IN ('customer', 'agent') AND text IS NOT NULL AND turn_index IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY call_id, turn_index ORDER BY started_at) = 1
)
SELECT call_id, turn_index, speaker, text, started_at, ended_at, call_start::DATE,
       CASE WHEN speaker = 'agent' AND lag(speaker) OVER w = 'customer'
            THEN datediff('millisecond', lag(ended_at) OVER w, started_at) END
FROM ordered
WINDOW w AS (PARTITION BY call_id ORDER BY turn_index)
"""

# A call is the sum of its spans: rebuilt whole, so a late span updates every figure.
_REBUILD_CALLS = """
DELETE FROM calls WHERE call_id IN (SELECT call_id FROM affected);
INSERT INTO calls
WITH s AS (
    SELECT s.* FROM spans s WHERE s.call_id IN (SELECT call_id FROM affected)
), models AS (
    SELECT call_id, arg_max(model, n) AS model
    FROM (SELECT call_id, model, count(*) + coalesce(sum(output_tokens), 0) / 1e9 AS n
          FROM s WHERE kind = 'llm' AND model IS NOT NULL GROUP BY call_id, model)
    GROUP BY call_id
), turn_counts AS (
    SELECT call_id, count(*) AS n FROM turns WHERE call_id IN (SELECT call_id FROM affected) GROUP BY call_id
), totals AS (
    SELECT call_id, arg_min(trace_id, started_at) AS trace_id, min(started_at) AS started_at,
           max(ended_at) AS ended_at, count(*) AS span_count, count(*) FILTER (WHERE is_error) AS error_count,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
    FROM s GROUP BY call_id
)
SELECT t.call_id, t.trace_id, a.agent, a.prompt_version, m.model, t.started_at, t.ended_at,
       t.started_at::DATE, datediff('millisecond', t.started_at, t.ended_at), coalesce(n.n, 0),
       t.span_count, t.error_count, t.input_tokens, t.output_tokens, t.cost_usd, a.recording_url,
       'otlp', now()::TIMESTAMP
FROM totals t JOIN affected a USING (call_id) LEFT JOIN models m USING (call_id)
LEFT JOIN turn_counts n USING (call_id)
"""

# Outcomes imported before their call arrived are linked as soon as it does.
_LINK_OUTCOMES = """
UPDATE outcomes SET call_id = f.call_id
FROM (SELECT DISTINCT call_id, trace_id FROM fresh) f
WHERE outcomes.call_id IS NULL
  AND (outcomes.trace_id = f.trace_id OR (outcomes.trace_id IS NULL AND outcomes.external_key = f.call_id))
"""


@dataclass(frozen=True)
class SpanLoad:
    loaded: int  # spans new to the warehouse
    updated: int  # calls that existed before this run and gained spans


def load_spans(con: duckdb.DuckDBPyConnection, spans: pa.Table, run_started_at: datetime) -> SpanLoad:
    """Add `spans` (rows of `warehouse.span_parsing.parse_spans`) to the warehouse inside the
    caller's transaction; spans it already holds are skipped, so loading twice changes nothing."""
    con.register("staged_arrow", spans)  # the caller's connection closes after the transaction
    con.execute(_STAGE)
    loaded = _count(con, "SELECT count(*) FROM fresh")
    if not loaded:
        return SpanLoad(0, 0)
    con.execute(_AFFECTED)
    updated = _count(con, "SELECT count(*) FROM affected WHERE old_updated_at < ?", [run_started_at])
    con.execute(_INSERT_SPANS)
    con.execute(_MOVE_SPAN_DAYS)
    con.execute(_REBUILD_TURNS)
    con.execute(_REBUILD_CALLS)
    con.execute(_LINK_OUTCOMES)
    return SpanLoad(loaded, updated)


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return int(con.execute(sql, params or []).fetchall()[0][0])
